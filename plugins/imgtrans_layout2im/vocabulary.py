"""The vocabulary of a layout2im model (class names by index) and reading JSON files with
errors that name the file; shared by layout files, COCO annotations and checkpoints."""

from __future__ import annotations

import difflib
import json
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from imgtrans.plugin import InputError, read_json_file

IMAGE_TOKEN = "__image__"
"""Name of the reserved whole-image entry at index 0 of COCO and Visual Genome vocabularies."""
GAP_TOKEN = "NONE"
"""Name of the unused slots of a COCO vocabulary (category ids are not contiguous)."""
_RESERVED = (IMAGE_TOKEN, GAP_TOKEN)


class Vocabulary:
    """The model's classes: ``names[i]`` is the name of class index ``i``.

    Index 0 may be ``"__image__"`` and unused slots ``"NONE"``, as in the vocabulary the
    reference COCO loader builds (index = COCO category id). Those reserved entries keep
    their index but are not usable as object labels. Names other than ``"NONE"`` must be
    unique.
    """

    def __init__(self, names: Sequence[str]) -> None:
        names = list(names)
        if not names:
            raise ValueError("a vocabulary needs at least one name")
        index: dict[str, int] = {}
        for i, name in enumerate(names):
            if not isinstance(name, str) or not name:
                raise ValueError(f"vocabulary entry {i} is {name!r}; names must be non-empty "
                                 f"strings")
            if name == GAP_TOKEN:
                continue
            if name in index:
                raise ValueError(f"vocabulary name {name!r} appears twice (indices {index[name]} "
                                 f"and {i})")
            index[name] = i
        self._names = tuple(names)
        self._index = index

    # -- lookup ---------------------------------------------------------------------------
    @property
    def names(self) -> tuple[str, ...]:
        return self._names

    def __len__(self) -> int:
        return len(self._names)

    def __iter__(self) -> Iterator[str]:
        return iter(self._names)

    def __contains__(self, item: object) -> bool:
        if isinstance(item, str):
            return item in self._index
        if isinstance(item, int) and not isinstance(item, bool):
            return 0 <= item < len(self._names)
        return False

    def __getitem__(self, item: int | str) -> str | int:
        """``vocab[3]`` is a name, ``vocab["person"]`` an index."""
        if isinstance(item, str):
            return self.index(item)
        return self.name(item)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Vocabulary) and other._names == self._names

    def __hash__(self) -> int:
        return hash(self._names)

    def __repr__(self) -> str:
        shown = ", ".join(repr(n) for n in self._names[:4])
        more = f", ... ({len(self)} entries)" if len(self) > 4 else ""
        return f"Vocabulary([{shown}{more}])"

    def index(self, name: str) -> int:
        """The index of ``name``; ``KeyError`` (with the closest names) when unknown."""
        try:
            return self._index[name]
        except KeyError:
            close = self.closest(name)
            hint = f"; closest: {', '.join(close)}" if close else ""
            raise KeyError(f"{name!r} is not in the vocabulary{hint}") from None

    def name(self, index: int) -> str:
        if not 0 <= index < len(self._names):
            raise IndexError(f"class index {index} is out of range (0..{len(self._names) - 1})")
        return self._names[index]

    def is_label(self, index: int) -> bool:
        """True when ``index`` is a class objects may have (not ``__image__`` or a gap)."""
        return 0 <= index < len(self._names) and self._names[index] not in _RESERVED

    @property
    def labels(self) -> list[str]:
        """Names usable as object labels, in index order."""
        return [n for n in self._names if n not in _RESERVED]

    def closest(self, name: str, n: int = 3) -> list[str]:
        """Up to ``n`` usable names closest to ``name`` (difflib), case-insensitive matches
        first."""
        labels = self.labels
        lowered: dict[str, list[str]] = {}
        for label in labels:
            lowered.setdefault(label.lower(), []).append(label)
        out = list(lowered.get(name.lower(), []))
        for match in difflib.get_close_matches(name.lower(), list(lowered), n=n + len(out),
                                               cutoff=0.6):
            out += [m for m in lowered[match] if m not in out]
        return out[:n]

    # -- serialisation --------------------------------------------------------------------
    def to_json(self) -> dict[str, Any]:
        """``{"names": [...]}``, JSON-able (e.g. for checkpoint metadata)."""
        return {"names": list(self._names)}

    @classmethod
    def from_json(cls, data: Any) -> "Vocabulary":
        """From ``to_json()`` output, a plain list of names, or a reference (sg2im-style)
        vocabulary dict with ``object_idx_to_name`` or ``object_name_to_idx``. A JSON string
        is parsed first."""
        if isinstance(data, str):
            data = json.loads(data)
        if isinstance(data, list):
            return cls(data)
        if isinstance(data, dict):
            if "names" in data:
                return cls(data["names"])
            if "object_idx_to_name" in data:
                return cls(data["object_idx_to_name"])
            if "object_name_to_idx" in data:
                mapping = data["object_name_to_idx"]
                if not mapping:
                    raise ValueError("object_name_to_idx is empty")
                names = [GAP_TOKEN] * (max(mapping.values()) + 1)
                for name, idx in mapping.items():
                    names[idx] = name
                return cls(names)
        raise ValueError("a vocabulary is a list of names or a dict with 'names', "
                         "'object_idx_to_name' or 'object_name_to_idx'")

    @classmethod
    def read(cls, path: Path) -> "Vocabulary":
        """A vocabulary JSON file (any form ``from_json`` takes); ``InputError`` when bad."""
        data = read_json(Path(path))
        try:
            return cls.from_json(data)
        except (ValueError, TypeError) as exc:
            raise InputError(path, f"not a vocabulary: {exc}") from None


def read_json(path: Path) -> Any:
    """Parsed JSON of ``path`` (size, depth and number limits); ``InputError`` naming the
    file and the problem."""
    return read_json_file(path)
