"""Which translator a ``--weights`` value belongs to, so ``--plugin`` can be left out.

In order: a registry name or alias names its translator; an imgtrans checkpoint or run
folder says it in ``imgtrans.json``; any other file or folder is shown to every installed
translator's ``recognises``/``recognises_folder`` check, and exactly one must claim it. The
core knows no translator by name: the checks belong to the translators.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any, Callable, Mapping

from imgtrans.checkpoints import find_checkpoint, read_checkpoint
from imgtrans.errors import UsageError, WeightsError
from imgtrans.translators.base import Translator, WeightSpec
from imgtrans.weights.download import Progress
from imgtrans.weights.resolve import is_url, looks_like_path, unknown_weights_error, fetch_url, find_spec

log = logging.getLogger(__name__)


def identify_translator(value: str, translators: Mapping[str, type[Translator]],
                        known: list[WeightSpec], *, download_ok: bool = True,
                        progress: Progress | None = None,
                        should_stop: Callable[[], bool] | None = None) -> str:
    """The name of the translator ``value`` (registry name, URL, file or folder) is for.
    Raises ``UsageError`` when no translator or several claim it, listing the candidates,
    and ``WeightsError`` when the value is neither known nor an existing path."""
    if is_url(value):
        spec = next((s for s in known if s.url == value), None)
        if spec is not None:
            return spec.plugin
        path = fetch_url(value, download_ok=download_ok, progress=progress, should_stop=should_stop)
    else:
        path = Path(value).expanduser()
        spec = None if looks_like_path(value) and path.exists() else find_spec(value, known)
        if spec is not None:
            return spec.plugin
        if not path.exists():
            if looks_like_path(value):
                raise WeightsError(f"--weights {value!r}: no such file or folder ({path})")
            raise unknown_weights_error(value, None, known, path_tried=True)
    checkpoint = find_checkpoint(path)
    if checkpoint is not None:
        return read_checkpoint(checkpoint).translator
    candidates = recognisers(path, translators)
    if len(candidates) == 1:
        return candidates[0]
    names = ", ".join(sorted(translators))
    if not candidates:
        raise UsageError(f"--weights {value}: no installed translator recognises these weights; "
                         f"name one with --plugin ({names})")
    raise UsageError(f"--weights {value}: these weights fit several translators "
                     f"({', '.join(candidates)}); choose one with --plugin")


def recognisers(path: Path, translators: Mapping[str, type[Translator]],
                state_dict: Mapping[str, Any] | None = None) -> list[str]:
    """Names of the translators whose ``recognises`` check claims the file or folder at
    ``path`` (a broken check counts as "no", logged). The file is loaded once, safely."""
    path = Path(path)
    if path.is_dir():
        return [name for name, cls in sorted(translators.items())
                if _asks(cls, "recognises_folder", path)]
    if state_dict is None:
        from imgtrans.weights.safe_load import load_state_dict

        state_dict = load_state_dict(path)
    return [name for name, cls in sorted(translators.items())
            if _asks(cls, "recognises", state_dict)]


def _asks(cls: type[Translator], method: str, argument: Any) -> bool:
    try:
        return bool(getattr(cls, method)(argument))
    except Exception as exc:  # a plugin's check must not break identification
        log.debug("%s.%s failed: %s", cls.name, method, exc)
        return False
