"""Atomic, verified downloads with plain urllib.

A half-written or wrong checkpoint in the cache would be reused forever and fail far from
its cause, so a download streams into a temporary file next to its destination, is hashed
while streaming, and only a complete, verified file is renamed into place.
"""

from __future__ import annotations

import hashlib
import http.client
import os
import json
import struct
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Callable
from urllib.parse import urlsplit

from imgtrans.errors import WeightsError
from imgtrans.tempfiles import create_beside

Progress = Callable[[int, "int | None"], None]
"""Called as ``progress(bytes_done, bytes_total_or_None)`` after each chunk (and once at 0)."""

CHUNK_SIZE = 1 << 16
TIMEOUT_SECONDS = 30.0
"""Default stall timeout: no connection, or less than ``STALL_BYTES`` received, for this long."""
DEADLINE_SECONDS = 6 * 3600.0
"""Default limit on a whole download."""
STALL_BYTES = 1024
TIMEOUT_ENV = "IMGTRANS_DOWNLOAD_TIMEOUT"
DEADLINE_ENV = "IMGTRANS_DOWNLOAD_DEADLINE"


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


def _seconds(env: str, default: float) -> float:
    raw = os.environ.get(env, "").strip()
    if not raw:
        return default
    try:
        value = float(raw)
    except ValueError:
        raise WeightsError(f"{env}={raw!r} is not a number of seconds") from None
    if value <= 0:
        raise WeightsError(f"{env} must be positive, not {raw}")
    return value


def download(url: str, dest: Path, sha256: str | None = None,
             progress: Progress | None = None, *, timeout: float | None = None,
             deadline: float | None = None,
             should_stop: Callable[[], bool] | None = None) -> Path:
    """Download ``url`` to ``dest`` (parent folders are created) and return ``dest``.

    ``sha256``, if given, is the expected hex digest (any case). Only ``http``/``https``.
    ``timeout``: seconds without at least 1 KB arriving before the download counts as
    stalled (default ``$IMGTRANS_DOWNLOAD_TIMEOUT`` or 30); ``deadline``: seconds for the
    whole download (default ``$IMGTRANS_DOWNLOAD_DEADLINE`` or 6 hours); ``should_stop``
    is polled between chunks (Ctrl-C handlers that only set a flag).
    The file is kept only when complete: the Content-Length when the server sends one, and
    the file's own structure (zip-based ``.pth`` and safetensors files record their size).
    On any failure, including ``KeyboardInterrupt``, the temporary file is removed and
    ``dest`` is untouched; failures other than interruption raise ``WeightsError``.
    """
    dest = Path(dest)
    if urlsplit(url).scheme.lower() not in ("http", "https"):
        raise WeightsError(f"cannot download {url!r}: only http:// and https:// URLs are supported")
    limits = _Limits(timeout or _seconds(TIMEOUT_ENV, TIMEOUT_SECONDS),
                     deadline or _seconds(DEADLINE_ENV, DEADLINE_SECONDS), should_stop)
    try:
        dest.parent.mkdir(parents=True, exist_ok=True)
        tmp_name, fd = create_beside(dest, ".dl-", ".part")
    except OSError as exc:
        raise WeightsError(f"cannot write to the weights cache {dest.parent}: {exc}") from exc
    tmp = Path(tmp_name)
    try:
        with os.fdopen(fd, "wb") as f:
            actual = _stream(url, dest, f, progress, limits)
            f.flush()
            os.fsync(f.fileno())
        if sha256 is not None and actual != sha256.lower():
            raise WeightsError(
                f"checksum mismatch for {url}: expected sha256 {sha256.lower()}, got {actual}. "
                f"The download was discarded; nothing was kept at {dest}.")
        broken = incomplete_reason(tmp)
        if broken:
            raise _unreachable(url, dest, f"the file arrived incomplete ({broken})")
        os.replace(tmp, dest)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return dest


class _Limits:
    """Stall timeout, overall deadline and a stop flag, checked between chunks."""

    def __init__(self, timeout: float, deadline: float, should_stop: Callable[[], bool] | None) -> None:
        self.timeout, self.should_stop = timeout, should_stop
        self.started = time.monotonic()
        self.deadline = self.started + deadline
        self.window_start, self.window_bytes = self.started, 0

    def check(self, url: str, dest: Path, received: int) -> None:
        now = time.monotonic()
        if self.should_stop is not None and self.should_stop():
            raise KeyboardInterrupt
        if now > self.deadline:
            raise _unreachable(url, dest, f"gave up after {now - self.started:.0f} s "
                                          f"(the deadline, set by {DEADLINE_ENV})")
        self.window_bytes += received
        if self.window_bytes >= STALL_BYTES:
            self.window_start, self.window_bytes = now, 0
        elif now - self.window_start > self.timeout:
            raise _unreachable(url, dest, f"the connection stalled (under {STALL_BYTES} bytes in "
                                          f"{self.timeout:.0f} s; {TIMEOUT_ENV} sets the limit)")


def _stream(url: str, dest: Path, f, progress: Progress | None, limits: _Limits) -> str:
    """Copy the response body into ``f``; return its sha256. Network trouble → WeightsError."""
    digest = hashlib.sha256()
    request = urllib.request.Request(url, headers={"User-Agent": _user_agent()})
    try:
        with urllib.request.urlopen(request, timeout=limits.timeout) as response:
            length = response.headers.get("Content-Length")
            total = int(length) if length and length.isdigit() else None
            done = 0
            if progress:
                progress(0, total)
            while chunk := response.read1(CHUNK_SIZE):
                f.write(chunk)
                digest.update(chunk)
                done += len(chunk)
                limits.check(url, dest, len(chunk))
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


def incomplete_reason(path: Path) -> str | None:
    """Why a weights file is visibly cut short, or None. Checks the formats that record their
    own size: zip archives (``torch.save`` files) end with an end-of-directory record, and a
    safetensors header gives the size of the data that follows it."""
    size = path.stat().st_size
    with open(path, "rb") as f:
        head = f.read(8)
        if head[:4] == b"PK\x03\x04":
            f.seek(max(0, size - (1 << 16) - 22))
            if b"PK\x05\x06" not in f.read():
                return "a zip checkpoint without its end record"
            return None
        if len(head) == 8 and f.read(1) == b"{":
            header_size = struct.unpack("<Q", head)[0]
            if header_size > size - 8:
                return "a safetensors header longer than the file"
            f.seek(8)
            try:
                header = json.loads(f.read(header_size))
                end = max((v["data_offsets"][1] for k, v in header.items() if k != "__metadata__"),
                          default=0)
            except (ValueError, KeyError, TypeError, IndexError):
                return "an unreadable safetensors header"
            if size != 8 + header_size + end:
                return f"a safetensors file of {size} bytes that declares {8 + header_size + end}"
    return None


def _unreachable(url: str, dest: Path, reason: str) -> WeightsError:
    return WeightsError(f"could not download {url}: {reason}. {offline_hint(url, dest)}")
