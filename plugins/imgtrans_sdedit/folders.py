"""Diffusers model folders: where their parts are and whether sdedit can use them.

Only file names and JSON are read here (no torch, no diffusers), so the translator can tell
a model folder from other weights cheaply, before anything heavy is imported.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from imgtrans.plugin import WeightsError
from imgtrans_sdedit.options import NAME

# Schedulers whose config describes a discrete beta schedule, so a DDPM or DDIM sampler can
# be built from it (diffusers' KarrasDiffusionSchedulers minus the sigma-based EDM one).
_BETA_SCHEDULERS = frozenset({
    "DDIMScheduler", "DDPMScheduler", "PNDMScheduler", "LMSDiscreteScheduler",
    "EulerDiscreteScheduler", "HeunDiscreteScheduler", "EulerAncestralDiscreteScheduler",
    "DPMSolverMultistepScheduler", "DPMSolverSinglestepScheduler", "KDPM2DiscreteScheduler",
    "KDPM2AncestralDiscreteScheduler", "DEISMultistepScheduler", "UniPCMultistepScheduler",
    "DPMSolverSDEScheduler", "DDIMInverseScheduler", "DDIMParallelScheduler",
    "DDPMParallelScheduler",
})
# Components that make a pipeline latent-space or text-conditioned.
_NOT_PIXEL_SPACE = ("vae", "vqvae", "text_encoder", "tokenizer", "transformer")
_WEIGHT_FILES = ("diffusion_pytorch_model.safetensors", "diffusion_pytorch_model.bin")
_FP16_WEIGHT_FILES = ("diffusion_pytorch_model.fp16.safetensors", "diffusion_pytorch_model.fp16.bin")
EXPECTED_LAYOUT = ("model_index.json, unet/config.json, unet/diffusion_pytorch_model.safetensors "
                   "(or .bin) and scheduler/scheduler_config.json (what DDPMPipeline.save_pretrained "
                   "writes), or the same files side by side in the folder (the layout of the "
                   "google/ddpm-* Hub repositories)")
CHECKPOINT_MODEL = "diffusers"
"""The model folder inside every checkpoint ``imgtrans train sdedit`` writes."""


@dataclass
class ModelLayout:
    """Where the parts of a diffusers model folder are, and its parsed configurations (read
    once, while checking the folder, and used again to build the model)."""

    folder: Path
    unet_dir: Path
    scheduler_dir: Path
    weights_file: Path
    pipeline: str
    unet_config: dict[str, Any]
    scheduler_config: dict[str, Any]

    @property
    def unet_subfolder(self) -> str | None:
        return None if self.unet_dir == self.folder else self.unet_dir.name

    @property
    def variant(self) -> str | None:
        return "fp16" if ".fp16." in self.weights_file.name else None


def read_json(path: Path) -> dict[str, Any]:
    """A JSON object from ``path``; ``WeightsError`` naming the file otherwise."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise WeightsError(f"cannot read {path}: {exc}") from None
    if not isinstance(data, dict):
        raise WeightsError(f"{path}: expected a JSON object")
    return data


