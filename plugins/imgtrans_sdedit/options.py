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
                "int(steps * strength) steps are run, so small values with few steps may run none"})
    steps: int = field(default=50, metadata={
        "help": "inference steps of the whole schedule (1..the model's training steps); "
                "scheduler=ddpm steps=1000 reproduces the reference code"})
    repeats: int = field(default=1, metadata={
        "help": "K: run SDEdit K times, each repeat re-noising the previous result"})
    scheduler: Literal["auto", "folder", "ddim", "ddpm"] = field(default="auto", metadata={
        "help": "sampler: folder = the Stable Diffusion folder's own (Euler, LCM, DPM-Solver++...); "
                "ddim/ddpm built from the model's beta schedule with clip_sample off (the reference "
                "does no clipping); auto = folder for Stable Diffusion models, ddim for pixel ones"})
    eta: float = field(default=0.0, metadata={
        "help": "DDIM eta in [0, 1] (0: deterministic steps; 1: DDPM-like noise); scheduler=ddim only"})
    mask: Optional[str] = field(default=None, metadata={
        "help": "mask file for all inputs, or folder of masks matched by input file name stem; "
                "white = edit, black = keep (kept pixels come back exactly)"})
    samples: int = field(default=1, metadata={
        "help": "outputs per input (written as <name>_s0, <name>_s1, ...), each with its own noise"})
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
        "help": "Stable Diffusion models: per-file prompts, a JSON file {input name or stem: "
                "prompt} or a folder of <stem>.txt files matched like mask folders"})

    def __post_init__(self) -> None:
        if self.prompts is not None and not Path(self.prompts).expanduser().exists():
            raise ValueError(f"prompts {self.prompts!r}: no such file or folder")
        if not 0.0 <= self.strength <= 1.0:
            raise ValueError(f"strength must be in [0, 1], got {self.strength}")
        if self.steps < 1:
            raise ValueError(f"steps must be at least 1, got {self.steps}")
        if self.repeats < 1:
            raise ValueError(f"repeats must be at least 1, got {self.repeats}")
        if not 1 <= self.samples <= 64:
            raise ValueError(f"samples must be between 1 and 64, got {self.samples}")
        if not 0.0 <= self.eta <= 1.0:
            raise ValueError(f"eta must be in [0, 1], got {self.eta}")
        if self.eta and self.scheduler == "ddpm":  # auto/folder: checked against the model
            raise ValueError("eta applies to scheduler=ddim only")
        if self.mask is not None and not Path(self.mask).expanduser().exists():
            raise ValueError(f"mask {self.mask!r}: no such file or folder")


@dataclass(frozen=True)
class SDEditTrainOptions:
    sample_size: int = field(default=32, metadata={"help": "image size the model works at"})
    channels: str = field(default="32,64,64", metadata={"help": "UNet block widths, comma-separated"})
    layers_per_block: int = 1
    attention: bool = field(default=False, metadata={"help": "self-attention in the lowest-resolution block"})
    num_train_timesteps: int = 1000
    beta_start: float = 1e-4
    beta_end: float = 0.02
    lr: float = 2e-4
    ema_decay: float = field(default=0.999, metadata={"help": "EMA of the weights (sampled from)"})
    n_epochs: int = 100
    flip: bool = True

    def __post_init__(self) -> None:
        widths = self.widths
        if not widths or any(w % 8 for w in widths):
            raise ValueError("channels must be a comma-separated list of multiples of 8")
        if self.sample_size % (2 ** (len(widths) - 1)):
            raise ValueError(f"sample_size must be divisible by {2 ** (len(widths) - 1)}")

    @property
    def widths(self) -> tuple[int, ...]:
        try:
            return tuple(int(w) for w in self.channels.split(",") if w.strip())
        except ValueError:
            return ()
