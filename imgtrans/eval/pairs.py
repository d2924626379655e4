"""Which output goes with which target (and input), and how each image is read for scoring.

Files are matched by their path relative to the folder given, without the extension, so
``out/sub/x.png`` matches ``targets/sub/x.jpg``. Images are read as RGB float64 in [0, 1]
(gray expanded, alpha dropped, 8 or 16 bits exactly). A target can be a side-by-side A|B pair
(``half``: split at ``int(w / 2)``, as the pix2pix reference does) and is cropped to a
multiple of ``downscale`` when the inputs are its downscaled copies.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import torch

from imgtrans.core.preprocess import pair_half
from imgtrans.core.readers import IMAGE_EXTENSIONS, read_image
from imgtrans.errors import NoInputsError
from imgtrans.eval.types import EvalItem, EvalSettings

_SAMPLE = re.compile(r"^(.*)_s(\d+)$")


def list_files(root: Path, extensions: frozenset[str] = IMAGE_EXTENSIONS) -> list[Path]:
    """Files under ``root`` with one of ``extensions``, hidden ones skipped: the image-folder
    walk convert, training and the demo share (:func:`~imgtrans.core.discover.walk_image_files`)."""
    from imgtrans.core.walk import walk_image_files

    return [path for path, _ in walk_image_files(root, extensions=extensions)]


def _keyed(root: Path, suffix: str = "", extensions: frozenset[str] = IMAGE_EXTENSIONS
           ) -> tuple[dict[str, Path], list[Path], bool]:
    """{key: file} for a folder (keys: relative path without extension) or a single file
    (key: its stem), the files whose key is ambiguous, and whether ``root`` is a file."""
    if root.is_file():
        files, base, single = [root], root.parent, True
    elif root.is_dir():
        files, base, single = list_files(root, extensions), root, False
    else:
        raise NoInputsError(f"{root}: no such file or folder")
    keyed: dict[str, list[Path]] = {}
    for path in files:
        key = path.relative_to(base).with_suffix("").as_posix()
        if suffix and key.endswith(suffix) and len(key) > len(suffix):
            key = key[: -len(suffix)]
        keyed.setdefault(key, []).append(path)
    unique = {k: v[0] for k, v in keyed.items() if len(v) == 1}
    ambiguous = [p for v in keyed.values() if len(v) > 1 for p in v]
    return unique, ambiguous, single


def match_files(outputs: Path, targets: Path, suffix: str = "") -> tuple[
        list[tuple[str, Path, Path]], list[Path], list[Path], list[Path]]:
    """Pair output and target files.

    Folders: by relative path without extension (``suffix`` is removed from output names
    first). Two files: paired whatever their names. A file and a folder: the file's name
    (without extension) is looked up at the top of the folder. Returns (pairs as
    ``(key, output, target)`` sorted by key, unmatched outputs, unmatched targets,
    ambiguous files — same key with different extensions, e.g. ``x.png`` and ``x.jpg``).
    """
    outs, amb_out, single_out = _keyed(Path(outputs), suffix)
    tgts, amb_tgt, single_tgt = _keyed(Path(targets))
    if single_out and single_tgt:
        (key, out), (_, tgt) = next(iter(outs.items())), next(iter(tgts.items()))
        return [(key, out, tgt)], [], [], []
    pairs = [(k, outs[k], tgts[k]) for k in sorted(outs) if k in tgts]
    unmatched_out = [outs[k] for k in sorted(outs) if k not in tgts]
    unmatched_tgt = [] if single_out else [tgts[k] for k in sorted(tgts) if k not in outs]
    return pairs, unmatched_out, unmatched_tgt, amb_out + amb_tgt


def all_outputs(outputs: Path, suffix: str = "") -> list[tuple[str, Path]]:
    """Every output as ``(key, file)``, for set metrics and measures without targets."""
    outs, _, _ = _keyed(Path(outputs), suffix)
    return sorted(outs.items())


def attach_inputs(items: list[EvalItem], inputs: Path) -> list[EvalItem]:
    """Give each item its translator input: same key, or the key without ``_s<k>`` (sample
    ``k`` of a stochastic translator). Items without an input keep ``input=None``."""
    keyed, _, single = _keyed(Path(inputs), extensions=_any_extension(Path(inputs)))
    found = []
    for item in items:
        path, sample = keyed.get(item.name), 0
        if path is None and (m := _SAMPLE.match(item.name)) and m.group(1) in keyed:
            path, sample = keyed[m.group(1)], int(m.group(2))
        if path is None and single and len(keyed) == 1:
            path = next(iter(keyed.values()))
        found.append(EvalItem(item.name, item.output, item.target, path, sample))
    return found


def _any_extension(root: Path) -> frozenset[str]:
    """Input files are whatever the translator reads: images, or layout JSON."""
    if root.is_file():
        return frozenset({root.suffix.lstrip(".").lower()})
    return IMAGE_EXTENSIONS | {"json"}


def read_rgb(path: Path) -> tuple[torch.Tensor, int]:
    """(1, 3, H, W) float64 RGB in [0, 1] (gray expanded, alpha dropped), and the levels
    (255 or 65535) of the file."""
    return array_to_tensor(read_image(path).pixels)


def array_to_tensor(pixels: np.ndarray) -> tuple[torch.Tensor, int]:
    """uint8/uint16 (H, W[, C]) RGB(A) -> (1, 3, H, W) float64 in [0, 1], and the levels."""
    from imgtrans.core.preprocess import convert_channels

    levels = int(np.iinfo(pixels.dtype).max)
    array = pixels.astype(np.float64) / levels  # float64 throughout: exact 8/16-bit values
    tensor = torch.from_numpy(array if array.ndim == 3 else array[..., None]).permute(2, 0, 1)[None]
    return convert_channels(tensor, 3), levels


def split_half(target: torch.Tensor, half: str | None) -> torch.Tensor:
    """The left or right half of (…, H, W) (:func:`~imgtrans.core.preprocess.pair_half`);
    ``None``: unchanged."""
    return target if half is None else pair_half(target, half)


def crop_to_multiple(x: torch.Tensor, factor: int | None) -> torch.Tensor:
    """Top-left (…, H // f * f, W // f * f) of ``x``; ``None``: unchanged."""
    if not factor:
        return x
    return x[..., : x.shape[-2] // factor * factor, : x.shape[-1] // factor * factor]


def read_target(path: Path, settings: EvalSettings) -> tuple[torch.Tensor, int]:
    """A target as compared: its chosen half, cropped to a multiple of ``downscale``."""
    target, levels = read_rgb(path)
    return crop_to_multiple(split_half(target, settings.half), settings.downscale), levels
