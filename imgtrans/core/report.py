"""Results as values: each work item ends done, skipped or failed; the run report sums them."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal

Status = Literal["done", "skipped", "failed", "interrupted", "planned"]


@dataclass
class ItemResult:
    """What happened to one input. ``seconds`` is the item's share of read, translate and
    write time."""

    input: str
    output: str
    status: Status
    error: str | None = None
    seconds: float = 0.0
    outputs: list[str] | None = None
    """All files written, when an input gives several (samples)."""
    video: dict[str, Any] | None = None
    """For a video: frames converted, segments, copied streams and the effective encoding
    settings (codec, pixel format, options)."""
    input_sha256: str | None = None
    """The input file's sha256, when its outputs carry metadata or provenance."""


@dataclass
class RunReport:
    """A whole run: settings, per-item results and totals. Written by ``--report``."""

    settings: dict[str, Any] = field(default_factory=dict)
    items: list[ItemResult] = field(default_factory=list)
    wall_seconds: float = 0.0
    interrupted: bool = False

    def count(self, status: Status) -> int:
        return sum(1 for item in self.items if item.status == status)

    @property
    def images_per_second(self) -> float:
        done = self.count("done")
        return done / self.wall_seconds if self.wall_seconds > 0 else 0.0

    def summary(self) -> dict[str, Any]:
        return {"done": self.count("done"), "skipped": self.count("skipped"),
                "failed": self.count("failed"), "interrupted": self.count("interrupted"),
                "wall_seconds": round(self.wall_seconds, 3),
                "images_per_second": round(self.images_per_second, 3)}

    def to_dict(self) -> dict[str, Any]:
        return {"settings": self.settings, "summary": self.summary(),
                "interrupted": self.interrupted, "items": [asdict(i) for i in self.items]}

    def write(self, path: Path) -> None:
        from imgtrans.core.writers import write_atomic

        write_atomic(Path(path), json.dumps(self.to_dict(), indent=2).encode("utf-8"))


def check_report_path(path: Path) -> None:
    """Refuse, as a usage error, a report path that cannot be written, before any work:
    finding out after the images were converted would lose the report of a long run."""
    from imgtrans.core.display import shown
    from imgtrans.core.writers import check_writable
    from imgtrans.errors import UsageError

    try:
        check_writable(Path(path))
    except OSError as exc:
        raise UsageError(f"--report {shown(path)}: cannot write the report there "
                         f"({shown(exc.strerror or exc)})") from None
