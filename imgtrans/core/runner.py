"""A loaded translator plus the preprocessing around it: the one place where images meet
the model. Used by the batch engine and by the Python API's ``__call__``."""

from __future__ import annotations

import dataclasses
import hashlib
import logging
import os
from typing import Any, Callable

import numpy as np
import torch

from imgtrans.core.precision import Precision, autocast, keep_weight_casts
from imgtrans.core.preprocess import Prepared, finish, finish_pixels, prepare, quantize, to_float_batch
from imgtrans.core.tiling import run_tile, run_tiled, tile_grid
from imgtrans.errors import UsageError
from imgtrans.finite import all_finite
from imgtrans.translators.base import TranslateContext, Translator

log = logging.getLogger(__name__)


class TranslatorRunner:
    """Runs ``translator`` on batches of one size.

    ``tile`` > 0 cuts images into tiles of that many input pixels with ``tile_pad`` pixels of
    context (only for translators that declare ``fully_convolutional``). ``seed`` seeds each
    image's random generator together with the image's name. ``precision`` is ``"exact"``
    (fp32) or ``"fast"`` (see :mod:`imgtrans.core.precision`); ``compile`` runs the
    translator through ``torch.compile`` (see :mod:`imgtrans.core.compiling`).
    """

    def __init__(self, translator: Translator, device: torch.device, *, tile: int = 0,
                 tile_pad: int = 10, seed: int = 0, precision: str = "exact",
                 compile: bool = False) -> None:
        note = translator.capabilities.tiling_note
        if tile and not translator.capabilities.fully_convolutional:
            raise UsageError(f"translator {translator.name!r} is not fully convolutional; "
                             "--tile cannot be used with it" + (f" ({note})" if note else ""))
        if tile and note:
            log.warning("--tile: %s", note)
        if tile < 0 or tile_pad < 0:
            raise UsageError("--tile and --tile-pad must not be negative")
        self.translator = translator
        self.device = device
        self.tile = tile
        self.tile_pad = tile_pad
        self.seed = seed
        self.should_stop: Callable[[], bool] = lambda: False
        """Set by the engine to its stop flag (Ctrl-C, a web cancel): checked before every
        forward pass and tile, and given to translators as ``context.should_stop``."""
        self.precision = Precision.resolve(precision, device)
        if self.precision.fast and translator.autocast_scope == "none":
            log.warning("--precision fast: translator %r always runs exact (fp32)", translator.name)
            self.precision = Precision("fast", None, "exact (fp32): the translator has no fast path")
        self.takes_images = translator.capabilities.input_kind != "layout"
        self._compiled = None
        if compile:
            from imgtrans.core.compiling import compiled

            self._compiled = compiled(translator.translate if self.takes_images else translator.generate,
                                      translator.name)
        self.prep = translator.preprocessing() if self.takes_images else None
        self.samples = translator.outputs_per_input(translator.options)
        if tile and self.samples > 1:
            raise UsageError("--tile cannot be combined with several samples per input")
        self.on_tiles: Callable[[list[str], int, int], None] | None = None
        """Set by the engine to hear a tiled batch's progress: ``(names, tiles done, tiles
        in total)`` after each tile, on the thread that runs the batch."""

    def _no_grad(self) -> Any:
        """inference_mode for exact runs; plain no_grad in fast mode, where inference_mode
        would stop autocast from reusing its weight copies (checked in tests/precision)."""
        return torch.no_grad() if self.precision.fast else torch.inference_mode()

    def keep_weight_casts(self) -> None:
        """On the thread that will run this runner's forwards, for its whole life: in fast
        mode, keep autocast's low-precision weight copies between calls (see
        :func:`imgtrans.core.precision.keep_weight_casts`)."""
        if self.precision.fast:
            keep_weight_casts(self.device)

    @property
    def can_tile(self) -> bool:
        """Whether images may be cut into tiles (also as a fallback when memory runs out)."""
        return (self.takes_images and self.samples == 1
                and self.translator.capabilities.fully_convolutional)

    def run_float(self, batch: torch.Tensor, names: list[str],
                  levels: int | None = None) -> torch.Tensor:
        """float (B, C, H, W) in [0, 1], C in {1, 3, 4} -> float (B, C', H', W') in [0, 1],
        where (H', W') is ``prep.output_size`` (H * scale, W * scale unless the translator's
        preprocessing says otherwise). ``levels``: 255 or 65535 when the batch came from
        integer pixels."""
        prepared = prepare(batch.to(self.device), self.prep, levels)
        output = self._translated(prepared, names, self.tile)
        height, width = prepared.height, prepared.width
        if tuple(output.shape[-2:]) == self.prep.output_size(height, width):
            return output
        # a translator's own last step on the result (e.g. Real-ESRGAN's outscale), on floats
        images = output.permute(0, 2, 3, 1).cpu().numpy()
        resized = [self.prep.resize_result(img, height, width) for img in images]
        output = torch.from_numpy(np.stack([r if r.ndim == 3 else r[..., None] for r in resized]))
        return output.permute(0, 3, 1, 2).to(self.device).clamp(0.0, 1.0)

    def _translated(self, prepared: Prepared, names: list[str], tile: int = 0,
                    clamp: bool = True) -> torch.Tensor:
        context = self._context(names)
        with self._no_grad():
            if tile:
                output = run_tiled(lambda x: self._translate(x, context), prepared.images,
                                   tile=tile, tile_pad=self.tile_pad, scale=self.prep.scale,
                                   multiple=self.prep.size_multiple,
                                   on_tile=self._tile_progress(names))
            else:
                output = self._translate(prepared.images, context)
            if self.samples == 1:
                return finish(output, prepared, self.prep, clamp)
            # image-major samples: finish each sample against its input, keep the order
            per_input = output.unflatten(0, (prepared.images.shape[0], self.samples))
            finished = [finish(per_input[:, k], prepared, self.prep, clamp) for k in range(self.samples)]
            return torch.stack(finished, dim=1).flatten(0, 1)

    def run_inputs(self, inputs: list[Any], names: list[str]) -> list[np.ndarray]:
        """Non-image inputs (e.g. layouts parsed by ``read_input``) -> 8-bit images, via the
        translator's ``generate`` (float (B * samples, C, H, W) in [0, 1])."""
        context = self._context(names)
        context.check_stop()
        with self._no_grad():
            output = self._precise(lambda ctx: self._call(inputs, ctx), context)
        if not isinstance(output, torch.Tensor) or output.ndim != 4 or output.shape[0] != len(inputs) * self.samples:
            raise RuntimeError(f"translator {self.translator.name!r} generated "
                               f"{tuple(output.shape) if isinstance(output, torch.Tensor) else type(output)}; "
                               f"expected ({len(inputs) * self.samples}, C, H, W)")
        return [img[..., 0] if img.shape[-1] == 1 else img for img in quantize(output, 8)]

    def _tiles_to_canvas(self, prepared: Prepared, names: list[str], bit_depth: int,
                         tile: int) -> np.ndarray:
        """Tiled run that quantizes each tile into an integer canvas as soon as it is done, so
        a large result never exists as a float tensor (a 4096x4096 input at x4 needs a
        0.8 GB uint8 canvas instead of several 3.2 GB float copies). Tiles that cover only
        padding are skipped."""
        scale, height, width = self.prep.scale, prepared.height, prepared.width
        context = self._context(names)
        canvas: np.ndarray | None = None
        grid = [(core, crop) for core, crop in tile_grid(*prepared.images.shape[-2:], tile, self.tile_pad)
                if core[0] < height and core[2] < width]
        progress = self._tile_progress(names)
        with self._no_grad():
            for done, (core, crop) in enumerate(grid, 1):
                y0, y1, x0, x1 = core
                part = run_tile(lambda x: self._translate(x, context), prepared.images, core, crop,
                                scale=scale, multiple=self.prep.size_multiple)
                y1, x1 = min(y1, height), min(x1, width)
                part = part[:, :, :(y1 - y0) * scale, :(x1 - x0) * scale]
                pixels = quantize(finish_pixels(part, prepared, self.prep), bit_depth, clamped=True)
                if canvas is None:
                    canvas = np.zeros((pixels.shape[0], height * scale, width * scale, pixels.shape[-1]),
                                      pixels.dtype)
                canvas[:, y0 * scale:y1 * scale, x0 * scale:x1 * scale] = pixels
                if progress:
                    progress(done, len(grid))
        assert canvas is not None
        return canvas

    def _tile_progress(self, names: list[str]) -> Callable[[int, int], None] | None:
        """``(tiles done, in total)`` -> :attr:`on_tiles` for the batch ``names``."""
        on_tiles = self.on_tiles
        return None if on_tiles is None else lambda done, total: on_tiles(list(names), done, total)

    def _context(self, names: list[str]) -> TranslateContext:
        return TranslateContext(device=self.device, names=list(names),
                                generators=[self._generator(n) for n in names],
                                should_stop=self.should_stop)

    def run_arrays(self, arrays: list[np.ndarray], bit_depth: int, names: list[str],
                   out_bit_depth: int | None = None, tile: int | None = None) -> list[np.ndarray]:
        """Same-size HWC/HW uint8 or uint16 arrays -> translated arrays (HWC or HW); with
        several samples per input, all samples of input 0 first, then of input 1, ...
        ``tile`` overrides the runner's tile size (the engine's out-of-memory fallback)."""
        tile = self.tile if tile is None else tile
        if tile and not self.can_tile:
            raise UsageError(f"translator {self.translator.name!r} cannot be run in tiles")
        levels = 65535 if bit_depth == 16 else 255
        prepared = prepare(to_float_batch(arrays, bit_depth, self.device), self.prep, levels)
        if tile and self.prep.resize == "pad" and prepared.alpha is None:
            output = self._tiles_to_canvas(prepared, names, out_bit_depth or bit_depth, tile)
        else:
            # quantize clamps: finish need not (one pass over the result fewer)
            output = quantize(self._translated(prepared, names, tile, clamp=False), out_bit_depth or bit_depth)
        return [self.prep.resize_result(img[..., 0] if img.shape[-1] == 1 else img,
                                        prepared.height, prepared.width) for img in output]

    def _translate(self, images: torch.Tensor, context: TranslateContext) -> torch.Tensor:
        context.check_stop()  # per batch and per tile
        return self._precise(lambda ctx: self._checked(self._call(images, ctx), images), context)

    def _precise(self, call: Any, context: TranslateContext) -> torch.Tensor:
        """``call(context)`` in the run's precision, as fp32. A fast-mode result with NaN or
        infinity (bf16/fp16 overflow) is computed again in fp32, with a warning."""
        dtype = self.precision.dtype
        if dtype is not None:
            scoped = self.translator.autocast_scope == "call"
            with autocast(self.device, dtype if scoped else None):
                output = call(dataclasses.replace(context, precision=dtype))
            if not isinstance(output, torch.Tensor):
                return output  # the caller reports the wrong type
            output = output.float()
            if all_finite(output):
                return output
            log.warning("%s: --precision fast gave non-finite values; computing again in fp32",
                        ", ".join(context.names) or self.translator.name)
            context = self._context(context.names)  # fresh generators: the same noise again
        output = call(context)
        return _finite(output.float(), self.translator) if isinstance(output, torch.Tensor) else output

    def _call(self, inputs: Any, context: TranslateContext) -> Any:
        if self._compiled is not None:
            return self._compiled(inputs, context)
        call = self.translator.translate if self.takes_images else self.translator.generate
        return call(inputs, context)

    def _checked(self, output: Any, images: torch.Tensor) -> torch.Tensor:
        expected_hw = (images.shape[-2] * self.prep.scale, images.shape[-1] * self.prep.scale)
        if (not isinstance(output, torch.Tensor) or output.ndim != 4
                or output.shape[0] != images.shape[0] * self.samples or output.shape[1] not in (1, 3, 4)
                or tuple(output.shape[-2:]) != expected_hw):
            shape = tuple(output.shape) if isinstance(output, torch.Tensor) else type(output)
            raise RuntimeError(f"translator {self.translator.name!r} returned {shape}; expected "
                               f"({images.shape[0] * self.samples}, 1|3|4, {expected_hw[0]}, {expected_hw[1]})")
        return output

    def _generator(self, name: str) -> torch.Generator:
        generator = torch.Generator(device=self.device)
        generator.manual_seed(image_seed(self.seed, name))
        return generator


