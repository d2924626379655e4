"""The layout2im options, apart from the translator so that listing plugins and checking
options never imports torch (the training options live here for the same reason)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal, Optional

NAME = "layout2im"
"""The translator's name, also recorded in every checkpoint it writes."""

MAX_OBJECTS = 128
"""Most objects one layout may ever have: the generator keeps a feature map per object (about
0.4 MB each, measured), and the reference datasets have at most 30."""


@dataclass(frozen=True)
class Layout2ImOptions:
    vocab: Optional[str] = field(default=None, metadata={
        "path": True,
        "help": "vocabulary JSON (the reference dataset's vocab.json), needed for reference checkpoints"})
    samples: int = field(default=1, metadata={"help": "images per layout (<name>_s0, _s1, ...)",
                                              "min": 1, "max": 64})
    overlay: bool = field(default=False, metadata={"help": "also draw the boxes and labels, to the right"})
    rescale: Literal["reference", "clamp"] = field(default="reference", metadata={
        "help": "reference: per-image min-max to [0, 1] as the reference saves; clamp: keep absolute colours"})
    min_objects: int = field(default=1, metadata={"help": "fewest objects a layout may have",
                                                  "min": 1, "max": MAX_OBJECTS})
    max_objects: int = field(default=8, metadata={
        "help": "most objects a layout may have (reference COCO: 8); memory grows with it",
        "min": 1, "max": MAX_OBJECTS})
    scale: int = field(default=1, metadata={"help": "enlarge the 64 px output this many times (nearest)",
                                            "min": 1, "max": 16})

    def __post_init__(self) -> None:
        if self.min_objects > self.max_objects:
            raise ValueError("need min_objects <= max_objects")
        if self.vocab is not None and not Path(self.vocab).expanduser().is_file():
            raise ValueError(f"vocab {self.vocab!r}: no such file")


_WEIGHT = {"min": 0.0, "max": 1000.0}
"""The range of every loss weight."""


@dataclass(frozen=True)
class Layout2ImTrainOptions:
    # -- model size (reference defaults) --------------------------------------------------
    embedding_dim: int = field(default=64, metadata={"help": "class embedding size", "min": 1, "max": 1024})
    z_dim: int = field(default=64, metadata={"help": "latent code size per object", "min": 1, "max": 1024})
    clstm_layers: int = field(default=3, metadata={"help": "ConvLSTM layers (1, 2, 3, ...)", "min": 1, "max": 8})
    conv_dim: int = field(default=64, metadata={"help": "generator width (reference: 64)", "min": 1, "max": 512})
    n_residual: int = field(default=6, metadata={"help": "residual blocks after the ConvLSTM",
                                                 "min": 0, "max": 32})
    d_conv_dim: int = field(default=64, metadata={"help": "discriminator width (reference: 64)",
                                                  "min": 1, "max": 512})
    # -- loss weights (reference defaults) ------------------------------------------------
    lambda_img_adv: float = field(default=1.0, metadata={"help": "image adversarial loss weight", **_WEIGHT})
    lambda_obj_adv: float = field(default=1.0, metadata={"help": "object adversarial loss weight", **_WEIGHT})
    lambda_obj_cls: float = field(default=1.0, metadata={"help": "object classification loss weight", **_WEIGHT})
    lambda_z_rec: float = field(default=10.0, metadata={"help": "latent regression L1 weight", **_WEIGHT})
    lambda_img_rec: float = field(default=1.0, metadata={"help": "image reconstruction L1 weight", **_WEIGHT})
    lambda_kl: float = field(default=0.01, metadata={"help": "KL weight of the crop encoder", **_WEIGHT})
    lambda_ms: float = field(default=0.0, metadata={
        "help": "mode-seeking weight (Mao et al. 2019; not in the reference, which has 0): rewards "
                "object crops that differ between two random codes", **_WEIGHT})
    # -- optimiser ------------------------------------------------------------------------
    lr: float = field(default=1e-4, metadata={"help": "Adam learning rate (G and both Ds)",
                                              "min": 0.0, "max": 1.0})
    beta1: float = field(default=0.5, metadata={"help": "Adam beta1", "min": 0.0, "max": 0.9999})
    beta2: float = field(default=0.999, metadata={"help": "Adam beta2", "min": 0.0, "max": 0.9999})
    n_epochs: int = field(default=100, metadata={
        "help": "epochs (reference: 300,000 steps of batch 8, about 100 epochs of COCO-Stuff)",
        "min": 1, "max": 100_000})
    recompute_g: bool = field(default=False, metadata={
        "help": "run the generator forward again for the G step, as the reference (slower)"})
    # -- data -----------------------------------------------------------------------------
    min_object_size: float = field(default=0.02, metadata={
        "help": "keep objects whose box covers more than this fraction of the image",
        "min": 0.0, "max": 0.99})
    min_objects: int = field(default=3, metadata={"help": "fewest objects an image may have",
                                                  "min": 1, "max": MAX_OBJECTS})
    max_objects: int = field(default=8, metadata={"help": "most objects an image may have",
                                                  "min": 1, "max": MAX_OBJECTS})

    def __post_init__(self) -> None:
        if min(self.embedding_dim, self.z_dim, self.clstm_layers, self.conv_dim,
               self.d_conv_dim) < 1 or self.n_residual < 0:
            raise ValueError("model sizes must be positive (n_residual >= 0)")
        weights = (self.lambda_img_adv, self.lambda_obj_adv, self.lambda_obj_cls,
                   self.lambda_z_rec, self.lambda_img_rec, self.lambda_kl, self.lambda_ms)
        if min(weights) < 0:
            raise ValueError("loss weights must be >= 0")
        if not self.lr > 0 or not (0 <= self.beta1 < 1 and 0 <= self.beta2 < 1):
            raise ValueError("need lr > 0 and 0 <= beta1, beta2 < 1")
        if self.n_epochs < 1:
            raise ValueError("n_epochs must be >= 1")
        if not 0 <= self.min_object_size < 1:
            raise ValueError("min_object_size must be in [0, 1)")
        if not 1 <= self.min_objects <= self.max_objects:
            raise ValueError("need 1 <= min_objects <= max_objects (every image needs an object)")
