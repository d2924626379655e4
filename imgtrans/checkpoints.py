"""The one checkpoint format imgtrans writes, read and written only here.

A checkpoint is a folder that ``convert --weights`` loads with no other flag::

    <checkpoint>/
      imgtrans.json          the description (below)
      <network>.safetensors  one file per network (G, D, G_A, ...)
      trainer_state.pt       optimizers, schedules, RNG, data position (for --resume);
                             tensors and plain containers only, loaded with weights_only=True
      ...                    files a translator adds (e.g. a diffusers model folder)

``imgtrans.json`` (format version 2)::

    {"format": "imgtrans-checkpoint", "format_version": 2,
     "translator": "srgan",                      # who can load it
     "networks": {"G": {...config...}, ...},     # how to rebuild each network
     "options": {...},                           # the training options of the run
     "step": 1800, "epoch": 100,
     "extra": {...}}                             # translator-specific (e.g. a vocabulary)

A run folder keeps ``checkpoints/step_<N>/`` and ``checkpoints/latest/``; a checkpoint is
written to a temporary folder and renamed into place, so a killed run never leaves half of
one. Version 1 descriptions (``plugin``, ``train_options``, configs under ``generators``,
``discriminators``, ``sr_config`` or ``layout2im_config``) are read as version 2.

Reading descriptions is torch-free: the core reads them to learn which translator weights
belong to before any model is built.
"""

from __future__ import annotations

import json
import os
import shutil
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Mapping

from imgtrans.errors import WeightsError

if TYPE_CHECKING:
    import torch

META_FILE = "imgtrans.json"
STATE_FILE = "trainer_state.pt"
FORMAT = "imgtrans-checkpoint"
FORMAT_VERSION = 2
MAX_META_BYTES = 16 << 20


@dataclass(frozen=True)
class Checkpoint:
    """What ``imgtrans.json`` says, whatever version wrote it.

    ``networks`` maps each network's name to its configuration (``{}`` when the writer gave
    none); ``options`` are the training options; ``extra`` is the translator's own data.
    """

    path: Path
    translator: str
    networks: dict[str, dict[str, Any]]
    options: dict[str, Any] = field(default_factory=dict)
    step: int | None = None
    epoch: int | None = None
    extra: dict[str, Any] = field(default_factory=dict)
    format_version: int = FORMAT_VERSION

    def network_config(self, name: str) -> dict[str, Any]:
        """The configuration of network ``name``; ``WeightsError`` naming those present."""
        if name not in self.networks:
            raise WeightsError(f"{self.path}: checkpoint of {self.translator!r} has no network "
                               f"{name!r} (has: {', '.join(sorted(self.networks)) or 'none'})")
        return self.networks[name]

    def state_dict(self, name: str) -> dict[str, "torch.Tensor"]:
        """The weights of network ``name`` (safetensors, never executes code)."""
        from imgtrans.weights.safe_load import load_state_dict

        self.network_config(name)
        path = self.path / f"{name}.safetensors"
        if not path.is_file():
            raise WeightsError(f"{self.path}: the weights of network {name!r} are missing ({path.name})")
        return load_state_dict(path)

    def expect(self, translator: str) -> "Checkpoint":
        """Self when it belongs to ``translator``; otherwise a ``WeightsError`` (exit 5)
        saying whose weights these are."""
        if self.translator != translator:
            raise WeightsError(f"{self.path}: these are {self.translator} weights, not {translator} "
                               f"weights; use --plugin {self.translator}")
        return self


def is_checkpoint(path: Path) -> bool:
    return (Path(path) / META_FILE).is_file()


def find_checkpoint(path: Path) -> Path | None:
    """The checkpoint folder ``path`` stands for (itself, or a run folder's latest), or None."""
    path = Path(path)
    for folder in (path, path / "checkpoints" / "latest"):
        if is_checkpoint(folder):
            return folder
    return None


def resolve_checkpoint(path: Path) -> Path:
    """A checkpoint folder, or a run folder (meaning its latest checkpoint)."""
    found = find_checkpoint(path)
    if found is None:
        raise WeightsError(f"{path}: not an imgtrans checkpoint or run folder (no {META_FILE})")
    return found


