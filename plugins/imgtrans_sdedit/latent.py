"""SDEdit on latent diffusion models: Stable Diffusion image-to-image, the algorithm of
diffusers' ``StableDiffusionImg2ImgPipeline`` (which cites SDEdit) as plain functions, and
loading a Stable Diffusion folder (found and checked by ``imgtrans_sdedit.latent_folders``).

The steps, in the pipeline's order (so the same generators give the same result):

1. Prompts: each text is tokenized to the tokenizer's ``model_max_length`` and encoded; with
   classifier-free guidance (``guidance_scale > 1`` and a UNet without a guidance embedding)
   the negative prompt (default ``""``) is encoded too.
2. Timesteps: ``set_timesteps(steps)``, then the last ``steps_to_run(steps, strength)`` of
   them (``imgtrans_sdedit.sdedit.edit_timesteps``, diffusers' ``get_timesteps``).
3. Latents: image ``i`` (in [-1, 1], H and W multiples of the VAE factor) is encoded alone and
   its latent distribution sampled with ``generator[i]``, times the VAE's scaling factor;
   then noise from the same generators and ``add_noise`` at the first timestep.
4. Loop: ``scale_model_input``, the UNet on the unconditional and the conditional batch
   together, ``uncond + g * (cond - uncond)``, ``scheduler.step``.
5. Masked editing (mask 1 = edit): after every step the kept latents are replaced by the
   guide's latents noised to the next level with the same noise (the last step: the guide's
   latents); the exact pixel composite is the translator's.
6. ``repeats`` K > 1 chains step 3-5 in latent space; then ``vae.decode(latents / scaling)``.

Loading: the UNet and the VAE are built from their configs on the meta device and given the
tensors of their weights files (read once, safely); the CLIP text encoders and tokenizers are
transformers' ``from_pretrained`` on the local folder (``local_files_only``, safetensors when
present: ``.bin`` files go through ``torch.load(weights_only=True)``), never remote code.
"""

from __future__ import annotations

import contextlib
import inspect
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import torch
import torch.nn.functional as F
from diffusers import AutoencoderKL, UNet2DConditionModel
from diffusers.utils.torch_utils import randn_tensor

from imgtrans.plugin import WeightsError, build_network, load_state_dict
from imgtrans_sdedit.latent_folders import LatentLayout, inspect_latent_folder
from imgtrans_sdedit.samplers import make_sampler, resolve_sampler
from imgtrans_sdedit.sdedit import edit_timesteps, steps_to_run

log = logging.getLogger(__name__)

_TEXT_ENCODERS = ("CLIPTextModel", "CLIPTextModelWithProjection")


# -- loading ---------------------------------------------------------------------------------

@dataclass(frozen=True)
class DiffusersRecipe:
    """A diffusers model class and its configuration, buildable by ``build_network``."""

    cls: Any
    config: dict[str, Any]

    def build(self) -> Any:
        return self.cls.from_config(self.config)

    def describe(self) -> str:
        return self.cls.__name__


@dataclass
class LatentModel:
    """A loaded Stable Diffusion model: UNet, VAE, text encoders and tokenizers, the scheduler
    config, and the folder's layout."""

    unet: Any
    vae: Any
    text_encoders: list[Any]
    tokenizers: list[Any]
    scheduler_config: dict[str, Any]
    layout: LatentLayout

    @property
    def vae_scale_factor(self) -> int:
        return 2 ** (len(self.vae.config.block_out_channels) - 1)

    @property
    def num_train_timesteps(self) -> int:
        return int(self.scheduler_config.get("num_train_timesteps", 1000))

    @property
    def takes_text(self) -> bool:
        return bool(self.text_encoders)

    def describe(self) -> dict[str, Any]:
        return {**self.layout.describe(), "vae_scale_factor": self.vae_scale_factor,
                "parameters": sum(p.numel() for m in (self.unet, self.vae, *self.text_encoders)
                                  for p in m.parameters())}


def _diffusers_part(layout: LatentLayout, part: str, cls: Any, config: dict[str, Any]) -> Any:
    recipe = DiffusersRecipe(cls, config)
    state = load_state_dict(layout.weights[part])
    with torch.device("meta"):
        skeleton = recipe.build()
    if hasattr(skeleton, "_fix_state_dict_keys_on_load"):
        skeleton._fix_state_dict_keys_on_load(state)  # pre-0.14 attention keys, as from_pretrained
    try:
        return build_network(recipe, state)
    except WeightsError as exc:
        raise WeightsError(f"{layout.folder}: cannot load {part}/ from "
                           f"{layout.weights[part].name}: {exc}") from exc


