"""The sdedit options, apart from the translator so that listing plugins and checking
options never imports torch or diffusers (the training options live here for the same
reason)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal, Optional

NAME = "sdedit"
"""The translator's name, also recorded in every checkpoint it writes."""


@dataclass(frozen=True)
class SDEditOptions:
    strength: float = field(default=0.5, metadata={
        "help": "t0 in [0, 1]: how far the guide is noised (0: input unchanged, 1: pure noise); "
                "int(steps * strength) steps are run, so small values with few steps may run none",
        "min": 0.0, "max": 1.0})
    steps: int = field(default=50, metadata={
        "help": "inference steps of the whole schedule (1..the model's training steps); "
                "scheduler=ddpm steps=1000 reproduces the reference code", "min": 1, "max": 4000})
    repeats: int = field(default=1, metadata={
        "help": "K: run SDEdit K times, each repeat re-noising the previous result",
        "min": 1, "max": 100})
    scheduler: Literal["auto", "folder", "ddim", "ddpm"] = field(default="auto", metadata={
        "help": "sampler: folder = the Stable Diffusion folder's own (Euler, LCM, DPM-Solver++...); "
                "ddim/ddpm built from the model's beta schedule with clip_sample off (the reference "
                "does no clipping); auto = folder for Stable Diffusion models, ddim for pixel ones"})
    eta: float = field(default=0.0, metadata={
        "help": "DDIM eta (0: deterministic steps; 1: DDPM-like noise); scheduler=ddim only",
        "min": 0.0, "max": 1.0})
    mask: Optional[str] = field(default=None, metadata={
        "path": True,
        "help": "mask file for all inputs, or folder of masks matched by input file name stem; "
                "white = edit, black = keep (kept pixels come back exactly)"})
    samples: int = field(default=1, metadata={
        "help": "outputs per input (written as <name>_s0, <name>_s1, ...), each with its own noise",
        "min": 1, "max": 64})
    # Latent (Stable Diffusion) models only; see imgtrans_sdedit.prompts for per-file prompts.
    prompt: str = field(default="", metadata={
        "help": "Stable Diffusion models: what the result should show (text)"})
    negative_prompt: str = field(default="", metadata={
        "help": "Stable Diffusion models: what it should not show (guidance_scale > 1)"})
    guidance_scale: float = field(default=7.5, metadata={
        "help": "Stable Diffusion models: classifier-free guidance (<= 1: none, one UNet pass "
                "per step; turbo models: 0)", "min": 0.0, "max": 50.0})
    vae_tiling: Literal["auto", "on", "off"] = field(default="auto", metadata={
        "help": "Stable Diffusion models: encode/decode in tiles (diffusers' VAE tiling) so large "
                "images fit in memory; auto = for images over 1024 px on a side"})
    prompts: Optional[str] = field(default=None, metadata={
        "path": True,
        "help": "Stable Diffusion models: per-file prompts, a JSON file {input name or stem: "
                "prompt} or a folder of <stem>.txt files matched like mask folders"})

    def __post_init__(self) -> None:
        if self.prompts is not None and not Path(self.prompts).expanduser().exists():
            raise ValueError(f"prompts {self.prompts!r}: no such file or folder")
        if self.eta and self.scheduler == "ddpm":  # auto/folder: checked against the model
            raise ValueError("eta applies to scheduler=ddim only")
        if self.mask is not None and not Path(self.mask).expanduser().exists():
            raise ValueError(f"mask {self.mask!r}: no such file or folder")


@dataclass(frozen=True)
class SDEditTrainOptions:
    sample_size: int = field(default=32, metadata={"help": "image size the model works at",
                                                   "min": 8, "max": 512})
    channels: str = field(default="32,64,64", metadata={
        "help": "UNet block widths, comma-separated: 1 to 6 multiples of 8, each at most 1024"})
    layers_per_block: int = field(default=1, metadata={"min": 1, "max": 8})
    attention: bool = field(default=False, metadata={"help": "self-attention in the lowest-resolution block"})
    num_train_timesteps: int = field(default=1000, metadata={"min": 2, "max": 10_000})
    beta_start: float = field(default=1e-4, metadata={"min": 0.0, "max": 1.0})
    beta_end: float = field(default=0.02, metadata={"min": 0.0, "max": 1.0})
    lr: float = field(default=2e-4, metadata={"min": 0.0, "max": 1.0})
    ema_decay: float = field(default=0.999, metadata={"help": "EMA of the weights (sampled from)",
                                                      "min": 0.0, "max": 1.0})
    n_epochs: int = field(default=100, metadata={"min": 1, "max": 100_000})
    flip: bool = True

    def __post_init__(self) -> None:
        widths = self.widths
        if not 1 <= len(widths) <= 6 or any(w % 8 or not 8 <= w <= 1024 for w in widths):
            raise ValueError("channels must be 1 to 6 comma-separated multiples of 8, each "
                             "from 8 to 1024")
        if self.sample_size % (2 ** (len(widths) - 1)):
            raise ValueError(f"sample_size must be divisible by {2 ** (len(widths) - 1)}")

    @property
    def widths(self) -> tuple[int, ...]:
        try:
            return tuple(int(w) for w in self.channels.split(",") if w.strip())
        except ValueError:
            return ()