def inspect_model_folder(folder: Path) -> ModelLayout:
    """Check that ``folder`` is a diffusers pixel-space model folder and say where its parts
    are. Raises ``WeightsError`` naming every missing file, or what makes it unusable (a
    latent or text-conditioned pipeline, a UNet that is not a ``UNet2DModel``, a scheduler
    without a beta schedule...)."""
    folder = Path(folder)
    if not folder.is_dir():
        what = "is a file" if folder.is_file() else "does not exist"
        raise WeightsError(f"{folder} {what}; sdedit needs a diffusers model folder: {EXPECTED_LAYOUT}")
    flat_unet = not (folder / "unet").is_dir() and (folder / "config.json").is_file()
    flat_scheduler = not (folder / "scheduler").is_dir() and (folder / "scheduler_config.json").is_file()
    unet_dir = folder if flat_unet else folder / "unet"
    scheduler_dir = folder if flat_scheduler else folder / "scheduler"

    def rel(path: Path) -> str:
        return path.relative_to(folder).as_posix()

    missing = []
    if not (folder / "model_index.json").is_file():
        missing.append("model_index.json")
    if not (unet_dir / "config.json").is_file():
        missing.append(rel(unet_dir / "config.json"))
    weights = next((unet_dir / n for n in _WEIGHT_FILES + _FP16_WEIGHT_FILES
                    if (unet_dir / n).is_file()), None)
    if weights is None:
        missing.append(rel(unet_dir / _WEIGHT_FILES[0]) + " (or .bin)")
    if not (scheduler_dir / "scheduler_config.json").is_file():
        missing.append(rel(scheduler_dir / "scheduler_config.json"))
    if missing:
        raise WeightsError(f"{folder} is not a diffusers model folder: missing {', '.join(missing)}. "
                           f"Expected {EXPECTED_LAYOUT}.")
    assert weights is not None
    index = read_json(folder / "model_index.json")
    pipeline = str(index.get("_class_name", "?"))
    latent = [c for c in _NOT_PIXEL_SPACE if c in index]
    if latent:
        raise WeightsError(f"{folder}: {pipeline} has {', '.join(latent)}: a latent-space or "
                           "text-conditioned pipeline; sdedit runs pixel-space models (a UNet2DModel "
                           "and a scheduler, e.g. DDPMPipeline or DDIMPipeline folders)")
    unet_entry = index.get("unet")
    unet_config = read_json(unet_dir / "config.json")
    unet_class = unet_config.get("_class_name") or (unet_entry[1] if isinstance(unet_entry, list)
                                                    and len(unet_entry) == 2 else None)
    if unet_class not in (None, "UNet2DModel"):
        raise WeightsError(f"{folder}: the UNet is a {unet_class}; sdedit needs an unconditional "
                           "UNet2DModel (pixel space)")
    if unet_config.get("in_channels", 3) not in (1, 3):
        raise WeightsError(f"{folder}: the UNet takes {unet_config.get('in_channels')} channels; "
                           "sdedit needs a pixel-space model on 1 (gray) or 3 (RGB) channels")
    if not unet_config.get("sample_size"):
        raise WeightsError(f"{folder}: {rel(unet_dir / 'config.json')} has no sample_size "
                           "(the resolution the model was trained at)")
    scheduler_config = read_json(scheduler_dir / "scheduler_config.json")
    scheduler_class = scheduler_config.get("_class_name")
    if scheduler_class is not None and scheduler_class not in _BETA_SCHEDULERS:
        raise WeightsError(f"{folder}: the model's scheduler is a {scheduler_class}, which has no "
                           "DDPM beta schedule; sdedit needs a DDPM-family (VP) model")
    return ModelLayout(folder, unet_dir, scheduler_dir, weights, pipeline, unet_config, scheduler_config)


def is_model_folder(folder: Path) -> ModelLayout | None:
    """The layout of ``folder`` when it is a diffusers model folder sdedit can load (JSON
    checks only), else None; never raises."""
    try:
        return inspect_model_folder(folder)
    except Exception:
        return None


def locate_model_folder(weights: Any, translator: str = NAME) -> ModelLayout:
    """The model folder resolved weights stand for: the ``diffusers/`` folder inside an
    imgtrans checkpoint written by ``imgtrans train sdedit``, else the folder itself (its
    layout found while identifying it is reused). Raises ``WeightsError`` for another
    translator's checkpoint and for a plain file (diffusers models are folders)."""
    if isinstance(weights.found, ModelLayout):
        return weights.found
    if weights.kind == "checkpoint":
        checkpoint = weights.checkpoint.expect(translator)
        folder = checkpoint.path / CHECKPOINT_MODEL
        if not (folder / "model_index.json").is_file():
            raise WeightsError(f"{checkpoint.path}: a {translator} checkpoint without its model folder "
                               f"({CHECKPOINT_MODEL}/model_index.json)")
        return inspect_model_folder(folder)
    if weights.kind == "file":
        raise WeightsError(f"{weights.path} is a file; sdedit needs a diffusers model folder: {EXPECTED_LAYOUT}")
    return inspect_model_folder(weights.path)