def _transformers_parts(layout: LatentLayout) -> tuple[list[Any], list[Any]]:
    try:
        import transformers
    except ImportError:
        raise WeightsError(f"{layout.folder}: a text-conditioned model needs the transformers "
                           "package (pip install 'imgtrans[sd]')") from None
    encoders = []
    for part in layout.text_encoders:
        entry = layout.index.get(part)
        name = entry[1] if isinstance(entry, list) and len(entry) == 2 else "CLIPTextModel"
        if name not in _TEXT_ENCODERS:
            raise WeightsError(f"{layout.folder}: the text encoder {part}/ is a {name}; sdedit "
                               f"loads {' and '.join(_TEXT_ENCODERS)}")
        weights = layout.weights[part]
        variant = "fp16" if ".fp16." in weights.name else None
        try:
            model = getattr(transformers, name).from_pretrained(
                layout.folder / part, local_files_only=True, variant=variant,
                use_safetensors=weights.suffix == ".safetensors")
        except (OSError, ValueError) as exc:
            raise WeightsError(f"{layout.folder}: cannot load {part}/: {exc}") from exc
        encoders.append(model.float().eval())
    tokenizers = []
    for part in layout.tokenizers:
        try:
            tokenizers.append(transformers.CLIPTokenizer.from_pretrained(layout.folder / part,
                                                                         local_files_only=True))
        except (OSError, ValueError) as exc:
            raise WeightsError(f"{layout.folder}: cannot load {part}/: {exc}") from exc
    return encoders, tokenizers


def load_latent_folder(folder: Path | LatentLayout, device: Any = None) -> LatentModel:
    """Load a Stable Diffusion folder (or its layout, already inspected) in eval mode,
    float32, on ``device``."""
    layout = folder if isinstance(folder, LatentLayout) else inspect_latent_folder(folder)
    if not layout.text_encoders:
        raise WeightsError(f"{layout.folder}: {layout.pipeline} has no text encoder; sdedit runs "
                           "text-conditioned Stable Diffusion models")
    unet = _diffusers_part(layout, "unet", UNet2DConditionModel, layout.unet_config)
    vae = _diffusers_part(layout, "vae", AutoencoderKL, layout.vae_config)
    encoders, tokenizers = _transformers_parts(layout) if layout.text_encoders else ([], [])
    if device is not None:
        unet, vae = unet.to(device), vae.to(device)
        encoders = [e.to(device) for e in encoders]
    return LatentModel(unet, vae, encoders, tokenizers, layout.scheduler_config, layout)


# -- the algorithm -----------------------------------------------------------------------------

def encode_text(model: LatentModel, texts: list[str]) -> torch.Tensor:
    """(B, 77, D) CLIP embeddings of ``texts``, as the SD pipelines' ``encode_prompt``."""
    tokenizer, encoder = model.tokenizers[0], model.text_encoders[0]
    # the tokenizer's length (77), bounded by the encoder's positions for a tokenizer saved
    # without one (transformers then says 1e30)
    length = min(int(tokenizer.model_max_length), int(encoder.config.max_position_embeddings))
    tokens = tokenizer(texts, padding="max_length", max_length=length, truncation=True,
                       return_tensors="pt")
    device = next(encoder.parameters()).device
    mask = tokens.attention_mask.to(device) if getattr(encoder.config, "use_attention_mask", False) else None
    return encoder(tokens.input_ids.to(device), attention_mask=mask)[0]


def uses_guidance(model: LatentModel, guidance_scale: float) -> bool:
    """Classifier-free guidance: two UNet passes per step, as diffusers decides it."""
    return guidance_scale > 1 and model.unet.config.time_cond_proj_dim is None


def guidance_embedding(w: torch.Tensor, dim: int) -> torch.Tensor:
    """The guidance-scale embedding of LCM-distilled UNets (diffusers'
    ``get_guidance_scale_embedding``): (B,) -> (B, dim)."""
    w = w * 1000.0
    half = dim // 2
    scale = torch.log(torch.tensor(10000.0)) / (half - 1)
    freqs = torch.exp(torch.arange(half, dtype=torch.float32) * -scale)
    emb = w.to(torch.float32)[:, None] * freqs[None, :]
    emb = torch.cat([torch.sin(emb), torch.cos(emb)], dim=1)
    return F.pad(emb, (0, 1)) if dim % 2 else emb


