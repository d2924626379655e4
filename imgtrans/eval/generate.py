"""Make the outputs to evaluate with a loaded translator, from one of three sources:

* ``inputs``: the translator's own inputs (images, or layout files), one output per input
  (``<key>_s<k>`` for each sample of a stochastic translator);
* ``half``: the targets are side-by-side A|B pairs; the input is the *other* half;
* ``downscale``: the super-resolution protocol: each target, 8-bit RGB and cropped to a
  multiple of the factor, downscaled (antialiased bicubic, as training makes its inputs).

Outputs are written as PNG (lossless) under the name of their input or target, so scoring
reads exactly what the translator produced.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from imgtrans.core.preprocess import pair_half
from imgtrans.core.readers import IMAGE_EXTENSIONS, read_image
from imgtrans.core.writers import to_8bit
from imgtrans.errors import NoInputsError, UsageError
from imgtrans.eval import pairs
from imgtrans.eval.types import EvalSettings


def downscale(hr: np.ndarray, scale: int) -> np.ndarray:
    """HR uint8 (H, W, 3) -> LR uint8 (H // scale, W // scale, 3) by antialiased bicubic, as
    training makes its inputs (computed in float32, rounded)."""
    tensor = torch.from_numpy(np.ascontiguousarray(hr)).permute(2, 0, 1)[None].float() / 255.0
    size = (hr.shape[0] // scale, hr.shape[1] // scale)
    lr = F.interpolate(tensor, size=size, mode="bicubic", antialias=True, align_corners=False)
    return (lr.clamp(0, 1) * 255).round().to(torch.uint8)[0].permute(1, 2, 0).numpy()


def bicubic_upscale(lr: np.ndarray, size: tuple[int, int]) -> torch.Tensor:
    """LR uint8 (h, w, 3) -> (1, 3, H, W) float64 in [0, 1] by plain bicubic (float64,
    rounded to 8-bit levels): the baseline super-resolution is compared with."""
    lr_t = torch.from_numpy(np.ascontiguousarray(lr)).permute(2, 0, 1)[None].double() / 255.0
    up = F.interpolate(lr_t, size=size, mode="bicubic", align_corners=False).clamp(0, 1)
    return (up * 255).round() / 255


def rgb8(pixels: np.ndarray) -> np.ndarray:
    """Any decoded image -> uint8 (H, W, 3): gray expanded, alpha dropped, 16 bits rounded."""
    rgb = np.repeat(pixels[..., None], 3, -1) if pixels.ndim == 2 else pixels[..., :3]
    if rgb.dtype != np.uint8:
        rgb = to_8bit(rgb)
    return np.ascontiguousarray(rgb)


def sr_pair(target: np.ndarray, scale: int) -> tuple[np.ndarray, np.ndarray]:
    """(HR cropped to a multiple of ``scale``, its downscaled LR), both uint8 (…, 3)."""
    hr = rgb8(target)
    hr = np.ascontiguousarray(hr[: hr.shape[0] // scale * scale, : hr.shape[1] // scale * scale])
    return hr, downscale(hr, scale)


def _write(outputs: Path, key: str, result: Any) -> list[Path]:
    from imgtrans.core.writers import write_image

    images = result if isinstance(result, list) else [result]
    names = [f"{key}.png"] if len(images) == 1 else [f"{key}_s{k}.png" for k in range(len(images))]
    written = []
    for name, image in zip(names, images):
        path = outputs / name
        path.parent.mkdir(parents=True, exist_ok=True)
        write_image(path, np.ascontiguousarray(image))
        written.append(path)
    return written


def _keyed(root: Path, extensions: frozenset[str]) -> list[tuple[str, Path]]:
    if root.is_file():
        return [(root.stem, root)]
    if not root.is_dir():
        raise NoInputsError(f"{root}: no such file or folder")
    return [(p.relative_to(root).with_suffix("").as_posix(), p)
            for p in pairs.list_files(root, extensions)]


def generate_outputs(loaded: Any, outputs: Path, settings: EvalSettings, *,
                     targets: Path | None = None, inputs: Path | None = None) -> list[Path]:
    """Translate into ``outputs`` (created); returns the files written. ``loaded`` is an
    :func:`imgtrans.api.load` result. Inputs come from ``inputs``, else from the targets'
    other half (``settings.half``), else from the targets downscaled (``settings.downscale``).
    """
    outputs = Path(outputs)
    written: list[Path] = []
    if inputs is not None:
        translator = loaded.translator
        extensions = translator.input_extensions or IMAGE_EXTENSIONS
        found = _keyed(Path(inputs), frozenset(extensions))
        if not found:
            raise NoInputsError(f"{inputs}: no inputs ({', '.join(sorted(extensions))})")
        for key, path in found:
            source = read_image(path).pixels if loaded.runner.takes_images else [path]
            written += _write(outputs, key, loaded(source, names=[key]))
        return written
    if targets is None:
        raise UsageError("say where the translator's inputs come from: --inputs, or TARGETS with "
                         "--half (A|B pairs) or --downscale (super-resolution)")
    found = _keyed(Path(targets), IMAGE_EXTENSIONS)
    if not found:
        raise NoInputsError(f"{targets}: no images")
    for key, path in found:
        pixels = read_image(path).pixels
        if settings.half is not None:
            source = pair_half(pixels, "right" if settings.half == "left" else "left", axis=1)
            written += _write(outputs, key, loaded(np.ascontiguousarray(source), names=[key]))
        elif settings.downscale:
            hr, lr = sr_pair(pixels, settings.downscale)
            result = loaded(lr, names=[key])
            if result.shape[:2] != hr.shape[:2]:
                raise UsageError(f"{path}: the translator returned {result.shape[1]}x{result.shape[0]} "
                                 f"for a {lr.shape[1]}x{lr.shape[0]} input; expected "
                                 f"x{settings.downscale} (check --downscale and --opt outscale)")
            written += _write(outputs, key, result)
        else:
            raise UsageError("say where the translator's inputs come from: --inputs, --half "
                             "(A|B pairs) or --downscale (super-resolution)")
    return written
