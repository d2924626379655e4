"""The ``srgan`` translator: single-image super-resolution with SRResNet/SRGAN, ESRGAN,
Real-ESRGAN (RRDBNet, SRVGGNetCompact) and MSRResNet checkpoints.

Inference reproduces Real-ESRGAN's ``RealESRGANer.enhance``: right/bottom reflect
``pre_pad`` and padding to the network's multiple, optional tiles (the pipeline's
``--tile``/``--tile-pad`` use its tile grid), alpha through the network or resized, gray
in -> gray out (BT.601), 16-bit in -> 16-bit out, rounding to integers, then Lanczos to
``outscale``. On CPU it always runs fp32 (fp16 is CUDA-only).

Torch-free at import, so listing plugins stays fast; ``inference``, ``layout`` and
``training`` (which need torch) are imported by the methods that use them.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Mapping

from imgtrans.plugin import Capabilities, Preprocessing, TranslateContext, Translator, hookimpl
from imgtrans_srgan.options import SROptions, SRTrainOptions


class SRTranslator(Translator):
    name = "srgan"
    summary = "Super-resolution: SRResNet/SRGAN, ESRGAN, Real-ESRGAN and MSRResNet checkpoints"
    capabilities = Capabilities(training=True, paired=True, fully_convolutional=True)
    Options = SROptions
    TrainOptions = SRTrainOptions
    requires_weights = True

    @classmethod
    def recognises(cls, state_dict: Mapping[str, Any]) -> bool:
        try:
            from imgtrans_srgan.layout import is_sr_network
        except ImportError:
            return False
        return is_sr_network(state_dict)

    @classmethod
    def load(cls, weights: Path | None, options: SROptions, device: Any) -> "SRTranslator":
        from imgtrans_srgan.inference import load_sr_weights, place

        net, config = load_sr_weights(weights, options.act_type)  # type: ignore[arg-type]
        self = cls(options, device)
        self.sr_config = config
        self.net, self.dtype = place(net, device, options.precision)
        return self

    def preprocessing(self) -> Preprocessing:
        o, scale = self.options, self.sr_config.scale
        through_net = o.alpha_upsampler == "realesrgan"
        outscale = None if o.outscale is None or o.outscale == scale else o.outscale
        return Preprocessing(value_range=(0.0, 1.0), channels=3,
                             alpha="pass" if through_net else "preserve", interpolation="bilinear",
                             scale=scale, size_multiple=self.sr_config.size_multiple, resize="pad",
                             pad_mode="reflect", pre_pad=o.pre_pad, keep_gray=True, output_scale=outscale)

    def translate(self, images: Any, context: TranslateContext) -> Any:
        from imgtrans_srgan.inference import upscale

        return upscale(self.net, images, self.dtype)

    def config(self) -> dict[str, Any]:
        base = super().config()
        base["sr_config"] = self.sr_config.to_dict()
        return base

    @classmethod
    def training_task(cls, options: Any, settings: Any, device: Any) -> Any:
        from imgtrans_srgan.training import SRTask

        return SRTask(options, settings, device)


@hookimpl
def register_translators(register: Any) -> None:
    register(SRTranslator)
