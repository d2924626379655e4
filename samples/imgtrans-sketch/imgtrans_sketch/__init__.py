"""Example imgtrans plugin: the hook that registers the translator.

This module is imported whenever imgtrans lists plugins, so it stays cheap: the translator
module imports torch and kornia only inside ``translate``.
"""

from __future__ import annotations

from typing import Any

from imgtrans.plugins import hookimpl

__version__ = "0.1.0"


@hookimpl
def register_translators(register: Any) -> None:
    from imgtrans_sketch.translator import SketchTranslator

    register(SketchTranslator)
