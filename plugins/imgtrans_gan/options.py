"""The options of the pix2pix and CycleGAN translators, for inference and training.

Torch-free: listing plugins and reading their options must not load torch.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal


@dataclass(frozen=True)
class GeneratorOptions:
    direction: Literal["AtoB", "BtoA"] = field(default="AtoB", metadata={
        "help": "CycleGAN folder: which generator (G_A or G_B); aligned input: which half is the input"})
    preprocess: Literal["native", "resize_and_crop", "none"] = field(default="native", metadata={
        "help": "native: any size, padded and cropped back; resize_and_crop: the reference's default "
                "(square load_size); none: the reference's --preprocess none (multiples of 4)"})
    load_size: int = field(default=256, metadata={"help": "size for preprocess=resize_and_crop",
                                                  "min": 16, "max": 4096})
    aligned: bool = field(default=False, metadata={"help": "inputs are side-by-side A|B pairs"})
    eval: bool = field(default=False, metadata={
        "help": "evaluation mode (running statistics, no dropout), like the reference's --eval"})


@dataclass(frozen=True)
class GanTrainOptions:
    """What pix2pix and CycleGAN training share, with the reference's defaults."""

    ngf: int = field(default=64, metadata={"help": "generator width", "min": 1, "max": 512})
    ndf: int = field(default=64, metadata={"help": "discriminator width", "min": 1, "max": 512})
    n_blocks: int = field(default=9, metadata={"help": "ResNet generator blocks (9 or 6 in the reference)",
                                               "min": 0, "max": 64})
    discriminator: Literal["basic", "n_layers", "pixel"] = "basic"
    n_layers_d: int = field(default=3, metadata={"help": "PatchGAN layers (basic = 3: 70x70 patches)",
                                                 "min": 0, "max": 8})
    input_nc: int = field(default=3, metadata={"help": "input channels", "choices": (1, 3)})
    output_nc: int = field(default=3, metadata={"help": "output channels", "choices": (1, 3)})
    lr: float = field(default=2e-4, metadata={"min": 0.0, "max": 1.0})
    beta1: float = field(default=0.5, metadata={"min": 0.0, "max": 0.9999})
    n_epochs: int = field(default=100, metadata={"help": "epochs at the initial learning rate",
                                                 "min": 0, "max": 100_000})
    n_epochs_decay: int = field(default=100, metadata={"help": "epochs of linear decay to zero",
                                                       "min": 0, "max": 100_000})
    load_size: int = field(default=286, metadata={"help": "images are resized to this first",
                                                  "min": 1, "max": 4096})
    crop_size: int = field(default=256, metadata={"help": "then randomly cropped to this",
                                                  "min": 1, "max": 4096})
    flip: bool = field(default=True, metadata={"help": "random horizontal flips"})
    init_type: Literal["normal", "xavier", "kaiming", "orthogonal"] = "normal"
    init_gain: float = field(default=0.02, metadata={"min": 0.0, "max": 10.0})

    def __post_init__(self) -> None:
        if min(self.ngf, self.ndf, self.crop_size) < 1 or min(self.n_blocks, self.n_layers_d) < 0:
            raise ValueError("ngf, ndf and crop_size must be positive, n_blocks and n_layers_d >= 0")
        if self.crop_size > self.load_size:
            raise ValueError("crop_size must not exceed load_size")
        if self.input_nc not in (1, 3) or self.output_nc not in (1, 3):
            raise ValueError("input_nc and output_nc must be 1 or 3")
        generator, depth = getattr(self, "generator", "resnet"), getattr(self, "depth", 8)
        if generator == "unet":
            if depth < 5:
                raise ValueError("depth must be at least 5 (the smallest U-Net has 5 levels)")
            if self.crop_size % 2 ** depth:
                fits = [d for d in range(5, depth) if self.crop_size % 2 ** d == 0]
                advice = (f"or use depth={fits[-1]}" if fits else
                          "the smallest U-Net (depth=5) needs a multiple of 32")
                raise ValueError(f"crop_size {self.crop_size} does not fit a U-Net of depth "
                                 f"{depth}, which halves it {depth} times: use a multiple of "
                                 f"{2 ** depth} ({advice})")
        elif self.crop_size % 4:
            raise ValueError(f"crop_size {self.crop_size}: the ResNet generator halves it twice, "
                             f"so it must be a multiple of 4")


@dataclass(frozen=True)
class Pix2PixTrainOptions(GanTrainOptions):
    generator: Literal["unet", "resnet"] = field(default="unet", metadata={"help": "generator family"})
    depth: int = field(default=8, metadata={"help": "U-Net downsamplings (8: unet_256, 7: unet_128)",
                                            "min": 5, "max": 12})
    norm: Literal["batch", "instance", "none"] = "batch"
    dropout: bool = field(default=True, metadata={"help": "dropout in the generator (the paper's noise)"})
    gan_mode: Literal["vanilla", "lsgan", "wgangp"] = "vanilla"
    lambda_l1: float = field(default=100.0, metadata={"help": "weight of the L1 loss", "min": 0.0, "max": 10_000.0})
    direction: Literal["AtoB", "BtoA"] = field(default="AtoB", metadata={"help": "which side is the input"})


@dataclass(frozen=True)
class CycleGANTrainOptions(GanTrainOptions):
    generator: Literal["resnet", "unet"] = field(default="resnet", metadata={"help": "generator family"})
    depth: int = field(default=8, metadata={"help": "U-Net downsamplings, when generator=unet",
                                            "min": 5, "max": 12})
    norm: Literal["instance", "batch", "none"] = "instance"
    dropout: bool = False
    gan_mode: Literal["lsgan", "vanilla", "wgangp"] = "lsgan"
    lambda_a: float = field(default=10.0, metadata={"help": "cycle loss weight A -> B -> A",
                                                    "min": 0.0, "max": 10_000.0})
    lambda_b: float = field(default=10.0, metadata={"help": "cycle loss weight B -> A -> B",
                                                    "min": 0.0, "max": 10_000.0})
    lambda_identity: float = field(default=0.5, metadata={"help": "identity loss, relative to lambda_a/b",
                                                          "min": 0.0, "max": 100.0})
    pool_size: int = field(default=50, metadata={"help": "generated images kept for the discriminators",
                                                 "min": 0, "max": 1000})

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.lambda_identity > 0 and self.input_nc != self.output_nc:
            raise ValueError("the identity loss needs input_nc == output_nc; set lambda_identity=0")

