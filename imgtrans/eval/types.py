"""The evaluation's vocabulary, torch-free so that plugins can declare measures cheaply.

A *metric* is built in (``l1``, ``psnr``, ``ssim``, ``lpips`` per pair; ``fid``, ``kid`` over
the two sets). A *measure* is anything else a plugin registers with ``register_measures``:
it receives a :class:`MeasureContext` (the matched files and the settings) and returns named
values, e.g. srgan's ``bicubic`` (the bicubic baseline's PSNR/SSIM) or layout2im's
``object_accuracy``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Literal

from imgtrans.errors import UsageError

if TYPE_CHECKING:
    import torch

PAIRED_METRICS = ("l1", "psnr", "ssim", "lpips")
SET_METRICS = ("fid", "kid")
METRICS = PAIRED_METRICS + SET_METRICS
DEFAULT_METRICS = ("l1", "psnr", "ssim")
_NAME = re.compile(r"[a-z][a-z0-9_]*")


@dataclass(frozen=True)
class EvalSettings:
    """How outputs are compared with targets.

    ``half``: each target is a side-by-side A|B pair; compare with its left or right half
    (split at ``int(w / 2)``, as the pix2pix reference). ``y_channel``: compare the BT.601
    luma only. ``crop_border``: drop this many pixels on every side first. ``resize_target``:
    resize a target whose size differs from its output (antialiased bicubic, rounded to the
    target's levels) instead of failing the pair. ``suffix``: text at the end of output names
    ignored when matching (convert's ``--suffix``, ``_fake_B``). ``downscale``: the inputs
    are (or were) the targets downscaled by this factor, the super-resolution protocol:
    targets are cropped to a multiple of it, and measures such as ``bicubic`` use it.
    """

    half: Literal["left", "right"] | None = None
    y_channel: bool = False
    crop_border: int = 0
    resize_target: bool = False
    suffix: str = ""
    downscale: int | None = None

    def __post_init__(self) -> None:
        if self.half not in (None, "left", "right"):
            raise UsageError(f"half {self.half!r}: choose left or right")
        if self.crop_border < 0:
            raise UsageError(f"crop_border must be >= 0, got {self.crop_border}")
        if self.downscale is not None and self.downscale < 2:
            raise UsageError(f"downscale must be an integer >= 2, got {self.downscale}")


@dataclass(frozen=True)
class EvalItem:
    """One output file, with its target and the translator input it came from when known.
    ``name`` is the output's path relative to the outputs folder, without extension (and
    without the ``_s<k>`` of sample ``k`` when inputs are matched)."""

    name: str
    output: Path
    target: Path | None = None
    input: Path | None = None
    sample: int = 0


@dataclass(frozen=True)
class Measure:
    """A translator-specific measure, registered by a plugin's ``register_measures`` hook.

    ``name``: lower case, letters, digits and ``_``; what ``--metrics`` names. ``compute``:
    called once with a :class:`MeasureContext`; returns ``{value name: float}`` (the names
    shown in tables and JSON, e.g. ``{"bicubic_psnr": 28.9, "bicubic_ssim": 0.78}``); raise
    ``UsageError`` with a one-line reason when it cannot run (the other metrics go on).
    ``needs_targets`` / ``needs_inputs``: the command refuses to run it without TARGETS or
    ``--inputs``. Keep ``compute`` cheap to import: import torch inside it.
    """

    name: str
    summary: str
    compute: Callable[["MeasureContext"], dict[str, float]]
    needs_targets: bool = True
    needs_inputs: bool = False

    def __post_init__(self) -> None:
        if not _NAME.fullmatch(self.name) or self.name in METRICS:
            raise UsageError(f"measure name {self.name!r}: lower case letters, digits and _, "
                             f"not one of the built-in metrics ({', '.join(METRICS)})")


@dataclass
class MeasureContext:
    """What a measure sees: the items (outputs with their targets and inputs) and the
    settings. Images come as float64 tensors (1, 3, H, W) in [0, 1], RGB."""

    items: list[EvalItem]
    settings: EvalSettings
    device: str = "cpu"
    file_values: dict[str, dict[str, float]] = field(default_factory=dict)

    def read_output(self, item: EvalItem) -> "torch.Tensor":
        from imgtrans.eval.pairs import read_rgb

        return read_rgb(item.output)[0]

    def read_target(self, item: EvalItem) -> "torch.Tensor":
        """The target as the paired metrics see it: the chosen half, cropped to a multiple
        of ``settings.downscale`` (not resized to the output)."""
        from imgtrans.eval.pairs import read_target

        if item.target is None:
            raise UsageError(f"{item.name}: no target")
        return read_target(item.target, self.settings)[0]

    def compare(self, a: "torch.Tensor", b: "torch.Tensor") -> dict[str, float]:
        """``{"l1", "psnr", "ssim"}`` of two same-size images under the settings (Y channel,
        border crop): the protocol of the built-in metrics."""
        from imgtrans.eval.paired import compare

        return compare(a, b, self.settings, ("l1", "psnr", "ssim"))

    def add_file_value(self, item: EvalItem, key: str, value: float) -> None:
        """Report a per-file value (shown with ``--per-file`` and in JSON)."""
        self.file_values.setdefault(item.name, {})[key] = float(value)


def parse_metrics(text: str | None, measures: dict[str, Measure] | None = None) -> list[str]:
    """``"l1,psnr,fid"`` -> names, checked against the built-ins and registered measures."""
    names = [n.strip().lower() for n in (text or ",".join(DEFAULT_METRICS)).split(",") if n.strip()]
    known = list(METRICS) + sorted(measures or {})
    unknown = [n for n in names if n not in known]
    if unknown:
        raise UsageError(f"unknown metric(s) {', '.join(unknown)}; available: {', '.join(known)}")
    if not names:
        raise UsageError("--metrics names no metric")
    return list(dict.fromkeys(names))


def measure_summaries(measures: dict[str, Measure]) -> dict[str, Any]:
    return {name: m.summary for name, m in sorted(measures.items())}
