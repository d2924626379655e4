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

Randomness: each image is processed alone with its own ``context.generators[i]``, which
supplies all its noise, so batching never changes a result.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any, Literal, Optional

from imgtrans.errors import InputError, UsageError, WeightsError
from imgtrans.plugins import hookimpl
from imgtrans.translators.base import Capabilities, Preprocessing, TranslateContext, Translator
from imgtrans_sdedit.training import SDEditTrainOptions

log = logging.getLogger(__name__)


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
    scheduler: Literal["ddim", "ddpm"] = field(default="ddim", metadata={
        "help": "sampler built from the model's scheduler config, with clip_sample off "
                "(the reference does no clipping)"})
    eta: float = field(default=0.0, metadata={
        "help": "DDIM eta in [0, 1] (0: deterministic steps; 1: DDPM-like noise); scheduler=ddim only"})
    mask: Optional[str] = field(default=None, metadata={
        "help": "mask file for all inputs, or folder of masks matched by input file name stem; "
                "white = edit, black = keep (kept pixels come back exactly)"})
    samples: int = field(default=1, metadata={
        "help": "outputs per input (written as <name>_s0, <name>_s1, ...), each with its own noise"})

    def __post_init__(self) -> None:
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
        if self.eta and self.scheduler != "ddim":
            raise ValueError("eta applies to scheduler=ddim only")
        if self.mask is not None and not Path(self.mask).expanduser().exists():
            raise ValueError(f"mask {self.mask!r}: no such file or folder")


# -- masks ---------------------------------------------------------------------------------

def read_mask(path: Path) -> Any:
    """A mask file as float (1, 1, H, W) in [0, 1]: white = 1 = edit. Colour masks are read
    as BT.601 luma; an alpha channel is ignored."""
    import numpy as np
    import torch

    from imgtrans.core.readers import read_image

    decoded = read_image(Path(path))
    pixels = decoded.pixels.astype(np.float32) / float(np.iinfo(decoded.pixels.dtype).max)
    if pixels.ndim == 3:
        pixels = 0.299 * pixels[..., 0] + 0.587 * pixels[..., 1] + 0.114 * pixels[..., 2]
    return torch.from_numpy(np.ascontiguousarray(pixels))[None, None].clamp(0.0, 1.0)


def find_mask(mask_dir: Path, name: str) -> Path:
    """The mask in ``mask_dir`` for the input ``name`` (its path relative to the input root):
    ``mask_dir/<folders>/<stem>.<image ext>``, else ``mask_dir/<stem>.<image ext>``. Raises
    ``InputError`` when there is none or more than one."""
    from imgtrans.core.readers import IMAGE_EXTENSIONS

    rel = PurePosixPath(name)
    places = [mask_dir / rel.parent, mask_dir] if str(rel.parent) not in ("", ".") else [mask_dir]
    for place in places:
        if not place.is_dir():
            continue
        found = sorted(p for p in place.iterdir() if p.stem == rel.stem and p.is_file()
                       and p.suffix.lower().lstrip(".") in IMAGE_EXTENSIONS)
        if len(found) > 1:
            raise InputError(name, f"several masks match it: {', '.join(p.name for p in found)} in {place}")
        if found:
            return found[0]
    looked = " or ".join(f"{(p / rel.stem).as_posix()}.<ext>" for p in places)
    raise InputError(name, f"no mask for it: looked for {looked}")


def fit_mask(mask: Any, size: tuple[int, int]) -> Any:
    """A (1, 1, h, w) mask at ``size`` = (H, W), nearest neighbour."""
    from imgtrans.core.preprocess import resize

    return resize(mask, size, "nearest")


def model_mask(mask: Any, size: tuple[int, int]) -> Any:
    """The mask for the diffusion loop at the model's resolution: 1 wherever the area-resized
    mask is above 0 (any overlap with the edit region), else 0."""
    import torch.nn.functional as F

    if tuple(mask.shape[-2:]) != tuple(size):
        mask = F.interpolate(mask, size=size, mode="area")
    return (mask > 0).to(mask.dtype)


# -- the translator ------------------------------------------------------------------------