@dataclass
class Conditioning:
    """What the UNet is conditioned on for one batch: the text embeddings (B, 77, D), the
    unconditional ones with classifier-free guidance (else None), and SDXL's pooled text
    embeddings (B, P) for both (else None)."""

    text: torch.Tensor
    uncond: torch.Tensor | None = None
    pooled: torch.Tensor | None = None
    pooled_uncond: torch.Tensor | None = None


def latent_sdedit(model: LatentModel, images: torch.Tensor, prompts: list[str],
                  negative_prompts: list[str] | None = None, *, strength: float, steps: int,
                  guidance_scale: float = 7.5, scheduler: str = "auto", eta: float = 0.0,
                  repeats: int = 1, mask: torch.Tensor | None = None, generator: Any = None,
                  on_step: Callable[[int, int, int, int, int], None] | None = None,
                  unet_scope: Callable[[], Any] = contextlib.nullcontext,
                  embeddings: Conditioning | None = None, vae_tiling: bool = False) -> torch.Tensor:
    """Stable Diffusion img2img (SDEdit) of ``images``: float (B, 3, H, W) in [-1, 1], H and W
    multiples of ``model.vae_scale_factor``; returns (B, 3, H, W), unclamped, as the
    pipeline's decoded image.

    ``prompts``/``negative_prompts``: one text per image (None: ``""``). ``mask``: None or
    float (B or 1, 1, H, W), 1 = edit; blended in latent space only (area-downscaled, > 0).
    ``generator``: one ``torch.Generator`` per image (diffusers' list convention), so an
    image's result does not depend on its batch. ``embeddings``: the ``prompt_embeddings``
    of the batch already computed (for several samples of one batch). ``scheduler``: ``auto``
    / ``folder`` (the folder's own sampler), ``ddim`` or ``ddpm`` (``imgtrans_sdedit.samplers``);
    each repeat gets a fresh sampler (multistep samplers keep a history). ``vae_tiling``:
    encode and decode in overlapping tiles of the VAE's ``sample_size`` (diffusers'
    ``enable_vae_tiling``, so large images fit in memory; tile seams are blended).
    Returns ``images`` itself when no step runs.
    """
    n = steps_to_run(steps, strength)
    if n == 0:
        return images
    with torch.no_grad():
        if embeddings is None:
            embeddings = prompt_embeddings(model, prompts, negative_prompts, guidance_scale)
        folder_class = model.layout.scheduler_class
        choice = resolve_sampler(scheduler, folder_class, True, eta, model.layout.folder)

        def new_sampler() -> tuple[Any, Any]:
            sampler = make_sampler(model.scheduler_config, choice, steps, device=images.device,
                                   folder_class=folder_class)
            return sampler, edit_timesteps(sampler, steps, strength)

        generators = generator if isinstance(generator, list) else [generator] * images.shape[0]
        with tiled_vae(model.vae, vae_tiling):
            guide = encode_images(model, images, generators)
        if mask is not None:
            mask = F.interpolate(mask, size=guide.shape[-2:], mode="area").gt(0).to(guide.dtype)
        x = _denoise(model, new_sampler, guide, embeddings, guidance_scale, mask, repeats,
                     generator, eta, on_step, unet_scope)
        with tiled_vae(model.vae, vae_tiling):
            return decode_latents(model, x)


@contextlib.contextmanager
def tiled_vae(vae: Any, on: bool) -> Any:
    """Within the block, ``vae`` encodes and decodes inputs larger than its ``sample_size``
    in tiles (diffusers' ``AutoencoderKL.use_tiling``), when ``on``."""
    before = getattr(vae, "use_tiling", False)
    vae.use_tiling = bool(on) or before
    try:
        yield vae
    finally:
        vae.use_tiling = before


def prompt_embeddings(model: LatentModel, prompts: list[str], negative_prompts: list[str] | None,
                      guidance_scale: float) -> Conditioning:
    """The text conditioning of one batch (an empty negative prompt is diffusers' None)."""
    guided = uses_guidance(model, guidance_scale)
    negatives = [n or "" for n in negative_prompts] if negative_prompts else [""] * len(prompts)
    if model.layout.family == "sdxl":
        from imgtrans_sdedit.sdxl import sdxl_conditioning

        return sdxl_conditioning(model, prompts, negatives, guided)
    cond = encode_text(model, prompts)
    return Conditioning(cond, encode_text(model, negatives) if guided else None)


