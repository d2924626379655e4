"""Which plugins the environment selects: ``IMGTRANS_LOAD_PLUGINS``, ``IMGTRANS_DISABLE_PLUGINS``
and ``IMGTRANS_PLUGINS`` read once, with a warning for every name that selects nothing (a typo
would otherwise be ignored in silence). :mod:`imgtrans.plugins.manager` applies the selection.

Environment (comma-separated lists; names compare case-insensitively with ``-``, ``_`` and
``.`` treated as equal, as pip does for distribution names):

* ``IMGTRANS_LOAD_PLUGINS``: when set, only these third-party plugins are autoloaded (empty:
  none). Each name is a plugin (entry-point) name, e.g. ``sketch``, or a distribution name,
  e.g. ``imgtrans-sketch``, which selects all of that distribution's plugins. Built-ins are
  always loaded.
* ``IMGTRANS_DISABLE_PLUGINS``: plugins not to load at all. Same two kinds of name, plus the
  module names given in ``IMGTRANS_PLUGINS``. Built-ins are blocked by their plugin names
  only (``resize``, ``cyclegan``, ...): ``imgtrans`` itself is not a blockable distribution
  (naming it warns and blocks nothing), so one word cannot silently disable everything.
* ``IMGTRANS_PLUGINS``: module names to import and register as plugins (record name = module
  name); unaffected by ``IMGTRANS_LOAD_PLUGINS``.

A name in the first two variables that matches no installed plugin or plugin distribution is
logged once as a warning with the close matches and the available names. A translator whose
plugin is blocked, or left out by ``IMGTRANS_LOAD_PLUGINS``, is reported as such, not as unknown.
"""

from __future__ import annotations

import difflib
import os
import re
from dataclasses import dataclass, field

OWN_DISTRIBUTION = "imgtrans"
LOAD_VAR = "IMGTRANS_LOAD_PLUGINS"
DISABLE_VAR = "IMGTRANS_DISABLE_PLUGINS"
MODULES_VAR = "IMGTRANS_PLUGINS"


def normalise(name: str) -> str:
    """Compare names the way pip compares distribution names (PEP 503)."""
    return re.sub(r"[-_.]+", "-", name).lower()


def env_list(var: str) -> list[str] | None:
    """The comma-separated names in ``var``; None when it is not set."""
    value = os.environ.get(var)
    if value is None:
        return None
    return [part.strip() for part in value.split(",") if part.strip()]


@dataclass
class Selection:
    """The three variables, normalised, and the warnings about names that select nothing."""

    allowed: set[str] | None
    """Normalised names of the third-party plugins to autoload; None: all of them."""
    blocked: set[str]
    modules: list[str]
    warnings: list[str] = field(default_factory=list)

    def loads(self, names: set[str], own: bool) -> bool:
        """Whether an entry point answering to ``names`` (normalised) is loaded at all;
        built-ins (``own``) always are."""
        return own or self.allowed is None or bool(names & self.allowed)

    def blocks(self, names: set[str]) -> bool:
        return bool(names & self.blocked)


def read_selection(plugins: list[str], dists: list[str], builtins: list[str]) -> Selection:
    """The environment's selection; ``plugins`` are the entry-point and built-in plugin
    names, ``dists`` the third-party distributions providing plugins."""
    allowed, disabled = env_list(LOAD_VAR), env_list(DISABLE_VAR) or []
    modules = env_list(MODULES_VAR) or []
    selection = Selection(None if allowed is None else {normalise(n) for n in allowed},
                          {normalise(n) for n in disabled}, modules)
    for name in allowed or []:
        if normalise(name) != OWN_DISTRIBUTION and not _matches(name, plugins + dists):
            selection.warnings.append(_unknown_name_message(LOAD_VAR, name, plugins, dists))
    for name in disabled:
        if normalise(name) == OWN_DISTRIBUTION and not _matches(name, plugins + modules):
            selection.warnings.append(
                f"{DISABLE_VAR}: {name!r} is imgtrans itself and cannot be blocked as a whole; "
                f"built-in plugins are blocked by their own names ({', '.join(builtins)}); "
                "this name is ignored")
        elif not _matches(name, plugins + modules + dists):
            selection.warnings.append(
                _unknown_name_message(DISABLE_VAR, name, plugins + modules, dists))
    return selection


def _matches(name: str, candidates: list[str]) -> bool:
    return normalise(name) in {normalise(c) for c in candidates}


def _unknown_name_message(var: str, name: str, plugins: list[str], dists: list[str]) -> str:
    by_norm = {normalise(c): c for c in plugins + dists}
    close = [by_norm[c] for c in difflib.get_close_matches(normalise(name), list(by_norm), n=3)]
    msg = f"{var}: no installed plugin or distribution is named {name!r}"
    if close:
        msg += f" (did you mean {', '.join(close)}?)"
    msg += f"; plugins: {', '.join(plugins) or 'none'}; distributions: {', '.join(dists) or 'none'}"
    return msg + "; this name is ignored"
