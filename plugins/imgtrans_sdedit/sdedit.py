"""SDEdit as plain functions on tensors, and the loader of diffusers model folders.

The algorithm (Meng et al., "SDEdit: Guided Image Synthesis and Editing with Stochastic
Differential Equations", ICLR 2022), in the VP-SDE/DDPM form of the reference code, mapped
onto diffusers (see ``shared/reference/sdedit.md`` §4):

1. ``scheduler.set_timesteps(steps)``; of its ``steps`` timesteps, only the last
   ``steps_to_run(steps, strength) = min(int(steps * strength), steps)`` are run (diffusers'
   img2img rule, so ``strength`` is the paper's ``t0``). With DDPM and ``steps=1000`` and
   ``strength=0.5`` this is exactly the reference loop (timesteps 499...0).
2. Perturb the guide: ``x = add_noise(x0, e, t_first)`` with ``e ~ N(0, I)``.
3. Reverse: ``x = step(unet(x, t), t, x)`` for each remaining timestep ``t``.
4. Masked editing (mask 1 = edit, 0 = keep; the diffusers inpainting convention, the
   inverse of the reference code's): after every step the kept region is replaced by the
   guide noised to the next level with the same ``e``, and at the end by the guide itself.
5. ``repeats`` K > 1 chains the procedure: each repeat draws fresh noise and starts from the
   previous repeat's output (inside the edit region only, when masked).

The samplers are built from the model's own scheduler config with ``clip_sample=False``:
the reference code never clips x or the predicted x0 (the Hub configs say
``clip_sample: true``, which would change the result).

Nothing here imports torch or diffusers at module level.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

from imgtrans.errors import WeightsError

log = logging.getLogger(__name__)

SCHEDULERS = ("ddim", "ddpm")

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


# -- the algorithm -------------------------------------------------------------------------

def steps_to_run(steps: int, strength: float) -> int:
    """How many denoising steps SDEdit runs: ``min(int(steps * strength), steps)``.

    This is diffusers' img2img rule: the truncation means that a small ``strength`` with few
    ``steps`` runs no step at all (the input comes back unchanged)."""
    return min(int(steps * strength), steps)


def make_scheduler(scheduler_config: dict[str, Any], kind: str, steps: int, device: Any = None) -> Any:
    """A fresh DDIM or DDPM sampler built from a model's scheduler config, with clipping off
    (as the reference code), its timesteps set for ``steps`` inference steps."""
    from diffusers import DDIMScheduler, DDPMScheduler

    if kind not in SCHEDULERS:
        raise ValueError(f"scheduler must be one of {', '.join(SCHEDULERS)}, not {kind!r}")
    cls = DDIMScheduler if kind == "ddim" else DDPMScheduler
    config = {k: v for k, v in scheduler_config.items() if not k.startswith("_")}
    scheduler = cls.from_config(config, clip_sample=False)
    scheduler.set_timesteps(steps, device=device)
    return scheduler


def edit_timesteps(scheduler: Any, steps: int, strength: float) -> Any:
    """The timesteps SDEdit runs: the last ``steps_to_run(steps, strength)`` of the
    scheduler's ``steps``-step schedule (highest noise level first)."""
    start = steps - steps_to_run(steps, strength)
    if hasattr(scheduler, "set_begin_index"):
        scheduler.set_begin_index(start * scheduler.order)
    return scheduler.timesteps[start * scheduler.order:]


def sdedit(unet: Any, scheduler_config: dict[str, Any], x0: Any, *, strength: float, steps: int,
           scheduler: str = "ddim", eta: float = 0.0, repeats: int = 1, mask: Any = None,
           generator: Any = None, on_step: Callable[[int, int, int, int, int], None] | None = None) -> Any:
    """SDEdit of ``x0``: float (B, C, S, S) in [-1, 1] at the model's resolution.

    ``mask``: None, or float (B or 1, 1, S, S) in [0, 1] with 1 = edit, 0 = keep; kept pixels
    come back exactly as in ``x0``. All noise (the perturbation of each repeat, DDPM and
    DDIM-with-eta step noise) is drawn from ``generator``, in a fixed order, so the same
    generator state gives the same result; a batch draws its noise as one tensor, so call
    this per image when results must not depend on batching. ``on_step(repeat, step, total
    steps, repeats, timestep)`` is called after every denoising step.

    Returns ``x0`` itself (not a copy) when no step runs (``steps_to_run`` is 0).
    """
    import torch

    n = steps_to_run(steps, strength)
    if n == 0:
        return x0
    sampler = make_scheduler(scheduler_config, scheduler, steps, device=x0.device)
    timesteps = edit_timesteps(sampler, steps, strength)
    step_kwargs: dict[str, Any] = {"generator": generator}
    if scheduler == "ddim":
        step_kwargs["eta"] = eta
    with torch.no_grad():
        return _run(unet, sampler, timesteps, x0, mask, repeats, generator, step_kwargs, on_step)