def encode_images(model: LatentModel, images: torch.Tensor, generators: list[Any]) -> torch.Tensor:
    """Scaled VAE latents of ``images``, each sampled from its own generator."""
    latents = torch.cat([model.vae.encode(images[i:i + 1]).latent_dist.sample(generators[i])
                         for i in range(images.shape[0])])
    mean, std = _latent_stats(model, latents)
    if mean is not None:
        return (latents - mean) * model.vae.config.scaling_factor / std
    return model.vae.config.scaling_factor * latents


def decode_latents(model: LatentModel, latents: torch.Tensor) -> torch.Tensor:
    """Images in [-1, 1] (unclamped) from scaled latents."""
    mean, std = _latent_stats(model, latents)
    if mean is not None:
        latents = latents * std / model.vae.config.scaling_factor + mean
    else:
        latents = latents / model.vae.config.scaling_factor
    return model.vae.decode(latents, return_dict=False)[0]


def _latent_stats(model: LatentModel, like: torch.Tensor) -> tuple[Any, Any]:
    """The VAE's per-channel latent mean and std when its config has them (SDXL pipelines
    use them then), else (None, None)."""
    mean = getattr(model.vae.config, "latents_mean", None)
    std = getattr(model.vae.config, "latents_std", None)
    if mean is None or std is None:
        return None, None
    shape = (1, len(mean), 1, 1)
    return (torch.tensor(mean).view(shape).to(like), torch.tensor(std).view(shape).to(like))


def _step_kwargs(sampler: Any, generator: Any, eta: float) -> dict[str, Any]:
    accepted = set(inspect.signature(sampler.step).parameters)
    kwargs: dict[str, Any] = {}
    if "eta" in accepted:
        kwargs["eta"] = eta
    if "generator" in accepted:
        kwargs["generator"] = generator
    return kwargs


def _denoise(model: LatentModel, new_sampler: Callable[[], tuple[Any, Any]], guide: torch.Tensor,
             embeddings: Conditioning, guidance_scale: float,
             mask: torch.Tensor | None, repeats: int, generator: Any, eta: float,
             on_step: Callable[..., None] | None, unet_scope: Callable[[], Any]) -> torch.Tensor:
    uncond = embeddings.uncond
    text = embeddings.text if uncond is None else torch.cat([uncond, embeddings.text])
    batch = guide.shape[0]
    added = None
    if embeddings.pooled is not None:
        from imgtrans_sdedit.sdxl import added_conditions

        added = added_conditions(model, embeddings, guide.shape[-2:], batch)
    timestep_cond = None
    if model.unet.config.time_cond_proj_dim is not None:
        w = torch.tensor(guidance_scale - 1).repeat(batch)
        timestep_cond = guidance_embedding(w, model.unet.config.time_cond_proj_dim).to(guide.device)
    x = guide
    for repeat in range(repeats):
        sampler, timesteps = new_sampler()
        step_kwargs = _step_kwargs(sampler, generator, eta)
        noise = randn_tensor(guide.shape, generator=generator, device=guide.device, dtype=guide.dtype)
        x = sampler.add_noise(guide, noise, timesteps[:1].repeat(batch))
        for i, t in enumerate(timesteps):
            inputs = x if uncond is None else torch.cat([x, x])
            inputs = sampler.scale_model_input(inputs, t)
            with unet_scope():
                eps = model.unet(inputs, t, encoder_hidden_states=text, timestep_cond=timestep_cond,
                                 added_cond_kwargs=added, return_dict=False)[0]
            eps = eps.float()
            if uncond is not None:
                eps_uncond, eps_text = eps.chunk(2)
                eps = eps_uncond + guidance_scale * (eps_text - eps_uncond)
            x = sampler.step(eps, t, x, **step_kwargs, return_dict=False)[0]
            if mask is not None:
                known = (sampler.add_noise(guide, noise, timesteps[i + 1:i + 2])
                         if i + 1 < len(timesteps) else guide)
                x = mask * x + (1 - mask) * known
            if on_step is not None:
                on_step(repeat, i, len(timesteps), repeats, int(t))
        guide = x
    return x
