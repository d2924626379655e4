"""Score translated images against references: match files, read and align each pair, and
compute L1, PSNR and SSIM (see :mod:`imgtrans.core.metrics` for the conventions).

Files are matched by their path relative to the folder given, without the extension, so
``out/sub/x.png`` matches ``targets/sub/x.jpg``. A target can be a side-by-side A|B pair
(the pix2pix aligned layout): ``half`` picks the reference half, split at ``int(w / 2)`` as
the reference implementation does.
"""

from __future__ import annotations

import json
import math
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Callable, Literal

import numpy as np
import torch

from imgtrans.core import metrics
from imgtrans.core.readers import IMAGE_EXTENSIONS, read_image
from imgtrans.errors import ImgtransError, NoInputsError, UsageError

METRICS = ("l1", "psnr", "ssim")


@dataclass(frozen=True)
class ScoreSettings:
    """How each pair is compared.

    ``half``: take the left or right half of each target (A|B pairs); ``y_channel``: compare
    the BT.601 luma only; ``crop_border``: drop this many pixels on every side first;
    ``resize_target``: resize a target whose size differs from its output (antialiased
    bicubic, rounded to the target's levels as PIL would) instead of failing the pair;
    ``suffix``: text at the end of output names (before the extension) ignored when
    matching, e.g. the ``--suffix`` given to ``imgtrans convert``.
    """

    half: Literal["left", "right"] | None = None
    y_channel: bool = False
    crop_border: int = 0
    resize_target: bool = False
    suffix: str = ""

    def __post_init__(self) -> None:
        if self.half not in (None, "left", "right"):
            raise UsageError(f"half {self.half!r}: choose left or right")
        if self.crop_border < 0:
            raise UsageError(f"crop_border must be >= 0, got {self.crop_border}")


@dataclass
class FileScore:
    """One matched pair: the metrics, or the reason it could not be scored."""

    name: str
    output: str
    target: str
    l1: float | None = None
    psnr: float | None = None
    ssim: float | None = None
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.error is None