def _finite(output: torch.Tensor, translator: Translator) -> torch.Tensor:
    """NaN or infinity would be written as black or saturated pixels with exit 0: fail the
    batch instead (the engine retries its images one by one, so only the bad ones fail).
    The message blames a network only for translators that have one."""
    if all_finite(output):
        return output
    what = f"translator {translator.name!r} produced non-finite values (NaN or infinity)"
    if _has_network(translator):
        raise RuntimeError(f"{what}; its weights or this input make the network diverge")
    raise RuntimeError(f"{what} on this input; it has no network, so its own arithmetic "
                       "failed (a division by zero, a log or square root out of range...): "
                       "a bug to report to the plugin's author")


def _has_network(translator: Translator) -> bool:
    """True when the translator holds a torch module (directly or in a list/dict attribute)
    or uses weights; a filter such as a Kornia pipeline has neither."""
    if translator.requires_weights or translator.known_weights:
        return True
    for value in vars(translator).values():
        values = value.values() if isinstance(value, dict) else value if isinstance(value, (list, tuple)) else [value]
        if any(isinstance(v, torch.nn.Module) for v in values):
            return True
    return False


def image_seed(base_seed: int, name: str) -> int:
    """A per-image seed from the run seed and the image's name, hashed as the name's bytes
    (``os.fsencode``) so that any file name works, including ones that are not valid UTF-8.
    Results do not depend on batching, order or resuming."""
    digest = hashlib.sha256(f"{base_seed}:".encode("ascii") + os.fsencode(name)).digest()
    return int.from_bytes(digest[:8], "little") & (2**63 - 1)
