"""Engines: ways to run the stages of :mod:`imgtrans.core.stages` over a plan.

Each engine is one module with the same function::

    run(items, recipe, settings, *, on_start, on_result, on_frames, stop) -> list[ItemResult]

``recipe`` (:class:`imgtrans.loading.TranslatorRecipe`) loads the translator wherever the engine
runs it; ``on_start`` gets the translator's settings once it is ready, ``on_result`` each
item's result as soon as the item is finished, ``on_frames`` (None, or ``(input, done,
in total)``) progress inside one item (a video's frames, a tiled image's tiles), and
``stop`` (a ``threading.Event``) ends the run early: the batch in flight is finished and
written, the rest is "interrupted".
A module is imported only when its engine is chosen, so optional dependencies stay optional.
"""

from __future__ import annotations

import importlib
from types import ModuleType

from imgtrans.errors import UsageError

ENGINES = ("local", "ray")


def get_engine(name: str) -> ModuleType:
    """The engine module called ``name``; a usage error names the choices, or what to
    install when the engine's dependency is missing."""
    if name not in ENGINES:
        raise UsageError(f"--engine {name!r}: choose {' or '.join(ENGINES)}")
    module = importlib.import_module(f"imgtrans.engines.{name}")
    module.check_available()
    return module
