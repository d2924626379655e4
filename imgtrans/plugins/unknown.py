"""The error for a translator name that nothing provides, saying why it is missing.

Split from ``manager`` (which loads plugins and keeps their registries) because the reason
takes its own reading of the host's state: a blocked plugin, one ``IMGTRANS_LOAD_PLUGINS``
leaves out, a plugin or a translator reference that failed, or a likely typo.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from imgtrans.errors import PluginError
from imgtrans.plugins.selection import DISABLE_VAR, LOAD_VAR, normalise

if TYPE_CHECKING:
    from imgtrans.plugins.references import BrokenReference


def unknown_translator(name: str, translators: Iterable[str], records: Iterable[Any],
                       not_selected: list[str], broken: list[BrokenReference]) -> PluginError:
    """The :class:`PluginError` to raise for ``name``: the plugin that would provide it when
    it is blocked or left out, else close matches, the available names and what failed.
    ``records`` are the host's plugin records (``.name``, ``.status``); with exactly one
    broken reference its exception is the error's cause (``-v`` shows its traceback)."""
    records = list(records)
    # A blocked plugin is never imported, so its translators are unknown; every built-in
    # names its plugin after its translator, so match on the plugin name.
    blocked = sorted(r.name for r in records if r.status == "blocked")
    owner = next((b for b in blocked if normalise(b) == normalise(name)), None)
    if owner is not None:
        return PluginError(f"translator {name!r} is provided by plugin {owner!r}, which is "
                           f"blocked by {DISABLE_VAR}")
    left_out = next((p for p in not_selected if normalise(p) == normalise(name)), None)
    if left_out is not None:
        return PluginError(f"translator {name!r} is provided by plugin {left_out!r}, which "
                           f"{LOAD_VAR} leaves out: add it there")
    known = sorted(translators)
    close = difflib.get_close_matches(name, known, n=3)
    msg = f"no translator named {name!r}"
    if close:
        msg += f" (did you mean {', '.join(close)}?)"
    msg += f"; available: {', '.join(known) or 'none'}"
    failed = [r.name for r in records if r.status == "failed"]
    if failed:
        msg += f"; plugins that failed to load: {', '.join(failed)} (see `imgtrans plugins`)"
    if blocked:
        msg += f"; plugins blocked by {DISABLE_VAR}: {', '.join(blocked)}"
    if not_selected:
        msg += f"; plugins {LOAD_VAR} leaves out: {', '.join(sorted(not_selected))}"
    if not broken:
        return PluginError(msg)
    error = PluginError(msg + "; translators that failed: " + "; ".join(b.describe() for b in broken))
    error.__cause__ = broken[0].exception if len(broken) == 1 else None  # as ``raise ... from``
    return error