@dataclass
class ScoreReport:
    """All pairs, what did not match, and the means over the pairs that were scored."""

    settings: dict[str, Any] = field(default_factory=dict)
    files: list[FileScore] = field(default_factory=list)
    unmatched_outputs: list[str] = field(default_factory=list)
    unmatched_targets: list[str] = field(default_factory=list)
    ambiguous: list[str] = field(default_factory=list)
    """Files left out because another file in the same folder has the same name without
    extension (``x.png`` and ``x.jpg``)."""

    @property
    def scored(self) -> list[FileScore]:
        return [f for f in self.files if f.ok]

    @property
    def failed(self) -> list[FileScore]:
        return [f for f in self.files if not f.ok]

    def mean(self) -> dict[str, float] | None:
        """Mean of each metric over the scored pairs (PSNR is ``inf`` if any pair is
        identical); ``None`` when no pair was scored."""
        scored = self.scored
        if not scored:
            return None
        return {m: math.fsum(getattr(f, m) for f in scored) / len(scored) for m in METRICS}

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready: infinite PSNR (identical images) becomes ``null``."""
        mean = self.mean()
        return {"settings": self.settings,
                "mean": None if mean is None else {k: _finite(v) for k, v in mean.items()},
                "scored": len(self.scored), "failed": len(self.failed),
                "files": [{k: _finite(v) for k, v in asdict(f).items()} for f in self.files],
                "unmatched_outputs": self.unmatched_outputs,
                "unmatched_targets": self.unmatched_targets, "ambiguous": self.ambiguous}

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2, allow_nan=False)

    def write(self, path: Path) -> None:
        from imgtrans.core.writers import write_atomic

        write_atomic(Path(path), self.to_json().encode("utf-8"))


def _finite(value: Any) -> Any:
    return None if isinstance(value, float) and not math.isfinite(value) else value


def _image_files(root: Path) -> list[Path]:
    found = []
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
        here = Path(dirpath)
        found.extend(here / f for f in sorted(filenames) if not f.startswith(".")
                     and Path(f).suffix.lstrip(".").lower() in IMAGE_EXTENSIONS)
    return found


def _keyed(root: Path, suffix: str = "") -> tuple[dict[str, Path], list[Path], bool]:
    """{key: file} for a folder (keys: relative path without extension) or a single file
    (key: its stem), the files whose key is ambiguous, and whether ``root`` is a file."""
    if root.is_file():
        files, base, single = [root], root.parent, True
    elif root.is_dir():
        files, base, single = _image_files(root), root, False
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


def _load(path: Path) -> tuple[torch.Tensor, int]:
    """(1, 3, H, W) float64 RGB in [0, 1] (gray expanded, alpha dropped), and the levels."""
    from imgtrans.core.preprocess import convert_channels

    pixels = read_image(path).pixels
    levels = int(np.iinfo(pixels.dtype).max)
    array = pixels.astype(np.float64) / levels  # float64 throughout: exact 8/16-bit values
    tensor = torch.from_numpy(array if array.ndim == 3 else array[..., None]).permute(2, 0, 1)[None]
    return convert_channels(tensor, 3), levels


def _split(target: torch.Tensor, half: str | None) -> torch.Tensor:
    if half is None:
        return target
    width = target.shape[-1]
    if width < 2:
        raise ValueError(f"cannot split a {width}-pixel-wide image into halves")
    middle = int(width / 2)
    return target[..., :middle] if half == "left" else target[..., middle:]


def _size(x: torch.Tensor) -> str:
    return f"{x.shape[-1]}x{x.shape[-2]}"


def score_pair(output_path: Path, target_path: Path, settings: ScoreSettings) -> dict[str, float]:
    """{"l1", "psnr", "ssim"} for one pair; raises ``ImgtransError``/``ValueError`` with a
    one-line reason when the pair cannot be compared."""
    from imgtrans.core.preprocess import resize

    output, _ = _load(output_path)
    target, levels = _load(target_path)
    target = _split(target, settings.half)
    if output.shape[-2:] != target.shape[-2:]:
        what = f"{settings.half} half of the target" if settings.half else "target"
        if not settings.resize_target:
            raise ValueError(f"size differs: output {_size(output)}, {what} {_size(target)} "
                             "(use --resize-target to resize the target to the output)")
        target = resize(target.float(), tuple(output.shape[-2:]), "bicubic", levels=levels)
        target = ((target.clamp(0.0, 1.0) * levels).round() / levels).double()
    if settings.y_channel:
        output, target = metrics.rgb_to_y(output), metrics.rgb_to_y(target)
    output = metrics.crop_border(output, settings.crop_border)
    target = metrics.crop_border(target, settings.crop_border)
    return {"l1": float(metrics.l1(output, target)[0]), "psnr": float(metrics.psnr(output, target)[0]),
            "ssim": float(metrics.ssim(output, target)[0])}


def score(outputs: Path | str, targets: Path | str, settings: ScoreSettings | None = None,
          on_result: Callable[[FileScore], None] | None = None) -> ScoreReport:
    """Match ``outputs`` to ``targets`` (folders or files) and score every pair.

    A pair that cannot be scored (unreadable, sizes differ, too small for SSIM) gets its
    ``error`` and the others go on. Raises ``NoInputsError`` when no file pairs up.
    """
    settings = settings or ScoreSettings()
    pairs, unmatched_out, unmatched_tgt, ambiguous = match_files(Path(outputs), Path(targets),
                                                                 settings.suffix)
    report = ScoreReport(settings={"outputs": str(outputs), "targets": str(targets), **asdict(settings)},
                         unmatched_outputs=[str(p) for p in unmatched_out],
                         unmatched_targets=[str(p) for p in unmatched_tgt],
                         ambiguous=[str(p) for p in ambiguous])
    if not pairs:
        raise NoInputsError(f"no output in {outputs} matches a target in {targets} "
                            "(files are matched by relative path without extension)")
    for key, out_path, tgt_path in pairs:
        item = FileScore(name=key, output=str(out_path), target=str(tgt_path))
        try:
            values = score_pair(out_path, tgt_path, settings)
            item.l1, item.psnr, item.ssim = values["l1"], values["psnr"], values["ssim"]
        except (ImgtransError, ValueError) as exc:
            item.error = str(exc)
        report.files.append(item)
        if on_result is not None:
            on_result(item)
    return report
