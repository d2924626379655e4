"""Built-in ``resize`` translator: classic interpolation, the baseline every learned
super-resolution model is measured against. Registered through the ``imgtrans`` entry-point
group like any third-party plugin. Torch-free at import (options in ``options``); torch is
imported when translating."""

from __future__ import annotations

from typing import Any

from imgtrans.plugin import Capabilities, Preprocessing, TranslateContext, Translator, hookimpl
from imgtrans_resize.options import ResizeOptions


class ResizeTranslator(Translator):
    name = "resize"
    summary = "Upscale by interpolation (bicubic by default): the baseline for super-resolution"
    capabilities = Capabilities(fully_convolutional=True)
    Options = ResizeOptions

    def preprocessing(self) -> Preprocessing:
        return Preprocessing(channels=3, scale=self.options.scale, alpha="preserve",
                             interpolation=self.options.interpolation, keep_gray=True)

    def translate(self, images: Any, context: TranslateContext) -> Any:
        import torch.nn.functional as F

        height, width = images.shape[-2:]
        size = (height * self.options.scale, width * self.options.scale)
        if self.options.interpolation == "nearest":
            return F.interpolate(images, size=size, mode="nearest-exact")
        return F.interpolate(images, size=size, mode=self.options.interpolation,
                             align_corners=False)


@hookimpl
def register_translators(register: Any) -> None:
    register(ResizeTranslator)
