"""Example imgtrans plugin: the hook that registers its two translators.

imgtrans imports this module whenever it lists plugins, so it stays cheap: the translators
are registered by reference, and imgtrans imports each one's module on its first lookup, on
its own, so a module that fails to import costs only its own translator. Those modules
import torch and kornia only when a translator is loaded or trained.
"""

from __future__ import annotations

from typing import Any

from imgtrans.plugin import hookimpl

__version__ = "0.2.0"


@hookimpl
def register_translators(register: Any) -> None:
    register("imgtrans_sketch.sketch:SketchTranslator")
    register("imgtrans_sketch.tone:ToneTranslator")
