"""Example imgtrans plugin: the hook that registers its two translators.

imgtrans imports this module whenever it lists plugins, so it stays cheap: the translator
modules are imported inside the hook, and they import torch and kornia only when a
translator is loaded or trained.
"""

from __future__ import annotations

from typing import Any

from imgtrans.plugin import hookimpl

__version__ = "0.2.0"


@hookimpl
def register_translators(register: Any) -> None:
    from imgtrans_sketch.sketch import SketchTranslator
    from imgtrans_sketch.tone import ToneTranslator

    register(SketchTranslator)
    register(ToneTranslator)
