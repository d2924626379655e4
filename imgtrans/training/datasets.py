"""Training data in the reference layouts, checked before training starts.

* aligned: side-by-side A|B images in ``<root>/train/`` (or ``<root>`` itself), or two folders
  ``<root>/[train/]A`` and ``<root>/[train/]B`` with matching file names;
* unaligned: ``<root>/trainA`` and ``<root>/trainB`` (or ``<root>/A`` and ``<root>/B``);
* single: every image below ``<root>/train`` (or ``<root>``).

Bad items (unreadable, truncated, unpaired, mismatched sizes) are found by :func:`check_items`
and either skipped with a warning or reported all at once before training, as the user
chooses (``on_bad_data``). Data problems raise ``DataError`` (exit 3).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from imgtrans.core.walk import walk_image_files
from imgtrans.core.preprocess import pair_half, resize
from imgtrans.core.readers import read_image
from imgtrans.core.writers import to_8bit
from imgtrans.errors import DataError, InputError

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Sample:
    """One training item: a side-by-side file, a pair of files, or a single file."""

    a: Path
    b: Path | None = None
    side_by_side: bool = False


def list_images(folder: Path) -> list[Path]:
    """Image files below ``folder``, sorted: the files convert would find there (same
    walk, :func:`~imgtrans.core.discover.walk_image_files`, same hidden and symlink rules)."""
    return sorted(path for path, _ in walk_image_files(folder))


def _phase_root(root: Path, phase: str) -> Path:
    return root / phase if (root / phase).is_dir() else root


def aligned_samples(root: Path, phase: str = "train") -> tuple[list[Sample], list[str]]:
    """Samples of an aligned dataset and the problems found while pairing."""
    base = _phase_root(root, phase)
    if (base / "A").is_dir() and (base / "B").is_dir():
        a_files = {p.relative_to(base / "A").with_suffix("").as_posix(): p for p in list_images(base / "A")}
        b_files = {p.relative_to(base / "B").with_suffix("").as_posix(): p for p in list_images(base / "B")}
        problems = [f"{a_files[k]}: no matching file in {base / 'B'}" for k in sorted(a_files.keys() - b_files.keys())]
        problems += [f"{b_files[k]}: no matching file in {base / 'A'}" for k in sorted(b_files.keys() - a_files.keys())]
        return [Sample(a_files[k], b_files[k]) for k in sorted(a_files.keys() & b_files.keys())], problems
    return [Sample(p, side_by_side=True) for p in list_images(base)], []


def unaligned_domains(root: Path, phase: str = "train") -> tuple[list[Path], list[Path]]:
    """The two image lists of an unaligned dataset."""
    for a, b in ((root / f"{phase}A", root / f"{phase}B"), (root / "A", root / "B")):
        if a.is_dir() and b.is_dir():
            return list_images(a), list_images(b)
    raise DataError(f"{root}: expected folders {phase}A and {phase}B (or A and B) for unaligned data")


def load_rgb8(path: Path) -> np.ndarray:
    """Any readable image as RGB uint8 (H, W, 3): gray replicated, alpha dropped, 16-bit reduced."""
    pixels = to_8bit(read_image(path).pixels)
    if pixels.ndim == 2:
        pixels = np.repeat(pixels[..., None], 3, axis=-1)
    return np.ascontiguousarray(pixels[..., :3])


def check_items(samples: list[Sample], problems: list[str], on_bad_data: str) -> list[Sample]:
    """Decode every item once; drop bad ones (``skip``) or raise listing them all (``stop``)."""
    good = []
    for sample in samples:
        try:
            a = load_rgb8(sample.a)
            if sample.side_by_side and a.shape[1] < 2:
                raise InputError(sample.a, "too narrow to hold an A|B pair")
            if sample.b is not None:
                b = load_rgb8(sample.b)
                if a.shape[:2] != b.shape[:2]:
                    raise InputError(sample.b, f"size {b.shape[1]}x{b.shape[0]} differs from its A "
                                               f"image {sample.a} ({a.shape[1]}x{a.shape[0]})")
            good.append(sample)
        except InputError as exc:
            problems.append(str(exc))
    if problems:
        if on_bad_data == "stop":
            listing = "\n  ".join(problems[:20])
            more = f"\n  ... and {len(problems) - 20} more" if len(problems) > 20 else ""
            raise DataError(f"{len(problems)} bad training item(s); fix them or use "
                             f"--on-bad-data skip:\n  {listing}{more}")
        for problem in problems:
            log.warning("skipping bad training item: %s", problem)
    if not good:
        raise DataError("no usable training images")
    return good


def checked_image_folder(root: Path, on_bad_data: str, phase: str = "train") -> list[Path]:
    """The readable images of a single-domain dataset (``<root>/<phase>/`` or ``<root>``),
    after :func:`check_items` (bad ones skipped or reported all at once)."""
    folder = _phase_root(Path(root), phase)
    return [s.a for s in check_items([Sample(p) for p in list_images(folder)], [], on_bad_data)]


def to_tensor(pixels: np.ndarray) -> torch.Tensor:
    """HWC uint8 -> CHW float in [0, 1]."""
    return torch.from_numpy(pixels).permute(2, 0, 1).float() / 255.0


def load_resized(path: Path, size: int, half: str | None = None) -> torch.Tensor:
    """Read an image (optionally the left/right half of an A|B pair) and resize it to
    ``size`` x ``size`` with PIL-faithful bicubic, as the reference's ``load_size`` step."""
    pixels = load_rgb8(path)
    if half is not None:
        pixels = pair_half(pixels, half, axis=1)
    return resize(to_tensor(pixels)[None], (size, size), "bicubic", levels=255)[0].clamp(0, 1)


class PairedDataset(torch.utils.data.Dataset):
    """Aligned pairs as (A, B) float tensors in [0, 1], each resized to ``load_size``."""

    def __init__(self, samples: list[Sample], load_size: int) -> None:
        self.samples = samples
        self.load_size = load_size

    def __len__(self) -> int:
        return len(self.samples)

    def __getitem__(self, index: int) -> tuple[torch.Tensor, torch.Tensor]:
        s = self.samples[index]
        if s.side_by_side:
            return load_resized(s.a, self.load_size, "left"), load_resized(s.a, self.load_size, "right")
        return load_resized(s.a, self.load_size), load_resized(s.b, self.load_size)  # type: ignore[arg-type]


class UnpairedDataset(torch.utils.data.Dataset):
    """Unaligned domains: item i is A[i % |A|] with B chosen by a seeded permutation per
    epoch (set with :meth:`set_epoch`), so runs are reproducible and resumable."""

    def __init__(self, a: list[Path], b: list[Path], load_size: int, seed: int = 0) -> None:
        self.a, self.b, self.load_size, self.seed = a, b, load_size, seed
        self.set_epoch(0)

    def set_epoch(self, epoch: int) -> None:
        generator = torch.Generator().manual_seed(self.seed * 1_000_003 + epoch)
        self.b_order = torch.randperm(len(self.b), generator=generator).tolist()

    def __len__(self) -> int:
        return max(len(self.a), len(self.b))

    def __getitem__(self, index: int) -> tuple[torch.Tensor, torch.Tensor]:
        a = self.a[index % len(self.a)]
        b = self.b[self.b_order[index % len(self.b)]]
        return load_resized(a, self.load_size), load_resized(b, self.load_size)
