"""The ``sdedit`` translator on a Stable Diffusion folder: what ``SDEditTranslator.load``
returns when the weights are a latent model (same name, options and contract).

Sizes: any. Each batch is padded right and bottom (reflection) to a multiple of the VAE's
factor (8), edited, and cropped back, so the output has the input's size. Masks are as in
pixel mode (white = edit; one file or a folder matched by stem): blended in latent space
inside the loop, then ``out = m * result + (1 - m) * input`` at the input's resolution, so
kept pixels come back bit for bit. Prompts: the ``prompt`` option, or per file from
``prompts=`` (see ``imgtrans_sdedit.prompts``). Randomness: image ``i`` draws its VAE sample
and its noise from ``context.generators[i]``, as diffusers' img2img pipeline with a list of
generators, so the result equals the pipeline's for the same generators and does not depend
on the batch (up to float rounding in the networks).
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import torch

from imgtrans.plugin import (
    Preprocessing,
    TranslateContext,
    Translator,
    UsageError,
    fast_scope,
    pad_to_multiple,
)
from imgtrans_sdedit.latent import LatentModel, latent_sdedit, load_latent_folder, prompt_embeddings
from imgtrans_sdedit.latent_folders import LatentLayout
from imgtrans_sdedit.options import SDEditOptions
from imgtrans_sdedit.prompts import PromptSource
from imgtrans_sdedit.translator import SDEditTranslator

log = logging.getLogger(__name__)

VAE_TILING_ABOVE = 1024
"""``vae_tiling=auto`` tiles the VAE for (padded) images larger than this on a side."""


class LatentSDEditTranslator(SDEditTranslator):
    """sdedit with a Stable Diffusion model (VAE latents, CLIP text prompts)."""

    def __init__(self, options: SDEditOptions, device: Any, model: LatentModel,
                 mask_file: Any = None, mask_dir: Path | None = None,
                 prompts: PromptSource | None = None) -> None:
        Translator.__init__(self, options, device)  # not SDEditTranslator's: a pixel model's
        self.model, self.mask_file, self.mask_dir = model, mask_file, mask_dir
        self._fitted: dict[tuple[int, int], Any] = {}  # the mask file at each input size
        self.prompts = prompts or PromptSource(options.prompt)

    @classmethod
    def load_layout(cls, layout: LatentLayout, options: SDEditOptions,
                    device: Any) -> "LatentSDEditTranslator":
        from imgtrans_sdedit.masks import mask_arguments
        from imgtrans_sdedit.samplers import resolve_sampler

        resolve_sampler(options.scheduler, layout.scheduler_class, True, options.eta, layout.folder)
        model = load_latent_folder(layout, device)
        if options.steps > model.num_train_timesteps:
            raise UsageError(f"steps={options.steps} is more than the model's "
                             f"{model.num_train_timesteps} training steps")
        return cls(options, device, model, prompts=PromptSource(options.prompt, options.prompts),
                   **mask_arguments(options.mask, device))

    def preprocessing(self) -> Preprocessing:
        # Native size: translate pads to the VAE factor and crops back itself, so that the
        # mask composite happens at the input's resolution.
        return Preprocessing(value_range=(-1.0, 1.0), channels=3, resize="pad", size_multiple=1,
                             interpolation="bicubic")

    def translate(self, images: Any, context: TranslateContext) -> Any:
        """(B, 3, H, W) in [-1, 1] -> (B * samples, 3, H, W) in [-1, 1], image-major; the
        text is encoded once per batch, each sample draws on from the images' generators."""
        samples = self.options.samples
        if self.steps_run == 0:
            return images.repeat_interleave(samples, dim=0)
        names, mask = self._names_and_mask(images, context)
        o = self.options
        prompts = [self.prompts.prompt_for(name) for name in names]
        negatives = [o.negative_prompt] * len(names)
        with torch.no_grad():
            embeddings = prompt_embeddings(self.model, prompts, negatives, o.guidance_scale)
        generators = list(context.generators) or None
        outputs = [self._edit_latent(images, mask, embeddings, generators, names, context)
                   for _ in range(samples)]
        return torch.stack(outputs, dim=1).flatten(0, 1)

    def _edit_latent(self, images: Any, mask: Any, embeddings: Any, generators: Any,
                     names: list[str], context: TranslateContext) -> Any:
        o, factor = self.options, self.model.vae_scale_factor
        height, width = images.shape[-2:]
        padded = pad_to_multiple(images, factor, "reflect")
        loop_mask = None if mask is None else pad_to_multiple(mask, factor, "replicate")

        def on_step(repeat: int, step: int, total: int, repeats: int, timestep: int) -> None:
            log.debug("sdedit %s: repeat %d/%d, step %d/%d (t=%d)", ", ".join(names), repeat + 1,
                      repeats, step + 1, total, timestep)
            context.check_stop()

        result = latent_sdedit(self.model, padded, [], None, strength=o.strength, steps=o.steps,
                               guidance_scale=o.guidance_scale, scheduler=o.scheduler, eta=o.eta,
                               repeats=o.repeats, mask=loop_mask, generator=generators,
                               on_step=on_step, unet_scope=lambda: fast_scope(context),
                               embeddings=embeddings, vae_tiling=self._tiles(padded))
        result = result[..., :height, :width].float().clamp(-1.0, 1.0)
        if mask is not None:
            result = mask * result + (1 - mask) * images  # kept pixels exactly
        return result

    def _tiles(self, padded: Any) -> bool:
        """Whether this batch's VAE passes run in tiles (the ``vae_tiling`` option)."""
        choice = getattr(self.options, "vae_tiling", "auto")
        if choice != "auto":
            return choice == "on"
        return max(padded.shape[-2:]) > VAE_TILING_ABOVE

    def config(self) -> dict[str, Any]:
        from imgtrans_sdedit.samplers import resolve_sampler, sampler_name

        base = super().config()
        o, layout = self.options, self.model.layout
        base["sampler"] = sampler_name(resolve_sampler(o.scheduler, layout.scheduler_class, True,
                                                       o.eta, layout.folder), layout.scheduler_class)
        return base
