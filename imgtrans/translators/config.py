"""A base for network configuration dataclasses: everything needed to rebuild a network,
saved as plain JSON next to its weights (in checkpoints and run reports)."""

from __future__ import annotations

import dataclasses
from typing import Any, Mapping, TypeVar

C = TypeVar("C", bound="NetworkConfig")


class NetworkConfig:
    """Mix into a (frozen) dataclass to get ``to_dict``/``from_dict``; ``from_dict`` refuses
    unknown fields, so a config written by a newer or different model is not silently cut."""

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)  # type: ignore[call-overload]

    @classmethod
    def from_dict(cls: type[C], data: Mapping[str, Any]) -> C:
        unknown = sorted(set(data) - {f.name for f in dataclasses.fields(cls)})  # type: ignore[arg-type]
        if unknown:
            raise ValueError(f"unknown {cls.__name__} field(s): {', '.join(unknown)}")
        return cls(**data)
