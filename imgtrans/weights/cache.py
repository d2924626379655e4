"""Where downloaded weights live on disk.

The cache path of a URL is predictable (``<cache>/weights/<host>/<path in the URL>``) so that
on an offline machine a user can download a file elsewhere and drop it in the right place,
and two URLs that end in the same file name (``.../model.safetensors``) never share a file.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from pathlib import Path
from typing import Callable
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
    """``cache_dir()/weights/<host>[_<port>]/<segments of the URL path>``, each segment
    percent-decoded with characters outside ``[A-Za-z0-9._+-]`` replaced by ``_`` (so no
    segment can climb out of the cache). The whole URL is the key: a query or fragment adds
    ``-<12 hex of its sha256>`` before the file's suffix, and the file name is the sha256 of
    the URL when the path has no usable one."""
    parts = urlsplit(url)
    segments = [_UNSAFE.sub("_", unquote(s)) for s in parts.path.replace("\\", "/").split("/")]
    segments = [s for s in segments if s.strip(".")]
    if not segments or parts.path.endswith("/"):
        segments.append(hashlib.sha256(url.encode("utf-8")).hexdigest())
    elif parts.query or parts.fragment:
        tail = hashlib.sha256(f"{parts.query}#{parts.fragment}".encode("utf-8")).hexdigest()[:12]
        name = Path(segments[-1])
        segments[-1] = f"{name.stem}-{tail}{name.suffix}"
    host = _UNSAFE.sub("_", parts.hostname or "local")
    if parts.port is not None:
        host += f"_{parts.port}"
    return cache_dir().joinpath("weights", host, *segments)


def _record_path(path: Path) -> Path:
    return path.with_name(f".{path.name}.sha256.json")


def recorded_sha256(path: Path) -> str | None:
    """The sha256 recorded when ``path`` was downloaded (for weights whose publisher gives
    none), or None."""
    try:
        record = json.loads(_record_path(path).read_text(encoding="utf-8"))
        digest = record.get("sha256")
    except (OSError, ValueError, AttributeError):
        return None
    return digest if isinstance(digest, str) and len(digest) == 64 else None


def record_sha256(path: Path, url: str, digest: str) -> None:
    """Remember the sha256 of a fresh download, so every later use can check the file."""
    record = {"url": url, "sha256": digest, "size": path.stat().st_size}
    _record_path(path).write_text(json.dumps(record), encoding="utf-8")


def sha256_file(path: Path, chunk_size: int = 1 << 20) -> str:
    """Lower-case hex sha256 of a file, read in chunks so large checkpoints fit in memory."""
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(chunk_size):
            digest.update(chunk)
    return digest.hexdigest()


def sha256_path(path: Path, file_hash: Callable[[Path], str] = sha256_file) -> str:
    """The sha256 of a file, or of a folder's manifest: the lines ``<relative posix path>
    <tab> <sha256 of the file>``, one per regular file below the folder (hidden names
    skipped), sorted by path. So a bundled checkpoint folder has one checksum, and any
    changed, missing or extra file changes it. ``file_hash`` hashes one file."""
    path = Path(path)
    if not path.is_dir():
        return file_hash(path)
    lines = []
    for file in sorted(p for p in path.rglob("*") if p.is_file()):
        rel = file.relative_to(path)
        if any(part.startswith(".") for part in rel.parts):
            continue
        lines.append(f"{rel.as_posix()}\t{file_hash(file)}\n")
    return hashlib.sha256("".join(lines).encode("utf-8")).hexdigest()


def remembered_sha256(path: Path) -> str:
    """:func:`sha256_path`, each file's hash remembered in ``cache_dir()/sha256.json`` by its
    real path, size and modification time: reports record the weights' checksum on every
    run, and a multi-GB model folder must not be read again each time."""
    index_path = cache_dir() / "sha256.json"
    try:
        index = json.loads(index_path.read_text(encoding="utf-8"))
        index = index if isinstance(index, dict) else {}
    except (OSError, ValueError):
        index = {}
    changed = False

    def file_hash(file: Path) -> str:
        nonlocal changed
        st = file.stat()
        key = f"{os.path.realpath(file)}|{st.st_size}|{st.st_mtime_ns}"
        if not isinstance(index.get(key), str):
            index[key], changed = sha256_file(file), True
        return index[key]

    digest = sha256_path(Path(path), file_hash)
    if changed:
        try:
            from imgtrans.tempfiles import create_beside

            index_path.parent.mkdir(parents=True, exist_ok=True)
            name, fd = create_beside(index_path, ".sha256.", ".part")
            with os.fdopen(fd, "w", encoding="utf-8") as f:
                json.dump(index, f)
            os.replace(name, index_path)
        except OSError:
            pass  # a read-only cache only costs the hashing next time
    return digest
