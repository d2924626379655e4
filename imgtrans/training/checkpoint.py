"""Self-describing checkpoints: a folder that ``convert --weights`` loads with no other flag.

    <checkpoint>/
      imgtrans.json          plugin, network configs, options, step, epoch
      <network>.safetensors  one file per network (G, D, G_A, ...)
      trainer_state.pt       optimizers, schedules, RNG, data position (for --resume);
                             tensors and plain containers only, loaded with weights_only=True

A run folder keeps ``checkpoints/step_<N>/`` and ``checkpoints/latest/``; every folder is
written to a temporary name and renamed into place, so a killed run never leaves a half
checkpoint.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any, Callable

import torch

from imgtrans.errors import WeightsError
from imgtrans.weights import load_state_dict, save_state_dict

META_FILE = "imgtrans.json"
STATE_FILE = "trainer_state.pt"
FORMAT = "imgtrans-checkpoint"


def is_checkpoint(path: Path) -> bool:
    return (Path(path) / META_FILE).is_file()


def resolve_checkpoint(path: Path) -> Path:
    """A checkpoint folder, or a run folder (meaning its latest checkpoint)."""
    path = Path(path)
    if is_checkpoint(path):
        return path
    if is_checkpoint(path / "checkpoints" / "latest"):
        return path / "checkpoints" / "latest"
    raise WeightsError(f"{path}: not an imgtrans checkpoint or run folder (no {META_FILE})")


def save_checkpoint(folder: Path, meta: dict[str, Any], networks: dict[str, torch.nn.Module],
                    trainer_state: dict[str, Any] | None = None,
                    extra: Callable[[Path], None] | None = None) -> Path:
    """Write a checkpoint folder atomically (temporary folder, then rename); ``extra`` may
    add files to the folder before it is renamed into place."""
    folder = Path(folder)
    folder.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{folder.name}.", dir=folder.parent))
    try:
        for name, net in networks.items():
            save_state_dict({k: v.detach().cpu() for k, v in net.state_dict().items()},
                            staging / f"{name}.safetensors")
        if trainer_state is not None:
            torch.save(trainer_state, staging / STATE_FILE)
        full_meta = {"format": FORMAT, "networks": sorted(networks), **meta}
        (staging / META_FILE).write_text(json.dumps(full_meta, indent=2, default=str))
        if extra is not None:
            extra(staging)
        if folder.exists():
            retired = folder.with_name(f".{folder.name}.old")
            shutil.rmtree(retired, ignore_errors=True)
            os.replace(folder, retired)
            os.replace(staging, folder)
            shutil.rmtree(retired, ignore_errors=True)
        else:
            os.replace(staging, folder)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return folder


def read_meta(folder: Path) -> dict[str, Any]:
    folder = resolve_checkpoint(folder)
    try:
        meta = json.loads((folder / META_FILE).read_text())
    except (OSError, json.JSONDecodeError) as exc:
        raise WeightsError(f"{folder / META_FILE}: unreadable checkpoint description: {exc}") from None
    if meta.get("format") != FORMAT:
        raise WeightsError(f"{folder / META_FILE}: not an imgtrans checkpoint")
    return meta


def load_network_state(folder: Path, name: str) -> dict[str, torch.Tensor]:
    folder = resolve_checkpoint(folder)
    path = folder / f"{name}.safetensors"
    if not path.is_file():
        have = ", ".join(sorted(p.stem for p in folder.glob("*.safetensors"))) or "none"
        raise WeightsError(f"{folder}: checkpoint has no network {name!r} (has: {have})")
    return load_state_dict(path)


def load_trainer_state(folder: Path) -> dict[str, Any]:
    path = resolve_checkpoint(folder) / STATE_FILE
    if not path.is_file():
        raise WeightsError(f"{path.parent}: checkpoint holds no training state to resume from")
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:
        raise WeightsError(f"{path}: cannot read training state safely: {exc}") from None
