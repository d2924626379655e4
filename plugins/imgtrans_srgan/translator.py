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

import dataclasses
from typing import Any, Mapping

from imgtrans.plugin import Capabilities, Preprocessing, TranslateContext, Translator, hookimpl
from imgtrans_srgan.measures import register_measures  # noqa: F401  (the plugin's measure hook)
from imgtrans_srgan.options import SROptions, SRTrainOptions


RRDB_CPU_BATCH = {"cpu_batch_size": 2, "cpu_batch_max_pixels": 128 * 128}
"""``--batch-size auto`` for RRDBNet on a CPU: two images per forward up to 128x128 inputs
(1.13x per image at 64x48, 1.07x at 128x96; batch 4 is slower at 128x96; bench/batch_size.py
--sr-inputs, bench/RESULTS.md). The other SR networks run one at a time (the bundled
MSRResNet is 0.5-0.74x batched)."""


class SRTranslator(Translator):
    name = "srgan"
    summary = "Super-resolution: SRResNet/SRGAN, ESRGAN, Real-ESRGAN and MSRResNet checkpoints"
    capabilities = Capabilities(training=True, paired=True, fully_convolutional=True)
    fast_mode_error = ("bf16 CPU, 8-bit levels vs exact: mean 0.05-1.1, 99.9th pct 1-6, max 9 (bundled MSRResNet and RRDBNet x4); bench/precision.py --quick; bench/RESULTS.md")
    autocast_scope = "parts"  # autocast only an fp32 network (see translate)
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

    def __init__(self, options: SROptions, device: Any, net: Any, sr_config: Any, dtype: Any) -> None:
        super().__init__(options, device)
        self.net, self.sr_config, self.dtype = net, sr_config, dtype
        if sr_config.arch == "rrdbnet":
            self.capabilities = dataclasses.replace(type(self).capabilities, **RRDB_CPU_BATCH)

    @classmethod
    def load(cls, weights: Any, options: SROptions, device: Any) -> "SRTranslator":
        from imgtrans.plugin import weights_at
        from imgtrans_srgan.inference import load_sr_weights, place

        net, config = load_sr_weights(weights_at(weights), options.act_type)
        net, dtype = place(net, device, options.precision)
        return cls(options, device, net, config, dtype)

    def preprocessing(self) -> Preprocessing:
        from imgtrans_srgan.preprocessing import RealESRGANPreprocessing

        o, scale = self.options, self.sr_config.scale
        through_net = o.alpha_upsampler == "realesrgan"
        outscale = None if o.outscale is None or o.outscale == scale else o.outscale
        return RealESRGANPreprocessing(value_range=(0.0, 1.0), channels=3,
                                       alpha="pass" if through_net else "preserve",
                                       interpolation="bilinear", scale=scale,
                                       size_multiple=self.sr_config.size_multiple, resize="pad",
                                       pad_mode="reflect", keep_gray=True, pre_pad=o.pre_pad,
                                       outscale=outscale)

    def translate(self, images: Any, context: TranslateContext) -> Any:
        """With ``--precision fast`` an fp32 network runs under the pipeline's autocast; one
        placed in fp16 by the ``precision`` option (Real-ESRGAN's default on CUDA) already is
        fast and runs as it is."""
        import contextlib

        from imgtrans.plugin import fast_scope
        from imgtrans_srgan.inference import upscale

        scope = fast_scope(context) if str(self.dtype) == "torch.float32" else contextlib.nullcontext()
        with scope:
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
