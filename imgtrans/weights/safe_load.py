"""Read and write checkpoints without ever executing code from them.

A ``.pth`` file is a pickle, and unpickling can run anything. We load safetensors directly
and everything else with ``torch.load(weights_only=True)``, which only rebuilds tensors and
plain containers; a file that needs more is refused, never loaded "just this once".
"""

from __future__ import annotations

import json
import os
import pickle
import re
import stat
import struct
from pathlib import Path
from typing import TYPE_CHECKING, Any, Mapping

from imgtrans.errors import WeightsError
from imgtrans.finite import all_finite
from imgtrans.tempfiles import create_beside

if TYPE_CHECKING:
    import torch


def _is_safetensors(path: Path) -> bool:
    """By suffix, or by content: an 8-byte little-endian header size followed by ``{``."""
    if path.suffix == ".safetensors":
        return True
    with open(path, "rb") as f:
        head = f.read(9)
    if len(head) < 9 or head[8:9] != b"{":
        return False
    size = struct.unpack("<Q", head[:8])[0]
    return 0 < size <= path.stat().st_size - 8


def load_state_dict(path: Path) -> dict[str, "torch.Tensor"]:
    """Load a checkpoint file into a dict on the CPU, executing no code from the file.

    Safetensors files (by suffix or content) give ``{name: tensor}``. Pickle-based files
    (``.pth``, ``.pt``, ``.ckpt``, ``.bin``) may also hold plain values and nested dicts
    (``{"state_dict": {...}, "epoch": 3}``); unwrapping them is the caller's business.
    Raises ``WeightsError`` if the file is missing, unreadable, holds anything but tensors
    and plain containers (refused for safety), or is not a dict at the top level.
    """
    path = Path(path)
    if not path.is_file():
        what = ("is a folder, not a checkpoint file" if path.is_dir() else
                "is not a regular file (a pipe, device or socket)" if path.exists() else "does not exist")
        raise WeightsError(f"{path} {what}")
    state = _load_any(path)
    _check_finite(path, state)
    return state


def _check_finite(path: Path, state: Mapping[str, Any]) -> None:
    """Weights holding NaN or infinity give black or garbage images: refuse them by name."""
    import torch

    def walk(mapping: Mapping[str, Any], prefix: str = "") -> Any:
        for key, value in mapping.items():
            if isinstance(value, Mapping):
                yield from walk(value, f"{prefix}{key}.")
            elif isinstance(value, torch.Tensor) and value.is_floating_point():
                yield f"{prefix}{key}", value

    bad = [k for k, v in walk(state) if not all_finite(v)]
    if bad:
        shown = ", ".join(bad[:3]) + (f" and {len(bad) - 3} more" if len(bad) > 3 else "")
        raise WeightsError(f"{path} holds non-finite values (NaN or infinity) in {shown}: "
                           f"the weights are broken (a diverged training run?)")


def _load_any(path: Path) -> dict[str, "torch.Tensor"]:
    import torch

    if _is_safetensors(path):
        from safetensors.torch import load_file
        try:
            return load_file(str(path), device="cpu")
        except Exception as exc:
            raise WeightsError(f"{path} is not a valid safetensors file: {exc}") from exc
    try:
        obj = torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as exc:
        text = str(exc)
        if "weights only" not in text.lower() or "Unsupported operand" in text:
            reason = "unexpected bytes" if "Unsupported operand" in text else text
            raise WeightsError(f"{path} is not a readable checkpoint ({reason})") from exc
        found = re.search(r"GLOBAL (\S+)", text)
        detail = f" (it references {found.group(1)})" if found else ""
        raise WeightsError(
            f"{path} contains objects other than tensors{detail} and was refused for safety: "
            f"loading it could run code. imgtrans never executes code from weights files; "
            f"convert it to safetensors in a trusted environment.") from exc
    except Exception as exc:
        raise WeightsError(f"{path} is not a readable checkpoint "
                           f"({type(exc).__name__}: {exc})") from exc
    if not isinstance(obj, dict):
        raise WeightsError(f"{path} holds a {type(obj).__name__}, not a dict of named tensors "
                           f"(a state dict)")
    return dict(obj)


def load_metadata(path: Path) -> dict[str, str]:
    """The string metadata stored in a safetensors header ({} if none)."""
    from safetensors import safe_open
    try:
        with safe_open(str(path), framework="pt") as f:
            return dict(f.metadata() or {})
    except Exception as exc:
        raise WeightsError(f"{path} is not a valid safetensors file: {exc}") from exc


def save_state_dict(tensors: Mapping[str, "torch.Tensor"], path: Path,
                    metadata: Mapping[str, Any] | None = None) -> Path:
    """Write ``tensors`` as safetensors at ``path`` atomically (temp file + ``os.replace``).

    Tensors are moved to the CPU and made contiguous; tensors sharing memory (tied weights)
    are copied, since safetensors stores each separately. Metadata values that are not
    strings are stored as JSON text. Returns ``path``.
    """
    from safetensors.torch import save_file

    path = Path(path)
    plain: dict[str, Any] = {}
    seen: set[int] = set()
    for name, tensor in tensors.items():
        t = tensor.detach().to("cpu").contiguous()
        storage = t.untyped_storage()
        if storage.data_ptr() in seen or storage.nbytes() != t.nbytes:
            t = t.clone()
        if t.nbytes:
            seen.add(t.untyped_storage().data_ptr())
        plain[name] = t
    meta = {str(k): v if isinstance(v, str) else json.dumps(v) for k, v in (metadata or {}).items()}
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp_name, fd = create_beside(path, f".{path.name}.", ".part")
    mode = os.fstat(fd).st_mode  # what the umask gives; safetensors leaves the file 0o600
    os.close(fd)
    try:
        save_file(plain, tmp_name, metadata=meta or None)
        os.chmod(tmp_name, stat.S_IMODE(mode))
        os.replace(tmp_name, path)
    except BaseException:
        Path(tmp_name).unlink(missing_ok=True)
        raise
    return path
