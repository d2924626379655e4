"""The Python API for translators as classes: look one up, parse ``key=value`` options,
export a trained checkpoint. Re-exported by :mod:`imgtrans.api`."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any, Sequence

if TYPE_CHECKING:
    from imgtrans.translators.base import Translator

__all__ = ["translator_names", "translator_class", "parse_options", "export_checkpoint",
           "list_plugins", "check_options", "register_plugin_commands"]


def translator_names() -> list[str]:
    """The names of every translator the loaded plugins registered (blocked or broken
    plugins' translators are not among them)."""
    from imgtrans.plugins import manager

    return list(manager.get_host().translators)


def list_plugins() -> list[dict[str, Any]]:
    """Every plugin the host knows, by name: its name, version, source (builtin, entry point,
    test...), what it provides, status (ok, partial, failed, blocked) and error."""
    import dataclasses

    from imgtrans.plugins import manager

    records = sorted(manager.get_host().records.values(), key=lambda r: r.name)
    return [dataclasses.asdict(r) for r in records]


def translator_class(name: str) -> type[Translator]:
    """Translator ``name``'s class, as its plugin registered it: its ``summary``,
    ``capabilities``, ``Options`` dataclass, ``input_extensions``, ``requires_weights``...
    Nothing is loaded; an unknown name raises ``PluginError`` with the close names."""
    from imgtrans.plugins import manager

    return manager.get_translator(name)


def register_plugin_commands(app: Any) -> None:
    """Let the loaded plugins add their commands to the typer ``app`` (their
    ``register_commands`` hooks); a command that clashes with a built-in one is refused
    and reported with its plugin."""
    from imgtrans.plugins import manager

    manager.get_host().register_commands(app)


def check_options(name: str, options: dict[str, Any]) -> Any:
    """Translator ``name``'s options dataclass built from ``options`` (strings as ``--opt``
    gives them, or values), checked as ``--opt`` and :func:`imgtrans.api.load` check them:
    ``UsageError`` naming the option, its type and its range."""
    from imgtrans.translators.options import build_options

    return build_options(translator_class(name).Options, options, translator=name)


def parse_options(pairs: Sequence[str]) -> dict[str, str]:
    """``["key=value", ...]`` (the CLI's ``--opt``) as a dict of strings, for ``options=``
    of :func:`imgtrans.api.load`, ``convert`` and ``train``, which check and convert them;
    a pair without ``=`` raises ``UsageError``."""
    from imgtrans.translators.options import parse_option_pairs

    return parse_option_pairs(list(pairs))


def export_checkpoint(plugin: str, checkpoint: str | Path, out: str | Path,
                      format: str = "reference") -> list[Path]:
    """Write ``checkpoint`` (a checkpoint or run folder of ``imgtrans train``) of translator
    ``plugin`` into folder ``out`` in another tool's layout (``format``, e.g. "reference":
    the reference implementation's); returns the files written. A format the translator
    does not export raises ``UsageError``."""
    from imgtrans.errors import UsageError

    cls = translator_class(plugin)
    if format not in cls.export_formats:
        raise UsageError(f"{plugin} exports {', '.join(cls.export_formats) or 'nothing'}, not {format!r}")
    return list(cls.export(Path(checkpoint), Path(out), format))
