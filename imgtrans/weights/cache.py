"""Where downloaded weights live on disk.

The cache path of a URL is predictable (``<cache>/weights/<host>/<path in the URL>``) so that
on an offline machine a user can download a file elsewhere and drop it in the right place,
and two URLs that end in the same file name (``.../model.safetensors``) never share a file.
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
    """``cache_dir()/weights/<host>/<segments of the URL path>``, each segment
    percent-decoded with characters outside ``[A-Za-z0-9._+-]`` replaced by ``_`` (so no
    segment can climb out of the cache); the file name is the sha256 of the whole URL when
    the path has no usable one. Query and fragment are ignored."""
    parts = urlsplit(url)
    segments = [_UNSAFE.sub("_", unquote(s)) for s in parts.path.replace("\\", "/").split("/")]
    segments = [s for s in segments if s.strip(".")]
    if not segments or parts.path.endswith("/"):
        segments.append(hashlib.sha256(url.encode("utf-8")).hexdigest())
    host = _UNSAFE.sub("_", parts.hostname or "local")
    return cache_dir().joinpath("weights", host, *segments)


def sha256_file(path: Path, chunk_size: int = 1 << 20) -> str:
    """Lower-case hex sha256 of a file, read in chunks so large checkpoints fit in memory."""
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(chunk_size):
            digest.update(chunk)
    return digest.hexdigest()
