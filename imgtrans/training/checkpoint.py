"""Old import path of :mod:`imgtrans.checkpoints` (imgtrans 0.1), kept for plugins that use it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from imgtrans.checkpoints import (  # noqa: F401
    FORMAT,
    META_FILE,
    STATE_FILE,
    is_checkpoint,
    load_trainer_state,
    read_checkpoint,
    resolve_checkpoint,
    write_checkpoint,
)


def load_network_state(folder: Path, name: str) -> dict[str, Any]:
    """The weights of network ``name`` in the checkpoint at ``folder``."""
    return read_checkpoint(folder).state_dict(name)
