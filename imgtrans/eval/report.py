"""The result of an evaluation: per-file values, means, set metrics, measures, and what could
not be matched or measured; as a dict, JSON (infinite PSNR becomes ``null``) or a file."""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


@dataclass
class FileScore:
    """One output: its values (paired metrics and per-file measure values), or the reason
    it could not be scored."""

    name: str
    output: str
    target: str | None = None
    values: dict[str, float | None] = field(default_factory=dict)
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.error is None

    def __getattr__(self, name: str) -> Any:  # item.psnr, item.l1...
        values = self.__dict__.get("values", {})
        if name in values:
            return values[name]
        raise AttributeError(name)


@dataclass
class EvalReport:
    """Everything one evaluation measured."""

    settings: dict[str, Any] = field(default_factory=dict)
    paired: list[str] = field(default_factory=list)
    """The paired metrics that were computed per file (``l1``, ``psnr``, ``ssim``, ``lpips``)."""
    files: list[FileScore] = field(default_factory=list)
    sets: dict[str, float] = field(default_factory=dict)
    """FID / KID (``kid``, ``kid_std``) between all outputs and all targets."""
    measures: dict[str, float] = field(default_factory=dict)
    unavailable: dict[str, str] = field(default_factory=dict)
    """Requested metrics or measures that could not run, with the reason."""
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
        """Mean of each paired metric over the scored files (PSNR is ``inf`` if any pair is
        identical); ``None`` when no file was scored."""
        scored = self.scored
        if not scored or not self.paired:
            return None
        return {m: math.fsum(f.values[m] for f in scored) / len(scored)  # type: ignore[misc]
                for m in self.paired if all(f.values.get(m) is not None for f in scored)}

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready: infinite PSNR (identical images) becomes ``null``."""
        mean = self.mean()
        return {"settings": self.settings,
                "mean": None if mean is None else {k: _finite(v) for k, v in mean.items()},
                "sets": {k: _finite(v) for k, v in self.sets.items()},
                "measures": {k: _finite(v) for k, v in self.measures.items()},
                "unavailable": self.unavailable,
                "scored": len(self.scored), "failed": len(self.failed),
                "files": [{"name": f.name, "output": f.output, "target": f.target,
                           **{k: _finite(v) for k, v in f.values.items()}, "error": f.error}
                          for f in self.files],
                "unmatched_outputs": self.unmatched_outputs,
                "unmatched_targets": self.unmatched_targets, "ambiguous": self.ambiguous}

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2, allow_nan=False)

    def write(self, path: Path) -> None:
        from imgtrans.core.writers import write_atomic

        write_atomic(Path(path), self.to_json().encode("utf-8"))


def _finite(value: Any) -> Any:
    return None if isinstance(value, float) and not math.isfinite(value) else value
