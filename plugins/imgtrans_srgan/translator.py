"""The ``srgan`` translator: single-image super-resolution with SRResNet/SRGAN, ESRGAN,
Real-ESRGAN (RRDBNet, SRVGGNetCompact) and MSRResNet checkpoints.

Inference reproduces Real-ESRGAN's ``RealESRGANer.enhance``: right/bottom reflect
``pre_pad`` and padding to the network's multiple, optional tiles (the pipeline's
``--tile``/``--tile-pad`` use its tile grid), alpha through the network or resized, gray
in -> gray out (BT.601), 16-bit in -> 16-bit out, rounding to integers, then Lanczos to
``outscale``. On CPU it always runs fp32 (fp16 is CUDA-only).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, Optional

from imgtrans.plugins import hookimpl
from imgtrans.translators.base import Capabilities, Preprocessing, TranslateContext, Translator
from imgtrans_srgan.training import SRTrainOptions


@dataclass(frozen=True)
class SROptions:
    outscale: Optional[float] = field(default=4.0, metadata={
        "help": "final scale (Real-ESRGAN's --outscale, default 4; none: the model's own scale); "
                "other values resize the result with Lanczos"})
    pre_pad: int = field(default=0, metadata={"help": "reflect padding on the right/bottom (Real-ESRGAN --pre_pad)"})
    alpha_upsampler: Literal["realesrgan", "bicubic"] = field(default="realesrgan", metadata={
        "help": "alpha channel through the network (realesrgan) or resized (bilinear, as Real-ESRGAN's 'bicubic')"})
    act_type: Optional[Literal["prelu", "relu", "leakyrelu"]] = field(default=None, metadata={
        "help": "SRVGGNetCompact activation when the weights cannot tell (ReLU vs LeakyReLU)"})
    precision: Literal["auto", "fp32", "fp16"] = field(default="auto", metadata={
        "help": "auto: fp16 on CUDA, fp32 on CPU (fp16 does not run on CPU)"})

    def __post_init__(self) -> None:
        if self.outscale is not None and not 0 < self.outscale <= 16:
            raise ValueError("outscale must be in (0, 16]")
        if self.pre_pad < 0:
            raise ValueError("pre_pad must not be negative")


def load_sr_weights(path: Path, act_type: str | None) -> tuple[Any, Any]:
    """(network in eval mode, SRConfig) from a checkpoint file or an imgtrans run/checkpoint."""
    from imgtrans.training import checkpoint as ckpt
    from imgtrans.weights import load_state_dict
    from imgtrans_srgan.archs import SRConfig
    from imgtrans_srgan.layout import load_sr_model

    path = Path(path)
    if path.is_dir():
        meta = ckpt.read_meta(path)
        config = SRConfig.from_dict(meta["sr_config"])
        net = config.build()
        net.load_state_dict(ckpt.load_network_state(path, "G"))
        return net.eval(), config
    return load_sr_model(load_state_dict(path), act_type=act_type)


class SRTranslator(Translator):
    name = "srgan"
    summary = "Super-resolution: SRResNet/SRGAN, ESRGAN, Real-ESRGAN and MSRResNet checkpoints"
    capabilities = Capabilities(training=True, paired=True, fully_convolutional=True)
    Options = SROptions
    TrainOptions = SRTrainOptions
    requires_weights = True

    @classmethod
    def load(cls, weights: Path | None, options: SROptions, device: Any) -> "SRTranslator":
        import torch

        net, config = load_sr_weights(weights, options.act_type)  # type: ignore[arg-type]
        self = cls(options, device)
        self.sr_config = config
        half = options.precision == "fp16" or (options.precision == "auto" and device.type == "cuda")
        if half and device.type != "cuda":
            from imgtrans.errors import UsageError

            raise UsageError("precision=fp16 needs a CUDA device; on CPU use fp32")
        self.dtype = torch.float16 if half else torch.float32
        self.net = net.to(device=device, dtype=self.dtype)
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
        """(B, 3|4, H, W) in [0, 1] -> (B, 3|4, H*s, W*s). Alpha (4th channel) goes through
        the network as a gray image, as Real-ESRGAN does, and comes back as BT.601 gray."""
        import torch

        rgb = self._forward(images[:, :3])
        if images.shape[1] == 3:
            return rgb
        alpha = self._forward(images[:, 3:4].expand(-1, 3, -1, -1).contiguous()).clamp(0.0, 1.0)
        alpha = 0.299 * alpha[:, 0:1] + 0.587 * alpha[:, 1:2] + 0.114 * alpha[:, 2:3]
        return torch.cat([rgb, alpha], dim=1)

    def _forward(self, images: Any) -> Any:
        import torch

        # one image per forward: results never depend on batching
        outputs = [self.net(images[i:i + 1].to(self.dtype)).float() for i in range(images.shape[0])]
        return torch.cat(outputs)

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
