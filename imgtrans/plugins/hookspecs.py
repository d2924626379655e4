"""Hook specifications: the plugin author's reference.

A plugin is a module (or object) with functions decorated by ``@imgtrans.plugins.hookimpl``
whose names match the hooks below. Register it with an entry point in the ``imgtrans`` group
of your package's ``pyproject.toml``::

    [project.entry-points.imgtrans]
    mytranslator = "imgtrans_mytranslator"

Rules that keep plugins working across imgtrans releases:

* Hooks use the *register callback* style: the host passes ``register`` and you call it,
  zero or more times. You never return values from hooks.
* An implementation may accept any subset of a hook's arguments (pluggy matches them by
  name). imgtrans may add arguments to a hook; it never removes or renames one.
* Plugin modules must be cheap to import: do not import torch or build networks at module
  level. imgtrans imports plugins to list them (``imgtrans plugins``), and that must be fast.
* A plugin that raises on import or inside a hook is reported by ``imgtrans plugins`` as
  ``failed`` with its error; the other plugins keep working.

See ``docs/writing-a-plugin.md`` and the example package in ``samples/imgtrans-sketch``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Callable

import pluggy

if TYPE_CHECKING:
    import typer

    from imgtrans.translators.base import Translator

hookspec = pluggy.HookspecMarker("imgtrans")
hookimpl = pluggy.HookimplMarker("imgtrans")


@hookspec
def register_translators(register: Callable[["type[Translator]"], None]) -> None:
    """Register translator classes.

    Call ``register(cls)`` once per class. ``cls`` subclasses
    :class:`imgtrans.translators.base.Translator` and sets at least ``name`` (lower case,
    unique across all plugins; a clash is reported naming both plugins), ``summary`` and
    ``capabilities``; it may set ``Options`` (a dataclass), ``known_weights`` (a tuple of
    :class:`~imgtrans.translators.base.WeightSpec`) and ``requires_weights``.
    """


@hookspec
def register_commands(app: "typer.Typer") -> None:
    """Add commands to the ``imgtrans`` command line.

    ``app`` is the root :class:`typer.Typer`; add commands with ``@app.command()`` or a sub-app
    with ``app.add_typer(...)``. Use names that will not clash with built-in commands
    (prefix them with your plugin's name). Called once, when the CLI starts.
    """