class SDEditTranslator(Translator):
    name = "sdedit"
    summary = ("SDEdit: edit or realise guide images (photos, stroke paintings) with a "
               "pixel-space diffusion model (diffusers model folder), optionally masked")
    capabilities = Capabilities(stochastic=True, input_kind="image", training=True)
    Options = SDEditOptions
    TrainOptions = SDEditTrainOptions
    requires_weights = True

    @classmethod
    def outputs_per_input(cls, options: SDEditOptions) -> int:
        return options.samples

    @classmethod
    def training_task(cls, options: Any, settings: Any, device: Any) -> Any:
        from imgtrans_sdedit.training import SDEditTask

        return SDEditTask(options, settings, device)

    @classmethod
    def load(cls, weights: Path | None, options: SDEditOptions, device: Any) -> "SDEditTranslator":
        from imgtrans_sdedit.sdedit import load_model_folder, locate_model_folder

        if weights is None:
            raise WeightsError("sdedit needs --weights: a diffusers model folder")
        model = load_model_folder(locate_model_folder(weights), device)
        if options.steps > model.num_train_timesteps:
            raise UsageError(f"steps={options.steps} is more than the model's "
                             f"{model.num_train_timesteps} training steps")
        self = cls(options, device)
        self.model = model
        self.mask_file: Any = None
        self.mask_dir: Path | None = None
        self._fitted: dict[tuple[int, int], Any] = {}
        if options.mask is not None:
            mask_path = Path(options.mask).expanduser()
            if mask_path.is_dir():
                self.mask_dir = mask_path
            else:
                try:
                    self.mask_file = read_mask(mask_path).to(device)
                except InputError as exc:
                    raise UsageError(f"mask {options.mask!r}: {exc.reason}") from None
        return self

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
        """(B, C, H, W) in [-1, 1] -> (B * samples, C, H, W) in [-1, 1], one image at a time;
        the samples of an image draw their noise one after the other from its generator."""
        import torch

        samples = self.options.samples
        if self.steps_run == 0:
            return images.repeat_interleave(samples, dim=0)
        height, width = images.shape[-2:]
        names = list(context.names) or [f"#{i}" for i in range(images.shape[0])]
        masks = [self._mask_for(names[i], (height, width)) for i in range(images.shape[0])]
        outputs = [self._edit(images[i:i + 1], masks[i], context.generators[i], names[i])
                   for i in range(images.shape[0]) for _ in range(samples)]
        return torch.cat(outputs)

    def _mask_for(self, name: str, size: tuple[int, int]) -> Any:
        if self.mask_file is not None:
            if size not in self._fitted:
                self._fitted[size] = fit_mask(self.mask_file, size)
            return self._fitted[size]
        if self.mask_dir is not None:
            return fit_mask(read_mask(find_mask(self.mask_dir, name)).to(self.device), size)
        return None

    def _edit(self, image: Any, mask: Any, generator: Any, name: str) -> Any:
        from imgtrans.core.preprocess import resize
        from imgtrans_sdedit.sdedit import sdedit

        o, size = self.options, self.model.sample_size
        height, width = image.shape[-2:]
        guide = image if (height, width) == size else resize(image, size, "bicubic").clamp(-1.0, 1.0)

        def on_step(repeat: int, step: int, total: int, repeats: int, timestep: int) -> None:
            log.debug("sdedit %s: repeat %d/%d, step %d/%d (t=%d)", name, repeat + 1, repeats,
                      step + 1, total, timestep)

        result = sdedit(self.model.unet, self.model.scheduler_config, guide, strength=o.strength,
                        steps=o.steps, scheduler=o.scheduler, eta=o.eta, repeats=o.repeats,
                        mask=None if mask is None else model_mask(mask, size),
                        generator=generator, on_step=on_step)
        if (height, width) != size:
            result = resize(result, (height, width), "bicubic")
        result = result.clamp(-1.0, 1.0)
        if mask is not None:
            # exact: where mask == 0 this is 0 * result + 1 * image = image, bit for bit
            result = mask * result + (1 - mask) * image
        return result

    def config(self) -> dict[str, Any]:
        base = super().config()
        base["model"] = self.model.describe()
        base["steps_run"] = self.steps_run
        return base


@hookimpl
def register_translators(register: Any) -> None:
    register(SDEditTranslator)
