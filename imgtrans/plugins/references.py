"""What ``register`` accepts: a translator class, or a reference ``"package.module:ClassName"``.

A hook that imports its translator modules itself fails as a whole when one of them is
broken (a syntax error, a missing dependency), taking the plugin's other translators down
with it. A reference is imported by the host instead, on the first lookup of a translator,
one reference at a time: a module that fails to import costs only its own translator, and is
reported with the plugin, its source (the distribution) and the error. It also keeps the
translator modules out of ``imgtrans --help``.
"""

from __future__ import annotations

import importlib
import logging
import re
from dataclasses import dataclass
from typing import Any

from imgtrans.errors import PluginError

log = logging.getLogger(__name__)

_REFERENCE = re.compile(r"^[A-Za-z_]\w*(\.[A-Za-z_]\w*)*:[A-Za-z_]\w*(\.[A-Za-z_]\w*)*$")


def check_translator_class(cls: Any) -> None:
    """PluginError unless ``cls`` is a Translator subclass with a usable name."""
    from imgtrans.translators.base import Translator

    if not (isinstance(cls, type) and issubclass(cls, Translator)):
        raise PluginError(f"{cls!r} is not a Translator subclass")
    if not cls.name or cls.name != cls.name.lower() or "." in cls.name:
        raise PluginError(f"{cls.__name__}: name must be a non-empty lower-case name without dots")


def check_reference(reference: str) -> str:
    """``reference`` when it reads ``package.module:ClassName``; PluginError otherwise."""
    if not _REFERENCE.match(reference):
        raise PluginError(f"translator reference {reference!r} must read 'package.module:ClassName'")
    return reference


def import_reference(reference: str) -> Any:
    """The object ``reference`` names (imports its module); raises what the import raises."""
    module_name, _, attribute = reference.partition(":")
    value: Any = importlib.import_module(module_name)
    for part in attribute.split("."):
        try:
            value = getattr(value, part)
        except AttributeError:
            raise PluginError(f"module {module_name!r} has no attribute {attribute!r}") from None
    return value


@dataclass
class Reference:
    """A translator reference registered by ``plugin`` and not imported yet."""

    reference: str
    plugin: str


@dataclass
class BrokenReference:
    """A reference that could not be used: its plugin, the plugin's source and why."""

    reference: str
    plugin: str
    source: str
    error: str
    exception: BaseException | None = None

    def describe(self) -> str:
        return f"{self.reference} (plugin {self.plugin}, {self.source}): {self.error}"


def failure_message(exc: BaseException) -> str:
    """One line for an import failure; a syntax error names its file and line."""
    if isinstance(exc, SyntaxError) and exc.filename:
        return f"SyntaxError: {exc.msg} ({exc.filename}, line {exc.lineno})"
    return f"{type(exc).__name__}: {exc}"
