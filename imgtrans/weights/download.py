"""Atomic, verified downloads with plain urllib.

A half-written or wrong checkpoint in the cache would be reused forever and fail far from
its cause, so a download streams into a temporary file next to its destination, is hashed
while streaming, and only a complete, verified file is renamed into place.
"""

from __future__ import annotations

import hashlib
import http.client
import os
import tempfile
import urllib.error
import urllib.request
from pathlib import Path
from typing import Callable
from urllib.parse import urlsplit

from imgtrans.errors import WeightsError

Progress = Callable[[int, "int | None"], None]
"""Called as ``progress(bytes_done, bytes_total_or_None)`` after each chunk (and once at 0)."""

CHUNK_SIZE = 1 << 20
TIMEOUT_SECONDS = 30.0


def offline_hint(url: str, dest: Path) -> str:
    """The sentence telling a user how to get the file onto a machine we cannot download on."""
    return (f"To use it offline, download {url} yourself and place it at {dest} "
            f"(set IMGTRANS_CACHE_DIR to use another cache folder).")


def _user_agent() -> str:
    try:
        from importlib.metadata import version
        return f"imgtrans/{version('imgtrans')}"
    except Exception:
        return "imgtrans"


def download(url: str, dest: Path, sha256: str | None = None,
             progress: Progress | None = None) -> Path:
    """Download ``url`` to ``dest`` (parent folders are created) and return ``dest``.

    ``sha256``, if given, is the expected hex digest (any case). Only ``http``/``https``.
    On any failure, including ``KeyboardInterrupt``, the temporary file is removed and
    ``dest`` is untouched; failures other than interruption raise ``WeightsError``.
    An existing ``dest`` is replaced only by a complete, verified download.
    """
    dest = Path(dest)
    if urlsplit(url).scheme.lower() not in ("http", "https"):
        raise WeightsError(f"cannot download {url!r}: only http:// and https:// URLs are supported")
    try:
        dest.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp_name = tempfile.mkstemp(dir=dest.parent, prefix=f".{dest.name}.", suffix=".part")
    except OSError as exc:
        raise WeightsError(f"cannot write to the weights cache {dest.parent}: {exc}") from exc
    tmp = Path(tmp_name)
    try:
        with os.fdopen(fd, "wb") as f:
            actual = _stream(url, dest, f, progress)
            f.flush()
            os.fsync(f.fileno())
        if sha256 is not None and actual != sha256.lower():
            raise WeightsError(
                f"checksum mismatch for {url}: expected sha256 {sha256.lower()}, got {actual}. "
                f"The download was discarded; nothing was kept at {dest}.")
        os.replace(tmp, dest)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return dest


def _stream(url: str, dest: Path, f, progress: Progress | None) -> str:
    """Copy the response body into ``f``; return its sha256. Network trouble → WeightsError."""
    digest = hashlib.sha256()
    request = urllib.request.Request(url, headers={"User-Agent": _user_agent()})
    try:
        with urllib.request.urlopen(request, timeout=TIMEOUT_SECONDS) as response:
            length = response.headers.get("Content-Length")
            total = int(length) if length and length.isdigit() else None
            done = 0
            if progress:
                progress(0, total)
            while chunk := response.read(CHUNK_SIZE):
                f.write(chunk)
                digest.update(chunk)
                done += len(chunk)
                if progress:
                    progress(done, total)
    except urllib.error.HTTPError as exc:
        raise _unreachable(url, dest, f"HTTP {exc.code} {exc.reason}") from exc
    except urllib.error.URLError as exc:
        raise _unreachable(url, dest, str(exc.reason)) from exc
    except (OSError, http.client.HTTPException) as exc:
        raise _unreachable(url, dest, str(exc) or type(exc).__name__) from exc
    if total is not None and done != total:
        raise _unreachable(url, dest, f"connection closed after {done} of {total} bytes")
    return digest.hexdigest()


def _unreachable(url: str, dest: Path, reason: str) -> WeightsError:
    return WeightsError(f"could not download {url}: {reason}. {offline_hint(url, dest)}")