def _run(unet: Any, sampler: Any, timesteps: Any, x0: Any, mask: Any, repeats: int, generator: Any,
         step_kwargs: dict[str, Any], on_step: Callable[..., None] | None) -> Any:
    import torch

    guide = x0
    x = x0
    for repeat in range(repeats):
        noise = torch.randn(guide.shape, generator=generator, device=guide.device, dtype=guide.dtype)
        x = sampler.add_noise(guide, noise, timesteps[:1])
        for i, t in enumerate(timesteps):
            eps = unet(x, t).sample
            if eps.shape[1] == 2 * x.shape[1] and not _splits_variance(sampler):
                eps = eps[:, :x.shape[1]]  # learned-variance model: keep the noise prediction
            x = sampler.step(eps, t, x, **step_kwargs).prev_sample
            if mask is not None:
                if i + 1 < len(timesteps):
                    known = sampler.add_noise(guide, noise, timesteps[i + 1:i + 2])
                else:
                    known = guide
                x = mask * x + (1 - mask) * known
            if on_step is not None:
                on_step(repeat, i, len(timesteps), repeats, int(t))
        guide = x  # chained repeats: the next one refines this result
    return x


def _splits_variance(sampler: Any) -> bool:
    return getattr(sampler.config, "variance_type", None) in ("learned", "learned_range")


# -- model folders -------------------------------------------------------------------------

@dataclass
class ModelLayout:
    """Where the parts of a diffusers model folder are."""

    folder: Path
    unet_dir: Path
    scheduler_dir: Path
    weights_file: Path
    pipeline: str

    @property
    def unet_subfolder(self) -> str | None:
        return None if self.unet_dir == self.folder else self.unet_dir.name

    @property
    def variant(self) -> str | None:
        return "fp16" if ".fp16." in self.weights_file.name else None


@dataclass
class DiffusionModel:
    """A loaded pixel-space diffusion model: the UNet and its scheduler config."""

    unet: Any
    scheduler_config: dict[str, Any]
    layout: ModelLayout

    @property
    def sample_size(self) -> tuple[int, int]:
        """(H, W) the UNet was trained at."""
        size = self.unet.config.sample_size
        return (int(size), int(size)) if isinstance(size, int) else (int(size[0]), int(size[1]))

    @property
    def channels(self) -> int:
        return int(self.unet.config.in_channels)

    @property
    def num_train_timesteps(self) -> int:
        return int(self.scheduler_config.get("num_train_timesteps", 1000))

    def describe(self) -> dict[str, Any]:
        return {"folder": str(self.layout.folder), "pipeline": self.layout.pipeline,
                "sample_size": list(self.sample_size), "channels": self.channels,
                "trained_scheduler": self.scheduler_config.get("_class_name"),
                "num_train_timesteps": self.num_train_timesteps,
                "parameters": sum(p.numel() for p in self.unet.parameters())}


def _read_json(path: Path) -> dict[str, Any]:
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
    index = _read_json(folder / "model_index.json")
    pipeline = str(index.get("_class_name", "?"))
    latent = [c for c in _NOT_PIXEL_SPACE if c in index]
    if latent:
        raise WeightsError(f"{folder}: {pipeline} has {', '.join(latent)}: a latent-space or "
                           "text-conditioned pipeline; sdedit runs pixel-space models (a UNet2DModel "
                           "and a scheduler, e.g. DDPMPipeline or DDIMPipeline folders)")
    unet_entry = index.get("unet")
    unet_config = _read_json(unet_dir / "config.json")
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
    scheduler_config = _read_json(scheduler_dir / "scheduler_config.json")
    scheduler_class = scheduler_config.get("_class_name")
    if scheduler_class is not None and scheduler_class not in _BETA_SCHEDULERS:
        raise WeightsError(f"{folder}: the model's scheduler is a {scheduler_class}, which has no "
                           "DDPM beta schedule; sdedit needs a DDPM-family (VP) model")
    return ModelLayout(folder, unet_dir, scheduler_dir, weights, pipeline)


def load_model_folder(folder: Path, device: Any = None) -> DiffusionModel:
    """Load the UNet (in eval mode, float32, on ``device``) and the scheduler config of a
    diffusers model folder, fully offline (``local_files_only``)."""
    layout = inspect_model_folder(folder)
    from diffusers import UNet2DModel

    # low_cpu_mem_usage=False: the same loading, without diffusers' advice to install accelerate
    kwargs: dict[str, Any] = {"local_files_only": True, "low_cpu_mem_usage": False}
    if layout.unet_subfolder:
        kwargs["subfolder"] = layout.unet_subfolder
    if layout.variant:
        kwargs["variant"] = layout.variant
    try:
        unet = UNet2DModel.from_pretrained(str(layout.folder), **kwargs)
    except Exception as exc:
        raise WeightsError(f"{layout.folder}: cannot load the UNet from {layout.weights_file.name}: "
                           f"{type(exc).__name__}: {exc}") from exc
    unet = unet.float().eval()
    if device is not None:
        unet = unet.to(device)
    return DiffusionModel(unet, _read_json(layout.scheduler_dir / "scheduler_config.json"), layout)


def locate_model_folder(weights: Path) -> Path:
    """The model folder ``weights`` stands for: the folder itself, or the ``diffusers/``
    folder inside an imgtrans checkpoint or run folder written by ``imgtrans train sdedit``.
    Raises ``WeightsError`` for a plain file (diffusers models are folders)."""
    weights = Path(weights)
    for inner in (weights / "diffusers", weights / "checkpoints" / "latest" / "diffusers"):
        if (inner / "model_index.json").is_file():  # an imgtrans training checkpoint or run
            return inner
    if weights.is_file():
        raise WeightsError(f"{weights} is a file; sdedit needs a diffusers model folder: {EXPECTED_LAYOUT}")
    return weights
