"""What a ``--weights`` value turned out to be: resolved once, handed to ``Translator.load``.

Resolution (:func:`imgtrans.weights.identify.resolve_for`) decides where the weights are
(registry entry, URL, file or folder; downloaded if need be), what kind they are and whose
they are. Everything it reads on the way is kept here, so that loading never reads or
parses the same file again: an imgtrans checkpoint's parsed ``imgtrans.json``, a foreign
file's state dict (read once, when identification or loading first needs it), and what the
owning translator's ``recognises_folder`` check learned about a folder.

Torch-free: a ``ResolvedWeights`` is made and pickled (for Ray actors) without torch; the
state dict it may hold is not pickled (the actor reads the file where it runs).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from imgtrans.errors import WeightsError

if TYPE_CHECKING:
    import torch

    from imgtrans.checkpoints import Checkpoint
    from imgtrans.translators.base import WeightSpec

WeightsKind = Literal["checkpoint", "file", "folder"]


@dataclass(eq=False)
class ResolvedWeights(os.PathLike):
    """Local weights and what is known about them.

    ``kind``: ``"checkpoint"`` (an imgtrans checkpoint, or a run folder meaning its latest:
    ``checkpoint`` holds the parsed description and ``path`` the checkpoint folder),
    ``"file"`` (any other file: a foreign state dict, read by :meth:`state_dict`) or
    ``"folder"`` (any other folder, e.g. a reference run or a diffusers model folder).
    ``spec`` is the registry entry the value named, if any; ``owner`` the translator the
    weights belong to, once known; ``found`` what the owner's ``recognises_folder`` check
    returned (a translator may return a parsed description instead of ``True``); ``source``
    is what the user typed. It is an ``os.PathLike``, so ``Path(weights)`` gives ``path``.
    """

    path: Path
    kind: WeightsKind
    spec: "WeightSpec | None" = None
    checkpoint: "Checkpoint | None" = None
    owner: str | None = None
    found: Any = None
    source: str | None = None
    _state: "dict[str, torch.Tensor] | None" = field(default=None, repr=False)

    def __fspath__(self) -> str:
        return str(self.path)

    def __str__(self) -> str:
        return str(self.path)

    def state_dict(self) -> "dict[str, torch.Tensor]":
        """The file's tensors as stored (maybe wrapped, see ``unwrap_state_dict``), read
        safely on first use and kept for the next caller. Only for ``kind == "file"``."""
        if self.kind != "file":
            raise WeightsError(f"{self.path}: a {self.kind}, not a weights file")
        if self._state is None:
            from imgtrans.weights.safe_load import load_state_dict

            self._state = load_state_dict(self.path)
        return self._state

    def release(self) -> None:
        """Drop the kept state dict (once a network holds the tensors it needs)."""
        self._state = None

    def network(self, name: str) -> "tuple[dict[str, Any], dict[str, torch.Tensor]]":
        """``(configuration, state dict)`` of network ``name`` of an imgtrans checkpoint;
        ``WeightsError`` when the checkpoint lacks either."""
        if self.checkpoint is None:
            raise WeightsError(f"{self.path}: not an imgtrans checkpoint")
        config = self.checkpoint.network_config(name)
        if not config:
            raise WeightsError(f"{self.checkpoint.path}: the checkpoint does not say how network "
                               f"{name!r} is built (no configuration)")
        return config, self.checkpoint.state_dict(name)

    def __getstate__(self) -> dict[str, Any]:
        state = dict(self.__dict__)
        state["_state"] = None  # tensors are read again where the weights are loaded
        return state


def weights_at(weights: "ResolvedWeights | str | os.PathLike[str]") -> ResolvedWeights:
    """A ``ResolvedWeights`` for a local file or folder (for code that loads weights without
    the pipeline, e.g. a training ``init`` option); resolved weights pass through."""
    if isinstance(weights, ResolvedWeights):
        return weights
    from imgtrans.checkpoints import find_checkpoint, read_checkpoint

    path = Path(weights).expanduser()
    found = find_checkpoint(path)
    if found is not None:
        checkpoint = read_checkpoint(found)
        return ResolvedWeights(found, "checkpoint", checkpoint=checkpoint,
                               owner=checkpoint.translator, source=str(weights))
    if not path.exists():
        raise WeightsError(f"{path}: no such file or folder")
    return ResolvedWeights(path, "folder" if path.is_dir() else "file", source=str(weights))
