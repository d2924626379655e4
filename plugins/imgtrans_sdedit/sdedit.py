"""SDEdit as plain functions on tensors, and loading a diffusers model folder (found and
checked by ``imgtrans_sdedit.folders``).

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
"""

from __future__ import annotations

import contextlib
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import torch
from diffusers import DDIMScheduler, DDPMScheduler, UNet2DModel
from diffusers.utils.torch_utils import randn_tensor

from imgtrans.plugin import WeightsError, build_network, load_state_dict
from imgtrans_sdedit.folders import ModelLayout, inspect_model_folder

log = logging.getLogger(__name__)

SCHEDULERS = ("ddim", "ddpm")


# -- the algorithm -------------------------------------------------------------------------

def steps_to_run(steps: int, strength: float) -> int:
    """How many denoising steps SDEdit runs: ``min(int(steps * strength), steps)``.

    This is diffusers' img2img rule: the truncation means that a small ``strength`` with few
    ``steps`` runs no step at all (the input comes back unchanged)."""
    return min(int(steps * strength), steps)


def make_scheduler(scheduler_config: dict[str, Any], kind: str, steps: int, device: Any = None) -> Any:
    """A fresh DDIM or DDPM sampler built from a model's scheduler config, with clipping off
    (as the reference code), its timesteps set for ``steps`` inference steps."""
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
           generator: Any = None, on_step: Callable[[int, int, int, int, int], None] | None = None,
           unet_scope: Callable[[], Any] = contextlib.nullcontext) -> Any:
    """SDEdit of ``x0``: float (B, C, S, S) in [-1, 1] at the model's resolution.

    ``mask``: None, or float (B or 1, 1, S, S) in [0, 1] with 1 = edit, 0 = keep; kept pixels
    come back exactly as in ``x0``. All noise (the perturbation of each repeat, DDPM and
    DDIM-with-eta step noise) is drawn from ``generator``, in a fixed order, so the same
    generator state gives the same result. ``generator`` may be a list with one generator
    per image (diffusers' convention): image ``i`` then draws exactly the noise it would draw
    alone from ``generator[i]``, so its result does not depend on the batch (up to float
    rounding in the UNet). ``on_step(repeat, step, total steps, repeats, timestep)`` is
    called after every denoising step. ``unet_scope()`` is entered around each UNet call
    only (e.g. bf16 autocast): the sampler's arithmetic stays fp32.

    Returns ``x0`` itself (not a copy) when no step runs (``steps_to_run`` is 0).
    """
    n = steps_to_run(steps, strength)
    if n == 0:
        return x0
    sampler = make_scheduler(scheduler_config, scheduler, steps, device=x0.device)
    timesteps = edit_timesteps(sampler, steps, strength)
    step_kwargs: dict[str, Any] = {"generator": generator}
    if scheduler == "ddim":
        step_kwargs["eta"] = eta
    with torch.no_grad():
        return _run(unet, sampler, timesteps, x0, mask, repeats, generator, step_kwargs, on_step,
                    unet_scope)


def _run(unet: Any, sampler: Any, timesteps: Any, x0: Any, mask: Any, repeats: int, generator: Any,
         step_kwargs: dict[str, Any], on_step: Callable[..., None] | None,
         unet_scope: Callable[[], Any]) -> Any:
    guide = x0
    x = x0
    for repeat in range(repeats):
        noise = randn_tensor(guide.shape, generator=generator, device=guide.device, dtype=guide.dtype)
        x = sampler.add_noise(guide, noise, timesteps[:1])
        for i, t in enumerate(timesteps):
            with unet_scope():
                eps = unet(x, t).sample
            eps = eps.float()  # no copy when already fp32
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


@dataclass(frozen=True)
class UNetRecipe:
    """A diffusers ``UNet2DModel`` configuration, buildable by ``build_network``."""

    config: dict[str, Any]

    def build(self) -> Any:
        return UNet2DModel.from_config(self.config)

    def describe(self) -> str:
        return f"UNet2DModel ({self.config.get('sample_size')} px)"


def load_model_folder(folder: Path | ModelLayout, device: Any = None) -> DiffusionModel:
    """Load the UNet (in eval mode, float32, on ``device``) and the scheduler config of a
    diffusers model folder (or its layout, already inspected). The UNet is built from the
    parsed config on the meta device and given the weights file's tensors (read once,
    safely), with diffusers' renaming of pre-0.14 attention keys, as ``from_pretrained``."""
    layout = folder if isinstance(folder, ModelLayout) else inspect_model_folder(folder)
    recipe = UNetRecipe(layout.unet_config)
    state = load_state_dict(layout.weights_file)
    with torch.device("meta"):
        skeleton = recipe.build()
    if hasattr(skeleton, "_fix_state_dict_keys_on_load"):
        skeleton._fix_state_dict_keys_on_load(state)
    try:
        unet = build_network(recipe, state)
    except WeightsError as exc:
        raise WeightsError(f"{layout.folder}: cannot load the UNet from {layout.weights_file.name}: "
                           f"{exc}") from exc
    if device is not None:
        unet = unet.to(device)
    return DiffusionModel(unet, layout.scheduler_config, layout)
