"""Hook specifications: the plugin author's reference.

A plugin is a module (or object) with functions whose names match the hooks below, decorated
with ``hookimpl``. Import it from the public plugin API, the only imgtrans module plugins
should use::

    from imgtrans.plugin import hookimpl

    @hookimpl
    def register_translators(register):
        register("imgtrans_mytranslator.translator:MyTranslator")  # imported on first lookup

Register the module with an entry point in the ``imgtrans`` group of your package's
``pyproject.toml``; the entry-point name is the plugin's name (use your translator's name)::

    [project.entry-points.imgtrans]
    mytranslator = "imgtrans_mytranslator"

Life cycle. On first use (the CLI starting, or the first ``imgtrans.api`` call) imgtrans
imports every plugin once, in entry-point name order, and right after importing a plugin
calls its ``register_translators``. ``register_commands`` is called later and only by the
command line, once per process, after all plugins are loaded; ``register_measures`` only
when ``imgtrans eval`` needs measures.

Rules that keep plugins working across imgtrans releases:

* Hooks use the *register callback* style: the host passes ``register`` (or ``app``) and you
  call it, zero or more times. Hooks never return values; a hook that returns something is
  still used, but the plugin gets a warning in ``imgtrans plugins`` and in the log.
* An implementation may accept any subset of a hook's arguments (pluggy matches them by
  name). imgtrans may add arguments to a hook; it never removes or renames one. A function
  marked ``@hookimpl`` whose name is not a hook below is never called; it is listed as a
  warning.
* Plugin modules must be cheap to import: do not import torch or build networks at module
  level. imgtrans imports plugins to list them (``imgtrans plugins``), and that must be fast.
* Failure is contained: a plugin that raises on import or inside a hook is listed by
  ``imgtrans plugins`` as ``failed`` with its error and logged; what that hook had registered
  is removed, and all other plugins keep working.

Choosing which plugins load (names compare case-insensitively, ``-``, ``_`` and ``.`` equal):

* ``IMGTRANS_LOAD_PLUGINS=a,b``: autoload only these third-party plugins; each name is a
  plugin (entry-point) name or a distribution name (all its plugins). Empty: none. Built-ins
  always load.
* ``IMGTRANS_DISABLE_PLUGINS=a,b``: never import these; plugin names, distribution names or
  ``IMGTRANS_PLUGINS`` module names. Built-ins are blocked by plugin name only (``resize``);
  ``imgtrans`` itself cannot be blocked as a whole.
* ``IMGTRANS_PLUGINS=mod1,mod2``: import these modules as extra plugins (handy while
  developing one without installing it).

A name in the first two that matches nothing installed is logged as a warning with the close
matches. See ``docs/writing-a-plugin.md`` and the example package in
``samples/imgtrans-sketch``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Callable

import pluggy

if TYPE_CHECKING:
    import typer

    from imgtrans.eval.types import Measure
    from imgtrans.translators.base import Translator

hookspec = pluggy.HookspecMarker("imgtrans")
hookimpl = pluggy.HookimplMarker("imgtrans")
"""Marks a plugin's hook functions; plugins import it as ``from imgtrans.plugin import hookimpl``."""


