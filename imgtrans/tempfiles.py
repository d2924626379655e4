"""Temporary files written beside their destination and renamed into place."""

from __future__ import annotations

import os
import secrets
from pathlib import Path


def create_beside(path: Path, prefix: str, suffix: str) -> tuple[Path, int]:
    """Create ``<prefix><8 random hex><suffix>`` in ``path``'s folder, open for writing:
    ``(path of the new file, its descriptor)``. Mode 0o666 lets the umask decide the final
    permissions (``tempfile.mkstemp`` would leave results, checkpoints and downloaded weights
    readable by their owner only, which breaks a shared weights cache)."""
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0)
    while True:
        temp = path.with_name(f"{prefix}{secrets.token_hex(4)}{suffix}")
        try:
            return temp, os.open(temp, flags, 0o666)
        except FileExistsError:
            continue
