"""Where downloaded weights live on disk.

The cache path of a URL is predictable (``<cache>/weights/<file name in the URL>``) so that
on an offline machine a user can download a file elsewhere and drop it in the right place.
"""

from __future__ import annotations

import hashlib
import os
import re
from pathlib import Path
from urllib.parse import unquote, urlsplit

CACHE_ENV = "IMGTRANS_CACHE_DIR"

_UNSAFE = re.compile(r"[^A-Za-z0-9._+-]")


def cache_dir() -> Path:
    """The user cache folder: ``$IMGTRANS_CACHE_DIR``, else ``$XDG_CACHE_HOME/imgtrans``,
    else ``~/.cache/imgtrans``. Empty variables count as unset. Not created here."""
    own = os.environ.get(CACHE_ENV)
    if own:
        return Path(own).expanduser()
    xdg = os.environ.get("XDG_CACHE_HOME")
    if xdg:
        return Path(xdg).expanduser() / "imgtrans"
    return Path.home() / ".cache" / "imgtrans"


def cache_path_for(url: str) -> Path:
    """``cache_dir()/weights/<name>`` where ``<name>`` is the last segment of the URL path
    (percent-decoded, characters outside ``[A-Za-z0-9._+-]`` replaced by ``_``), or the
    sha256 of the whole URL when the path has no usable file name."""
    name = unquote(urlsplit(url).path).replace("\\", "/").rsplit("/", 1)[-1]
    name = _UNSAFE.sub("_", name)
    if not name.strip("."):
        name = hashlib.sha256(url.encode("utf-8")).hexdigest()
    return cache_dir() / "weights" / name


def sha256_file(path: Path, chunk_size: int = 1 << 20) -> str:
    """Lower-case hex sha256 of a file, read in chunks so large checkpoints fit in memory."""
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(chunk_size):
            digest.update(chunk)
    return digest.hexdigest()