def read_checkpoint(path: Path, translator: str | None = None) -> Checkpoint:
    """The description of the checkpoint (or run folder) at ``path``; with ``translator``,
    also check that it belongs to that translator."""
    folder = resolve_checkpoint(path)
    meta_path = folder / META_FILE
    try:
        if meta_path.stat().st_size > MAX_META_BYTES:
            raise WeightsError(f"{meta_path}: checkpoint description larger than {MAX_META_BYTES >> 20} MB")
        meta = json.loads(meta_path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise WeightsError(f"{meta_path}: unreadable checkpoint description: {exc}") from None
    if not isinstance(meta, dict) or meta.get("format") != FORMAT:
        raise WeightsError(f"{meta_path}: not an imgtrans checkpoint description")
    checkpoint = _from_meta(folder, meta)
    return checkpoint.expect(translator) if translator else checkpoint


def _from_meta(folder: Path, meta: dict[str, Any]) -> Checkpoint:
    version = meta.get("format_version", 1)
    if version == 1:
        meta = _upgrade_v1(meta)
    elif version != FORMAT_VERSION:
        raise WeightsError(f"{folder / META_FILE}: checkpoint format version {version!r} is newer "
                           f"than this imgtrans reads ({FORMAT_VERSION}); upgrade imgtrans")
    translator, networks = meta.get("translator"), meta.get("networks")
    if not isinstance(translator, str) or not translator or not isinstance(networks, dict):
        raise WeightsError(f"{folder / META_FILE}: checkpoint description has no translator "
                           f"or networks")
    return Checkpoint(path=folder, translator=translator,
                      networks={str(k): dict(v or {}) for k, v in networks.items()},
                      options=dict(meta.get("options") or {}), step=meta.get("step"),
                      epoch=meta.get("epoch"), extra=dict(meta.get("extra") or {}),
                      format_version=version)


_V1_CONFIG_KEYS = ("generators", "discriminators")
_V1_SINGLE_CONFIG = {"sr_config": "G", "layout2im_config": "G"}
_V1_KNOWN = {"format", "plugin", "networks", "step", "epoch", "train_options",
             *_V1_CONFIG_KEYS, *_V1_SINGLE_CONFIG}


def _upgrade_v1(meta: dict[str, Any]) -> dict[str, Any]:
    """A version 1 description (imgtrans 0.1) as version 2."""
    configs: dict[str, dict[str, Any]] = {name: {} for name in meta.get("networks") or []}
    for key in _V1_CONFIG_KEYS:
        configs.update(meta.get(key) or {})
    for key, network in _V1_SINGLE_CONFIG.items():
        if key in meta:
            configs[network] = meta[key]
    return {"format": FORMAT, "format_version": FORMAT_VERSION, "translator": meta.get("plugin"),
            "networks": configs, "options": meta.get("train_options") or {},
            "step": meta.get("step"), "epoch": meta.get("epoch"),
            "extra": {k: v for k, v in meta.items() if k not in _V1_KNOWN}}


def describe(translator: str, networks: Mapping[str, Mapping[str, Any]], *,
             options: Mapping[str, Any] | None = None, step: int | None = None,
             epoch: int | None = None, extra: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """The ``imgtrans.json`` document (also used for ``run.json``)."""
    return {"format": FORMAT, "format_version": FORMAT_VERSION, "translator": translator,
            "networks": {k: dict(v) for k, v in networks.items()}, "options": dict(options or {}),
            "step": step, "epoch": epoch, "extra": dict(extra or {})}


def write_checkpoint(folder: Path, translator: str, networks: Mapping[str, "torch.nn.Module"],
                     configs: Mapping[str, Mapping[str, Any]] | None = None, *,
                     options: Mapping[str, Any] | None = None, step: int | None = None,
                     epoch: int | None = None, extra: Mapping[str, Any] | None = None,
                     trainer_state: dict[str, Any] | None = None,
                     add_files: Callable[[Path], None] | None = None) -> Path:
    """Write a checkpoint folder atomically (a temporary folder, then a rename).

    ``networks`` are saved as ``<name>.safetensors``; ``configs`` gives each one's
    configuration (networks without one get ``{}``); ``add_files`` may put more files in
    the folder before it is renamed into place. Returns ``folder``.
    """
    from imgtrans.weights.safe_load import save_state_dict

    folder = Path(folder)
    folder.parent.mkdir(parents=True, exist_ok=True)
    staging = folder.parent / f".ckpt.{uuid.uuid4().hex[:12]}"
    staging.mkdir()  # not mkdtemp: its 0700 mode would stay on the renamed checkpoint
    try:
        for name, net in networks.items():
            save_state_dict(net.state_dict(), staging / f"{name}.safetensors")
        if trainer_state is not None:
            import torch

            torch.save(trainer_state, staging / STATE_FILE)
        all_configs = {name: dict((configs or {}).get(name, {})) for name in networks}
        document = describe(translator, all_configs, options=options, step=step, epoch=epoch,
                            extra=extra)
        (staging / META_FILE).write_text(json.dumps(document, indent=2, default=str), encoding="utf-8")
        if add_files is not None:
            add_files(staging)
        _replace_folder(staging, folder)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return folder


def _replace_folder(staging: Path, folder: Path) -> None:
    if not folder.exists():
        os.replace(staging, folder)
        return
    retired = folder.with_name(f".{folder.name}.old")
    shutil.rmtree(retired, ignore_errors=True)
    os.replace(folder, retired)
    os.replace(staging, folder)
    shutil.rmtree(retired, ignore_errors=True)


def load_trainer_state(path: Path) -> dict[str, Any]:
    """The training state of a checkpoint (for ``--resume``), loaded with weights_only."""
    state_path = resolve_checkpoint(path) / STATE_FILE
    if not state_path.is_file():
        raise WeightsError(f"{state_path.parent}: checkpoint holds no training state to resume from")
    import torch

    try:
        return torch.load(state_path, map_location="cpu", weights_only=True)
    except Exception as exc:
        raise WeightsError(f"{state_path}: cannot read training state safely: {exc}") from None
