"""Which sampler a run uses (``--opt scheduler=``): the model folder's own, or DDIM/DDPM built
from its beta schedule. Torch-free, so options are checked before anything heavy loads.

* ``auto`` (the default): ``folder`` for Stable Diffusion models, ``ddim`` for pixel ones.
* ``folder``: the scheduler class the folder's ``model_index.json`` names (else the one its
  ``scheduler/scheduler_config.json`` names), with that configuration as it is: exactly what
  diffusers' img2img pipelines loaded from the folder use (Euler Ancestral for SD/SDXL-Turbo, LCM for LCM distillations, PNDM for
  the SD 1.x releases...). Classes from ``FOLDER_SAMPLERS`` only: the samplers diffusers'
  Stable Diffusion img2img pipelines accept, minus those needing extra packages.
* ``ddim`` / ``ddpm``: built from the folder's beta schedule with ``clip_sample=False``
  (pixel models: the reference SDEdit code's samplers).
"""

from __future__ import annotations

from typing import Any

from imgtrans.plugin import UsageError

FOLDER_SAMPLERS = frozenset({
    "DDIMScheduler", "DDPMScheduler", "PNDMScheduler", "LMSDiscreteScheduler",
    "EulerDiscreteScheduler", "EulerAncestralDiscreteScheduler", "HeunDiscreteScheduler",
    "DPMSolverMultistepScheduler", "DPMSolverSinglestepScheduler", "KDPM2DiscreteScheduler",
    "KDPM2AncestralDiscreteScheduler", "DEISMultistepScheduler", "UniPCMultistepScheduler",
    "LCMScheduler", "TCDScheduler",
})
"""Scheduler classes ``scheduler=folder`` runs (diffusers' KarrasDiffusionSchedulers without
DPMSolverSDE, which needs torchsde, and EDM, which has no beta schedule; plus LCM and TCD)."""
_TAKE_ETA = frozenset({"DDIMScheduler", "TCDScheduler"})


def resolve_sampler(choice: str, folder_class: str | None, latent: bool, eta: float,
                    where: Any) -> str:
    """The sampler a run uses: ``"ddim"``, ``"ddpm"`` or ``"folder"``, checked against the
    model (``latent``: a Stable Diffusion folder whose scheduler class is ``folder_class``)
    and ``eta``. ``UsageError`` says why not.

    ``auto`` on a folder whose scheduler is none of ``FOLDER_SAMPLERS`` falls back to DDIM."""
    name = str(folder_class)
    if choice == "auto":
        choice = "folder" if latent and name in FOLDER_SAMPLERS else "ddim"
    if choice == "folder":
        if not latent:
            raise UsageError("scheduler=folder is for Stable Diffusion models; pixel-space models "
                             "run scheduler=ddim or scheduler=ddpm")
        if name not in FOLDER_SAMPLERS:
            raise UsageError(f"scheduler=folder: {where} ships a {name}, which sdedit does not run "
                             "(use scheduler=ddim or scheduler=ddpm)")
        if eta and name not in _TAKE_ETA:
            raise UsageError(f"eta applies to DDIM (and TCD) samplers; {where} ships a {name} "
                             "(use scheduler=ddim, or eta=0)")
    elif eta and choice != "ddim":
        raise UsageError("eta applies to scheduler=ddim only")
    return choice


def sampler_name(choice: str, folder_class: str | None) -> str:
    """The diffusers class name a resolved choice builds."""
    if choice == "folder":
        return str(folder_class)
    return "DDIMScheduler" if choice == "ddim" else "DDPMScheduler"


def make_sampler(scheduler_config: dict[str, Any], choice: str, steps: int, device: Any = None,
                 folder_class: str | None = None) -> Any:
    """A fresh sampler with its timesteps set for ``steps`` inference steps: the folder's own
    class ``folder_class`` with its configuration (``folder``), or
    ``imgtrans_sdedit.sdedit.make_scheduler``'s DDIM/DDPM with clipping off."""
    if choice != "folder":
        from imgtrans_sdedit.sdedit import make_scheduler

        return make_scheduler(scheduler_config, choice, steps, device=device)
    import diffusers

    name = sampler_name(choice, folder_class)
    if name not in FOLDER_SAMPLERS:
        raise ValueError(f"scheduler=folder does not run a {name}")
    sampler = getattr(diffusers, name).from_config(dict(scheduler_config))
    sampler.set_timesteps(steps, device=device)
    return sampler
