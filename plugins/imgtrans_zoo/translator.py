"""The ``zoo`` translator: every image-to-image model of spandrel's architectures
(super-resolution at any scale, and scale-1 restoration: denoise, deblur, de-JPEG, dehaze).

It is a fallback (``Translator.fallback``): identification asks it only about files no other
translator claims, so srgan keeps loading its own families (RRDBNet/ESRGAN, SRVGG, MSRResNet,
SRResNet) bit-exactly, and the zoo takes what srgan does not know (SPAN, DAT, HAT, SwinIR,
RealPLKSR, OmniSR, SCUNet, NAFNet... and ESRGAN variants srgan refuses). ``--plugin zoo``
still runs srgan's families through spandrel, for comparisons.

What the pipeline needs comes from the loaded model: scale, channels, size requirements
(minimum, multiple, square: see ``preprocessing``), whether it may be tiled (spandrel's tiling
flag: tiles are refused for models that tile internally), and which reduced precisions it
runs. Torch- and spandrel-free at import, so listing plugins stays fast and works without
the ``zoo`` extra; ``models`` and ``inference`` are imported by the methods that use them.
"""

from __future__ import annotations

import dataclasses
from typing import Any, Mapping

from imgtrans.plugin import (Capabilities, Preprocessing, TranslateContext, Translator, WeightsError,
                             hookimpl)
from imgtrans_zoo.options import ZooOptions

TILING_NOTES = {
    "discouraged": "spandrel discourages tiling {arch}: it uses information from the whole "
                   "image, so tiles may show seams (use a large --tile-pad)",
    "internal": "{arch} tiles the image itself; spandrel advises against tiling it again",
}


class ZooTranslator(Translator):
    name = "zoo"
    summary = ("Super-resolution and restoration models of spandrel's architectures (SPAN, DAT, "
               "HAT, SwinIR, RealPLKSR, OmniSR, SCUNet, NAFNet...); needs pip install 'imgtrans[zoo]'")
    capabilities = Capabilities(fully_convolutional=True)  # per model: see __init__
    Options = ZooOptions
    requires_weights = True
    fallback = True
    autocast_scope = "parts"  # only models spandrel marks as bf16/fp16-capable (inference.py)
    fast_mode_error = ("per architecture; only those spandrel marks bf16/fp16-capable autocast, the "
                       "others run exact. bf16 emulated on CPU, random weights, 8-bit levels: mean "
                       "0.09-0.55, max 1-2 (OmniSR, SwinIR, DAT, SCUNet, NAFNet), 18 (RealPLKSR), "
                       "46 (SPAN); bench/zoo.py, bench/RESULTS.md")

    @classmethod
    def recognises(cls, state_dict: Mapping[str, Any]) -> Any:
        """The name of the spandrel architecture whose key check claims ``state_dict`` (asked
        only when no other translator claims it); ``WeightsError`` with the install hint when
        spandrel is not importable."""
        from imgtrans_zoo.models import spandrel

        spandrel()  # raises WeightsError(install hint) before anything else is imported
        from imgtrans_zoo.models import detect

        support = detect(state_dict)
        return support.architecture.name if support is not None else False

    def __init__(self, options: ZooOptions, device: Any, model: Any) -> None:
        super().__init__(options, device)
        self.model = model
        tiling = model.facts["tiling"]
        note = TILING_NOTES.get(tiling, "").format(arch=model.architecture)
        self.capabilities = dataclasses.replace(type(self).capabilities, tiling_note=note,
                                                fully_convolutional=tiling != "internal")

    @classmethod
    def load(cls, weights: Any, options: ZooOptions, device: Any) -> "ZooTranslator":
        from imgtrans.plugin import weights_at

        weights = weights_at(weights)
        if weights.kind != "file":
            raise WeightsError(f"{weights.path}: the zoo translator loads model files (.pth, "
                               f".safetensors), not a {weights.kind}")
        from imgtrans_zoo.models import load_model

        from imgtrans_zoo.layout import format_name, memory_format

        model = load_model(weights.state_dict(), str(weights.path))
        model.memory_format = memory_format(model.facts["architecture_id"], device)
        model.facts["memory_format"] = format_name(model.memory_format)
        model.descriptor.to(device)
        model.descriptor.model.to(memory_format=model.memory_format)
        return cls(options, device, model)

    def preprocessing(self) -> Preprocessing:
        from imgtrans_zoo.preprocessing import ZooPreprocessing

        facts, o = self.model.facts, self.options
        req, scale, channels = facts["size_requirements"], facts["scale"], facts["input_channels"]
        through_net = o.alpha == "network" and channels == 3
        outscale = None if o.outscale is None or o.outscale == scale else o.outscale
        return ZooPreprocessing(value_range=(0.0, 1.0), channels=channels, scale=scale,
                                alpha="pass" if through_net else "preserve",
                                interpolation="bilinear", size_multiple=req["multiple_of"],
                                min_size=max(1, req["minimum"]), resize="pad", pad_mode="reflect",
                                keep_gray=channels == 3, square=req["square"], outscale=outscale)

    def translate(self, images: Any, context: TranslateContext) -> Any:
        from imgtrans_zoo.inference import run

        return run(self.model, images, context)

    def config(self) -> dict[str, Any]:
        base = super().config()
        base["model"] = dict(self.model.facts)
        return base


@hookimpl
def register_translators(register: Any) -> None:
    register(ZooTranslator)