@hookspec
def register_translators(register: Callable[["type[Translator] | str"], None]) -> None:
    """Register translator classes.

    When: once per plugin, right after imgtrans imports the plugin, while loading plugins (on
    the first CLI command or ``imgtrans.api`` call; also for ``imgtrans plugins``, so keep it
    fast and free of torch imports: register classes, do not build models).

    Arguments: ``register(cls)``, a function to call once per translator class, or
    ``register("package.module:ClassName")`` with a reference to it.

    What to do: call ``register`` for each translator, preferably with a reference:
    imgtrans imports it on the first lookup of a translator, each reference on its own, so a
    module that fails to import (a syntax error, a missing dependency) costs only its own
    translator. A hook that imports its translator modules itself fails as a whole. The class
    subclasses ``imgtrans.plugin.Translator`` and sets at least ``name`` (lower case, no
    dots, unique across all plugins; by convention equal to the plugin's entry-point name, so
    that ``IMGTRANS_DISABLE_PLUGINS`` messages can name it), ``summary`` and
    ``capabilities``; it may set ``Options`` (a dataclass), ``known_weights`` (a tuple of
    ``WeightSpec``) and ``requires_weights``. Return nothing.

    On failure: ``register`` raises ``PluginError`` for a class that is not a ``Translator``,
    has a bad ``name``, or whose name another plugin already registered (the message names
    both plugins), and for a string that is not ``module:Class``. If the hook raises
    anything, the plugin is recorded as failed with the error, every translator it
    registered in this call is removed, and its ``register_commands`` is not called; other
    plugins are unaffected. A reference that fails to import or to register (the same
    checks) is logged with the plugin and its distribution, ``imgtrans plugins`` lists the
    plugin as ``partial`` with the error (``failed`` when nothing of it works), and looking
    its translator up fails with that error (``-v`` shows the traceback); the plugin's other
    translators work.
    """


@hookspec
def register_measures(register: Callable[["Measure"], None]) -> None:
    """Register evaluation measures: what ``imgtrans eval --metrics NAME`` can compute beyond
    the built-in metrics (L1, PSNR, SSIM, LPIPS per pair; FID, KID over the sets).

    When: when ``imgtrans eval`` (or ``imgtrans.plugins.measures.get_measures()``) collects
    measures, after all plugins are loaded; never while listing or converting. Not called for
    a plugin that failed or is blocked.

    Arguments: ``register(measure)``, a function to call once per measure.

    What to do: call ``register(Measure(name=..., summary=..., compute=...))`` (``Measure``
    from ``imgtrans.plugin``). ``compute(context)`` receives a ``MeasureContext``: the matched
    files (``context.items``: output, target and translator input of each), the settings
    (``context.settings``: Y channel, border crop, A|B half, downscale factor) and helpers
    that read images as the built-in metrics do (``read_output``, ``read_target``,
    ``compare``); it returns ``{value name: float}`` and may report per-file values with
    ``context.add_file_value``. Set ``needs_targets=False`` for a measure of the outputs
    alone and ``needs_inputs=True`` when it reads the translator's inputs (``--inputs``).
    Keep the hook cheap: import torch inside ``compute``. Return nothing.

    On failure: ``register`` raises ``PluginError`` for something that is not a ``Measure``
    or a name another plugin registered. If the hook raises, the measures it registered are
    dropped and the error is logged; other plugins' measures and all built-in metrics are
    unaffected. A ``compute`` that raises ``UsageError``/``ValueError`` is reported as not
    measured, with its message, and the other metrics go on.
    """


@hookspec
def register_commands(app: "typer.Typer") -> None:
    """Add commands to the ``imgtrans`` command line.

    When: once per process, only when the command line starts (not for ``imgtrans.api``),
    after all plugins are loaded and after the built-in commands exist. Not called for a
    plugin that failed or is blocked.

    Arguments: ``app``, the root ``typer.Typer`` of ``imgtrans``.

    What to do: add commands with ``@app.command()`` or a sub-app with
    ``app.add_typer(sub, name=...)``. Prefix names with your plugin's name; do not modify or
    remove other commands (such changes are undone). Import heavy modules inside the command
    functions, not here. Return nothing.

    On failure: a command or sub-app whose name is already taken, by a built-in command
    (``convert``, ``train``, ``weights``, ...) or by a command of an earlier plugin, is not
    added; nor is any other command of that plugin, and the plugin is recorded as failed with
    a message naming the command. If the hook raises, the plugin is recorded as failed and
    none of its commands are added. Its translators stay registered; other plugins and all
    built-in commands are unaffected.
    """
