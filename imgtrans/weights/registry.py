"""The registry of named checkpoints in ``pretrained/registry.json``.

It is data, not code, so published weights can be added without touching a plugin, and it is
validated strictly: a typo in a field name must be an error, not a silently ignored setting.
"""

from __future__ import annotations

import dataclasses
import json
from functools import lru_cache
from pathlib import Path
from typing import Any

import imgtrans
from imgtrans.errors import WeightsError
from imgtrans.translators.base import WeightSpec

REGISTRY_FILE = "registry.json"

_FIELD_TYPES: dict[str, type | tuple[type, ...]] = {
    "name": str, "plugin": str, "url": (str, type(None)), "file": (str, type(None)),
    "repo": (str, type(None)),
    "sha256": (str, type(None)), "license": (str, type(None)), "source": (str, type(None)),
    "description": str, "default": bool, "options": dict, "preprocessing": dict, "aliases": list,
    "trained_on": str, "fallback": (str, type(None)), "examples": (str, type(None)),
}
# ``package`` is set by imgtrans for specs that plugins declare, never in the registry file.
assert set(_FIELD_TYPES) == {f.name for f in dataclasses.fields(WeightSpec)} - {"package"}


def pretrained_dir() -> Path:
    """The folder holding ``registry.json`` and bundled weights.

    A wheel ships it as ``imgtrans/_pretrained``; a source checkout has it as the top-level
    ``pretrained/`` folder next to the ``imgtrans`` package.
    """
    package = Path(imgtrans.__file__).resolve().parent
    installed = package / "_pretrained"
    return installed if installed.is_dir() else package.parent / "pretrained"


def parse_registry(data: Any, source: str = REGISTRY_FILE) -> list[WeightSpec]:
    """Validate registry JSON (already decoded) and build the specs.

    ``source`` names the file in error messages. Raises ``WeightsError`` naming the entry
    at fault for: unknown or missing fields, wrong types, a name that is not
    ``"<plugin>.<tag>"``, duplicate names, or two defaults for one plugin.
    """
    if not isinstance(data, dict) or set(data) != {"weights"} or not isinstance(data["weights"], list):
        raise WeightsError(f'{source}: expected an object {{"weights": [...]}} and nothing else')
    specs: list[WeightSpec] = []
    seen: set[str] = set()
    defaults: dict[str, str] = {}
    for index, entry in enumerate(data["weights"]):
        where = f"{source}: entry {index}"
        if not isinstance(entry, dict):
            raise WeightsError(f"{where}: expected an object, got {type(entry).__name__}")
        if isinstance(entry.get("name"), str):
            where += f" ({entry['name']!r})"
        unknown = sorted(set(entry) - set(_FIELD_TYPES))
        if unknown:
            raise WeightsError(f"{where}: unknown field(s) {', '.join(unknown)}; "
                               f"allowed: {', '.join(_FIELD_TYPES)}")
        if "name" not in entry:
            raise WeightsError(f"{where}: missing required field 'name'")
        for key, value in entry.items():
            if not isinstance(value, _FIELD_TYPES[key]):
                raise WeightsError(f"{where}: field {key!r} has the wrong type "
                                   f"({type(value).__name__})")
        name = entry["name"]
        plugin = entry.get("plugin") or name.split(".", 1)[0]
        if "." not in name or not name.startswith(plugin + ".") or name == plugin + ".":
            raise WeightsError(f"{where}: name must be '<translator>.<tag>'"
                               + (f" with translator {plugin!r}" if entry.get("plugin") else ""))
        if any(not isinstance(a, str) or not a for a in entry.get("aliases", [])):
            raise WeightsError(f"{where}: aliases must be non-empty strings")
        if name in seen:
            raise WeightsError(f"{where}: duplicate name {name!r}")
        if not (entry.get("url") or entry.get("file") or entry.get("repo")):
            raise WeightsError(f"{where}: needs a 'url', a 'file' or a 'repo'")
        sha = entry.get("sha256")
        if sha is not None and (len(sha) != 64 or any(c not in "0123456789abcdefABCDEF" for c in sha)):
            raise WeightsError(f"{where}: sha256 must be 64 hex digits")
        if entry.get("default"):
            if plugin in defaults:
                raise WeightsError(f"{where}: {defaults[plugin]!r} is already the default "
                                   f"for {plugin!r}")
            defaults[plugin] = name
        seen.add(name)
        specs.append(WeightSpec(**entry))
    by_name = {s.name: s for s in specs}
    for spec in specs:
        stand_in = by_name.get(spec.fallback) if spec.fallback else None
        if spec.fallback and (stand_in is None or stand_in.plugin != spec.plugin or not stand_in.file):
            raise WeightsError(f"{source}: {spec.name!r}: fallback {spec.fallback!r} must name bundled "
                               f"weights of {spec.plugin!r} in the registry")
    return specs


@lru_cache(maxsize=None)
def _load(path: Path) -> tuple[WeightSpec, ...]:
    if not path.is_file():
        return ()
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise WeightsError(f"cannot read the weights registry {path}: {exc}") from exc
    return tuple(parse_registry(data, str(path)))


def load_registry(path: Path | None = None) -> list[WeightSpec]:
    """The specs in ``registry.json`` (default: the one in ``pretrained_dir()``).

    Read once per process; a missing file means no entries. Returns a fresh list each
    call, so callers may extend it. ``load_registry.cache_clear()`` forgets what was read.
    """
    return list(_load((path or pretrained_dir() / REGISTRY_FILE).resolve()))


load_registry.cache_clear = _load.cache_clear  # type: ignore[attr-defined]
