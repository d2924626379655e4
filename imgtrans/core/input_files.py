"""Refuse unreadable inputs before decoding: only regular files, never more bytes than the
pixel limit can need.

Split from ``readers`` because these checks stand apart from any image format: the stage
planner stats inputs with them and provenance reads whole files with them, neither decodes.
A FIFO, a device (``/dev/zero``) or a symlink loop fails with its reason instead of hanging
or exhausting memory.
"""

from __future__ import annotations

import errno
import os
import stat
from pathlib import Path

from imgtrans.errors import InputError

_BYTES_PER_PIXEL = 8  # 16-bit RGBA, uncompressed: the most any supported format needs
_HEADROOM = 16 << 20  # headers, metadata, an appended "motion photo" video


def max_file_bytes(max_pixels: int) -> int:
    """The file size limit that goes with a pixel limit: larger files are refused unread."""
    return max_pixels * _BYTES_PER_PIXEL + _HEADROOM


_KINDS = ((stat.S_ISDIR, "a directory"), (stat.S_ISFIFO, "a FIFO"), (stat.S_ISSOCK, "a socket"),
          (stat.S_ISCHR, "a character device"), (stat.S_ISBLK, "a block device"))


def check_input_file(path: Path, max_bytes: int | None,
                     st: os.stat_result | None = None) -> os.stat_result:
    """Stat ``path`` (following symlinks) and refuse, with :class:`InputError`, anything that
    is not a regular file of at most ``max_bytes`` (None: any size); reading such a thing
    could block forever (FIFO) or never end (device)."""
    if st is None:
        try:
            st = os.stat(path)
        except OSError as exc:
            if exc.errno == errno.ELOOP:
                reason = "symlink loop (too many levels of symbolic links)"
            elif exc.errno == errno.ENOENT and os.path.islink(path):
                reason = "broken symlink (its target does not exist)"
            else:
                reason = exc.strerror or str(exc)
            raise InputError(path, f"cannot read file: {reason}") from None
    if not stat.S_ISREG(st.st_mode):
        kind = next((name for test, name in _KINDS if test(st.st_mode)), "not a file")
        raise InputError(path, f"cannot read file: not a regular file ({kind})")
    if max_bytes is not None and st.st_size > max_bytes:
        raise InputError(path, f"too large: {st.st_size} bytes exceeds the file size limit "
                               f"of {max_bytes} bytes")
    return st


def open_regular(path: Path, max_bytes: int | None) -> int:
    """A descriptor on the regular file ``path``: stat first, open without blocking (a FIFO
    swapped in meanwhile cannot hang the open), then check the opened file again."""
    check_input_file(path, max_bytes)
    flags = (os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0)
             | getattr(os, "O_CLOEXEC", 0))
    try:
        fd = os.open(path, flags)
    except OSError as exc:
        raise InputError(path, f"cannot read file: {exc.strerror or exc}") from None
    try:
        check_input_file(path, max_bytes, os.fstat(fd))
    except BaseException:
        os.close(fd)
        raise
    return fd


def read_file(path: Path, max_bytes: int) -> bytes:
    """The bytes of the regular file ``path``, never more than ``max_bytes`` (a file that
    grows while read is refused too)."""
    fd = open_regular(path, max_bytes)
    chunks, total = [], 0
    try:
        while total <= max_bytes:
            chunk = os.read(fd, min(max_bytes + 1 - total, 1 << 24))
            if not chunk:
                break
            chunks.append(chunk)
            total += len(chunk)
    except OSError as exc:
        raise InputError(path, f"cannot read file: {exc.strerror or exc}") from None
    finally:
        os.close(fd)
    if total > max_bytes:
        raise InputError(path, f"too large: more than the file size limit of {max_bytes} bytes")
    return b"".join(chunks)
