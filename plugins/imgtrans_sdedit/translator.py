"""The ``sdedit`` translator: SDEdit guided image synthesis and editing with a pixel-space
diffusion model (a diffusers model folder: ``UNet2DModel`` + a DDPM-family scheduler).

Sizes: these UNets work at one resolution (``sample_size``, e.g. 32 or 256). The translator
takes images at their own size (``Preprocessing(resize="pad")`` with no padding), resizes
each one to the model's size itself (bicubic, antialiased), runs SDEdit, and resizes the
result back to the input's size; the output always has the input's size. Doing the resizing
here rather than with ``resize="fixed"`` is what makes masks exact: the final composite
``out = m * result + (1 - m) * input`` happens at the input's resolution, so pixels outside
the mask come back bit for bit (the pipeline's resize-back would blur them).

Masks (``--opt mask=PATH``): white (1) = edit, black (0) = keep, gray = a soft blend; one
file for every input, or a folder with one mask per input matched by file name stem
(``a/b.png`` uses ``MASKS/a/b.<ext>``, else ``MASKS/b.<ext>``). A colour mask is read as
its BT.601 luma; alpha is ignored. A mask of another size than its input is resized to it
with nearest neighbour (a binary mask stays binary). Inside the diffusion loop, at the
model's resolution, the mask is the area-downscaled mask thresholded at > 0: every model
pixel that touches the edit region may change, and the final composite at the input's
resolution then applies the exact mask.

Randomness and batching: a batch runs through the UNet together, one sample after the
other, while all the noise of image ``i`` comes from its own ``context.generators[i]`` in
the order it would be drawn alone; batching changes only float rounding in the UNet.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from imgtrans.plugin import (
    Capabilities,
    Preprocessing,
    TranslateContext,
    Translator,
    UsageError,
    WeightsError,
    hookimpl,
)
from imgtrans_sdedit.folders import is_model_folder, locate_model_folder
from imgtrans_sdedit.latent_folders import latent_layout_of, recognise_latent_folder
from imgtrans_sdedit.options import NAME, SDEditOptions, SDEditTrainOptions

log = logging.getLogger(__name__)


class SDEditTranslator(Translator):
    name = NAME
    summary = ("SDEdit: edit or realise guide images (photos, stroke paintings) with a "
               "pixel-space diffusion model or Stable Diffusion with a prompt (diffusers "
               "model folders), optionally masked")
    capabilities = Capabilities(stochastic=True, input_kind="image", training=True,
                                cpu_batch_size=8)  # 1.4-2.6x at 8 on CPU (bench/RESULTS.md)
    fast_mode_error = ("bf16 CPU (UNet only), 8-bit levels vs exact: mean 0.1-0.2, 99.9th pct 2, max 2 (bundled and ddpm-cifar10-32 size, 10 steps); bench/precision.py --quick; bench/RESULTS.md")
    Options = SDEditOptions
    TrainOptions = SDEditTrainOptions
    requires_weights = True
    autocast_scope = "parts"  # only the UNet: the sampler's steps stay fp32

    @classmethod
    def outputs_per_input(cls, options: SDEditOptions) -> int:
        return options.samples

    @classmethod
    def training_task(cls, options: Any, settings: Any, device: Any) -> Any:
        from imgtrans_sdedit.training import SDEditTask

        return SDEditTask(options, settings, device)

    @classmethod
    def recognises(cls, state_dict: Any) -> Any:
        """A single-file Stable Diffusion checkpoint (original layout), so that ``load`` can
        say how to convert it (``imgtrans_sdedit.single_file``); nothing else."""
        from imgtrans_sdedit.single_file import single_file_checkpoint

        return single_file_checkpoint(state_dict)

    @classmethod
    def recognises_folder(cls, folder: Path) -> Any:
        """A diffusers pixel-space model folder (UNet2DModel + a DDPM-family scheduler), by
        its JSON files alone; the parsed layout is what ``load`` gets back. Also a Stable
        Diffusion folder (``imgtrans_sdedit.latent_folders``; one sdedit cannot run says why)."""
        return is_model_folder(folder) or recognise_latent_folder(folder)

    def __init__(self, options: SDEditOptions, device: Any, model: Any, mask_file: Any = None,
                 mask_dir: Path | None = None) -> None:
        super().__init__(options, device)
        self.model, self.mask_file, self.mask_dir = model, mask_file, mask_dir
        self._fitted: dict[tuple[int, int], Any] = {}  # the mask file at each input size

    @classmethod
    def load(cls, weights: Any, options: SDEditOptions, device: Any) -> "SDEditTranslator":
        from imgtrans.plugin import weights_at
        from imgtrans_sdedit.masks import mask_arguments
        from imgtrans_sdedit.samplers import resolve_sampler
        from imgtrans_sdedit.sdedit import load_model_folder

        if weights is None:
            raise WeightsError("sdedit needs --weights: a diffusers model folder")
        _refuse_single_file(weights_at(weights))
        latent = latent_layout_of(weights_at(weights))
        if latent is not None:  # Stable Diffusion: imgtrans_sdedit.latent_translator
            from imgtrans_sdedit.latent_translator import LatentSDEditTranslator

            return LatentSDEditTranslator.load_layout(latent, options, device)
        if options.prompt or options.negative_prompt or options.prompts:
            raise WeightsError(f"{weights}: a pixel-space model takes no text; prompt, "
                               "negative_prompt and prompts are for Stable Diffusion models")
        model = load_model_folder(locate_model_folder(weights_at(weights), cls.name), device)
        resolve_sampler(options.scheduler, None, False, options.eta, weights)
        if options.steps > model.num_train_timesteps:
            raise UsageError(f"steps={options.steps} is more than the model's "
                             f"{model.num_train_timesteps} training steps")
        return cls(options, device, model, **mask_arguments(options.mask, device))

    @property
    def steps_run(self) -> int:
        from imgtrans_sdedit.sdedit import steps_to_run

        return steps_to_run(self.options.steps, self.options.strength)

    def preprocessing(self) -> Preprocessing:
        # Native size (no padding): translate resizes to the model's size and back itself,
        # so that masked pixels can be kept exactly at the input's resolution.
        return Preprocessing(value_range=(-1.0, 1.0), channels=self.model.channels, resize="pad",
                             size_multiple=1, interpolation="bicubic")

    def translate(self, images: Any, context: TranslateContext) -> Any:
        """(B, C, H, W) in [-1, 1] -> (B * samples, C, H, W) in [-1, 1], image-major. Each
        sample is one SDEdit run of the whole batch; an image's samples draw their noise one
        after the other from its generator, as they would with a batch of one."""
        import torch

        samples = self.options.samples
        if self.steps_run == 0:
            return images.repeat_interleave(samples, dim=0)
        names, mask = self._names_and_mask(images, context)
        generators = list(context.generators)
        outputs = [self._edit(images, mask, generators, names, context) for _ in range(samples)]
        return torch.stack(outputs, dim=1).flatten(0, 1)

    def _names_and_mask(self, images: Any, context: TranslateContext) -> tuple[list[str], Any]:
        """The batch's image names and its (B, 1, H, W) edit mask at the input's size (None
        without masks)."""
        import torch

        names = list(context.names) or [f"#{i}" for i in range(images.shape[0])]
        masks = [self._mask_for(name, tuple(images.shape[-2:])) for name in names]
        return names, None if masks[0] is None else torch.cat(masks)

    def _mask_for(self, name: str, size: tuple[int, int]) -> Any:
        from imgtrans_sdedit.masks import find_mask, fit_mask, read_mask

        if self.mask_file is not None:
            if size not in self._fitted:
                self._fitted[size] = fit_mask(self.mask_file, size)
            return self._fitted[size]
        if self.mask_dir is not None:
            return fit_mask(read_mask(find_mask(self.mask_dir, name)).to(self.device), size)
        return None

    def _edit(self, images: Any, mask: Any, generators: list[Any], names: list[str],
              context: TranslateContext) -> Any:
        """One SDEdit run of a batch at the input's size; ``mask`` (B, 1, H, W) or None.
        With ``--precision fast`` only the UNet calls are autocast."""
        from imgtrans.plugin import fast_scope, resize
        from imgtrans_sdedit.masks import model_mask
        from imgtrans_sdedit.sdedit import sdedit

        o, size = self.options, self.model.sample_size
        height, width = images.shape[-2:]
        guide = images if (height, width) == size else resize(images, size, "bicubic").clamp(-1.0, 1.0)

        def on_step(repeat: int, step: int, total: int, repeats: int, timestep: int) -> None:
            log.debug("sdedit %s: repeat %d/%d, step %d/%d (t=%d)", ", ".join(names), repeat + 1,
                      repeats, step + 1, total, timestep)
            context.check_stop()  # a cancel takes effect within one step

        result = sdedit(self.model.unet, self.model.scheduler_config, guide, strength=o.strength,
                        steps=o.steps, scheduler="ddim" if o.scheduler == "auto" else o.scheduler,
                        eta=o.eta, repeats=o.repeats,
                        mask=None if mask is None else model_mask(mask, size),
                        generator=generators, on_step=on_step,
                        unet_scope=lambda: fast_scope(context))
        if (height, width) != size:
            result = resize(result, (height, width), "bicubic")
        result = result.clamp(-1.0, 1.0)
        if mask is not None:
            # exact: where mask == 0 this is 0 * result + 1 * input = input, bit for bit
            result = mask * result + (1 - mask) * images
        return result

    def config(self) -> dict[str, Any]:
        base = super().config()
        base["model"] = self.model.describe()
        base["steps_run"] = self.steps_run
        return base


def _refuse_single_file(weights: Any) -> None:
    """A single-file Stable Diffusion checkpoint: ``WeightsError`` saying how to convert it."""
    from imgtrans_sdedit.single_file import SingleFileCheckpoint, single_file_checkpoint

    found = weights.found
    if not isinstance(found, SingleFileCheckpoint) and weights.kind == "file":
        try:
            found = single_file_checkpoint(weights.state_dict())
        except WeightsError:
            return  # not a weights file: the pixel-model path says what it expected
    if isinstance(found, SingleFileCheckpoint):
        raise WeightsError(found.refusal(weights.path))


@hookimpl
def register_translators(register: Any) -> None:
    register(SDEditTranslator)
