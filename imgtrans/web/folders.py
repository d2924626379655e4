"""The server's temporary root folder, and the removal of those a killed server left behind.

A server removes its folder when it stops; one that is killed (SIGKILL, a crash, a power cut)
cannot. So each root is recognisable: named ``imgtrans-web-*`` in the temporary folder and
holding a marker file that the live server keeps locked (``flock``). A starting server
removes every such folder of the same user whose marker it can lock: its owner is gone. A
folder without the marker, another user's, or one whose server still runs is left alone.
Where ``fcntl`` does not exist (Windows) nothing is removed.
"""

from __future__ import annotations

import logging
import os
import shutil
import tempfile
from pathlib import Path
from typing import IO

log = logging.getLogger(__name__)

PREFIX = "imgtrans-web-"
MARKER = ".imgtrans-web-server"


class RootFolder:
    """A fresh root folder, locked as in use until :meth:`remove`."""

    def __init__(self, parent: Path | None = None) -> None:
        self.path = Path(tempfile.mkdtemp(prefix=PREFIX, dir=parent))
        self._marker: IO[str] | None = open(self.path / MARKER, "w", encoding="utf-8")
        self._marker.write(f"imgtrans web server, pid {os.getpid()}\n")
        self._marker.flush()
        _lock(self._marker)

    def remove(self) -> None:
        if self._marker is not None:
            self._marker.close()  # releases the lock
            self._marker = None
        shutil.rmtree(self.path, ignore_errors=True)


def remove_stale_roots(parent: Path | None = None) -> list[Path]:
    """Remove the root folders of servers that no longer run (see the module docstring);
    returns them."""
    parent = Path(parent or tempfile.gettempdir())
    removed = []
    try:
        candidates = sorted(parent.glob(PREFIX + "*"))
    except OSError:
        return []
    for folder in candidates:
        marker = folder / MARKER
        try:
            if folder.is_symlink() or not marker.is_file() or folder.stat().st_uid != _uid():
                continue
            with open(marker, "a", encoding="utf-8") as handle:
                if not _lock(handle):
                    continue  # its server is alive
                shutil.rmtree(folder, ignore_errors=True)
        except OSError:
            continue
        removed.append(folder)
        log.info("removed %s, left by an earlier server that was stopped abruptly", folder.name)
    return removed


def _lock(handle: IO[str]) -> bool:
    """An exclusive, non-blocking lock on ``handle``; False when another process holds it
    (and on systems without ``fcntl``, where staleness cannot be told)."""
    try:
        import fcntl
    except ImportError:
        return False
    try:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        return False
    return True


def _uid() -> int | None:
    return os.getuid() if hasattr(os, "getuid") else None
