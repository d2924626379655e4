"""The options of the srgan translator, for inference and training.

Torch-free: listing plugins and reading their options must not load torch.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal, Optional


@dataclass(frozen=True)
class SROptions:
    outscale: Optional[float] = field(default=None, metadata={
        "help": "final scale; default (none): the model's own scale. Other values resize the "
                "result with Lanczos, as Real-ESRGAN's --outscale (its script's default is 4: "
                "pass outscale=4 to match it with x2 models)", "min": 0.1, "max": 16})
    pre_pad: int = field(default=0, metadata={
        "help": "reflect padding on the right/bottom (Real-ESRGAN --pre_pad; its default is 10)",
        "min": 0, "max": 512})
    alpha_upsampler: Literal["realesrgan", "bicubic"] = field(default="realesrgan", metadata={
        "help": "alpha channel through the network (realesrgan) or resized (bilinear, as Real-ESRGAN's 'bicubic')"})
    act_type: Optional[Literal["prelu", "relu", "leakyrelu"]] = field(default=None, metadata={
        "help": "SRVGGNetCompact activation when the weights cannot tell (ReLU vs LeakyReLU)"})
    precision: Literal["auto", "fp32", "fp16"] = field(default="auto", metadata={
        "help": "dtype the network is stored in, as Real-ESRGAN's --fp32 switch: auto: fp16 on "
                "CUDA, fp32 on CPU (fp16 does not run on CPU). An fp32 network follows --precision "
                "(fast: bf16/fp16 autocast); an fp16 one runs fp16 whatever --precision says"})


@dataclass(frozen=True)
class SRTrainOptions:
    arch: Literal["srresnet", "msrresnet", "rrdbnet"] = field(default="srresnet", metadata={"help": "generator"})
    scale: int = field(default=4, metadata={"help": "upscaling factor", "choices": (2, 4)})
    num_feat: int = field(default=64, metadata={"help": "generator width", "min": 1, "max": 512})
    num_block: int = field(default=16, metadata={"help": "residual (or RRDB) blocks", "min": 1, "max": 64})
    crop_size: int = field(default=96, metadata={"help": "HR crop size (LR = crop_size / scale)",
                                                 "min": 8, "max": 1024})
    phase: Literal["mse", "gan"] = field(default="mse", metadata={
        "help": "mse: SRResNet pre-training; gan: SRGAN (start from an mse run with init=RUN)"})
    init: Optional[str] = field(default=None, metadata={
        "path": True,
        "help": "run or checkpoint to start the generator from"})
    lr: float = field(default=1e-4, metadata={"min": 0.0, "max": 1.0})
    beta1: float = field(default=0.9, metadata={"min": 0.0, "max": 0.9999})
    n_epochs: int = field(default=100, metadata={"help": "epochs (default number)", "min": 1, "max": 100_000})
    adv_weight: float = field(default=1e-3, metadata={"help": "adversarial loss weight (SRGAN)",
                                                      "min": 0.0, "max": 1000.0})
    vgg_weights: Optional[str] = field(default=None, metadata={
        "path": True,
        "help": "local VGG19 weights (torchvision layout) for the content loss"})
    disc_channels: int = field(default=64, metadata={"help": "discriminator width", "min": 1, "max": 512})

    def __post_init__(self) -> None:
        if self.crop_size % (self.scale * 16 if self.phase == "gan" else self.scale):
            raise ValueError("crop_size must be a multiple of the scale (and of 16*scale for phase=gan)")
