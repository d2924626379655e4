"""A loaded translator plus the preprocessing around it: the one place where images meet
the model. Used by the batch engine and by the Python API's ``__call__``."""

from __future__ import annotations

import numpy as np
import torch

from imgtrans.core.device import seed_for
from imgtrans.core.preprocess import finish, prepare, quantize, to_float_batch
from imgtrans.core.tiling import run_tiled
from imgtrans.errors import UsageError
from imgtrans.translators.base import TranslateContext, Translator


class TranslatorRunner:
    """Runs ``translator`` on batches of one size.

    ``tile`` > 0 cuts images into tiles of that many input pixels with ``tile_pad`` pixels of
    context (only for translators that declare ``fully_convolutional``). ``seed`` seeds each
    image's random generator together with the image's name.
    """

    def __init__(self, translator: Translator, device: torch.device, *, tile: int = 0,
                 tile_pad: int = 10, seed: int = 0) -> None:
        if tile and not translator.capabilities.fully_convolutional:
            raise UsageError(f"translator {translator.name!r} is not fully convolutional; "
                             "--tile cannot be used with it")
        if tile < 0 or tile_pad < 0:
            raise UsageError("--tile and --tile-pad must not be negative")
        self.translator = translator
        self.device = device
        self.tile = tile
        self.tile_pad = tile_pad
        self.seed = seed
        self.prep = translator.preprocessing()

    def run_float(self, batch: torch.Tensor, names: list[str],
                  levels: int | None = None) -> torch.Tensor:
        """float (B, C, H, W) in [0, 1], C in {1, 3, 4} -> float (B, C', H*s, W*s) in [0, 1].
        ``levels``: 255 or 65535 when the batch came from integer pixels."""
        prepared = prepare(batch.to(self.device), self.prep, levels)
        context = TranslateContext(device=self.device, names=list(names),
                                   generators=[self._generator(n) for n in names])
        with torch.inference_mode():
            if self.tile:
                output = run_tiled(lambda x: self._translate(x, context), prepared.images,
                                   tile=self.tile, tile_pad=self.tile_pad, scale=self.prep.scale,
                                   multiple=self.prep.size_multiple)
            else:
                output = self._translate(prepared.images, context)
            return finish(output, prepared, self.prep)

    def run_arrays(self, arrays: list[np.ndarray], bit_depth: int, names: list[str],
                   out_bit_depth: int | None = None) -> list[np.ndarray]:
        """Same-size HWC/HW uint8 or uint16 arrays -> translated arrays (HWC or HW)."""
        batch = to_float_batch(arrays, bit_depth, self.device)
        levels = 65535 if bit_depth == 16 else 255
        output = quantize(self.run_float(batch, names, levels), out_bit_depth or bit_depth)
        return [img[..., 0] if img.shape[-1] == 1 else img for img in output]

    def _translate(self, images: torch.Tensor, context: TranslateContext) -> torch.Tensor:
        output = self.translator.translate(images, context)
        expected_hw = (images.shape[-2] * self.prep.scale, images.shape[-1] * self.prep.scale)
        if (not isinstance(output, torch.Tensor) or output.ndim != 4
                or output.shape[0] != images.shape[0] or output.shape[1] not in (1, 3, 4)
                or tuple(output.shape[-2:]) != expected_hw):
            shape = tuple(output.shape) if isinstance(output, torch.Tensor) else type(output)
            raise RuntimeError(f"translator {self.translator.name!r} returned {shape}; expected "
                               f"({images.shape[0]}, 1|3|4, {expected_hw[0]}, {expected_hw[1]})")
        return output.float()

    def _generator(self, name: str) -> torch.Generator:
        generator = torch.Generator(device=self.device)
        generator.manual_seed(seed_for(self.seed, name))
        return generator
