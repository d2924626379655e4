"""Encode RGB(A) numpy arrays and write files atomically.

Encoding refuses what a format cannot hold instead of letting OpenCV silently drop alpha or
reduce 16 bits to 8; :func:`choose_extension` picks a format that can hold the result.
Nothing is copied from the input's metadata, so no EXIF orientation tag is written.

Temporary files are ``.imgtrans-<8 hex>.tmp`` (``.tmp.<ext>`` for large results OpenCV
encodes into the file itself) beside the target: short (a target name of
255 bytes still works), hidden (never taken for an input) and recognisable, so a later run
can remove those a killed run left (:func:`remove_stale_temps`).
"""

from __future__ import annotations

import os
import re
import stat
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import cv2
import numpy as np

from imgtrans.tempfiles import create_beside


@dataclass(frozen=True)
class Capability:
    """What one output format can store."""

    bit_depths: frozenset[int]
    channels: frozenset[int]

    @property
    def alpha(self) -> bool:
        return 4 in self.channels

    def holds(self, channels: int, bit_depth: int) -> bool:
        return channels in self.channels and bit_depth in self.bit_depths


_EIGHT, _BOTH = frozenset({8}), frozenset({8, 16})
_ANY = frozenset({1, 3, 4})
# BMP alpha is left out: cv2 writes it, but many readers ignore or misread 32-bit BMP alpha.
# WebP has no gray mode: gray is stored as RGB. PPM/PGM hold exactly RGB/gray (OpenCV rule).
# GIF is not written: 256 colours would quantise the result.
WRITABLE: dict[str, Capability] = {
    "png": Capability(_BOTH, _ANY),
    "jpg": Capability(_EIGHT, frozenset({1, 3})),
    "jpeg": Capability(_EIGHT, frozenset({1, 3})),
    "webp": Capability(_EIGHT, _ANY),
    "tif": Capability(_BOTH, _ANY),
    "tiff": Capability(_BOTH, _ANY),
    "bmp": Capability(_EIGHT, frozenset({1, 3})),
    "ppm": Capability(_BOTH, frozenset({3})),
    "pgm": Capability(_BOTH, frozenset({1})),
    "pnm": Capability(_BOTH, frozenset({1, 3})),
}


def _normalise(ext: str) -> str:
    return ext.lower().lstrip(".")


def choose_extension(input_ext: str, channels: int, bit_depth: int,
                     requested: str | None) -> str:
    """Pick the output extension: ``requested`` if it can hold the image (else ValueError),
    otherwise the input's own extension when it can, otherwise "png"."""
    if channels not in (1, 3, 4):
        raise ValueError(f"cannot write an image with {channels} channels")
    if bit_depth not in (8, 16):
        raise ValueError(f"cannot write {bit_depth}-bit images (only 8 or 16)")
    if requested:
        ext = _normalise(requested)
        _check(ext, channels, bit_depth)
        return ext
    ext = _normalise(input_ext)
    capability = WRITABLE.get(ext)
    return ext if capability and capability.holds(channels, bit_depth) else "png"


def planned_extension(input_ext: str, alpha: bool, bit_depth: int, requested: str | None) -> str:
    """The output format, decided at planning time from the input's header.

    ``requested`` (``--format`` or a named output file) is kept unless it cannot store the
    input's alpha or is not writable: then PNG. Without it: :func:`choose_extension` for a
    colour result. What the result needs beyond that is fitted at write time without
    changing the path (:func:`fit_pixels`)."""
    channels = 4 if alpha else 3
    if requested:
        ext = _normalise(requested)
        capability = WRITABLE.get(ext)
        return ext if capability and capability.holds(channels, 8) else "png"
    return choose_extension(input_ext, channels, bit_depth, None)


def fit_pixels(pixels: np.ndarray, ext: str) -> np.ndarray:
    """Make a result fit the planned format: gray becomes RGB where the format has no gray,
    16 bits become 8 where it has no 16, an all-opaque alpha is dropped where it has no
    alpha. Real transparency is never dropped: ValueError naming the way out."""
    ext = _normalise(ext)
    capability = WRITABLE.get(ext)
    if capability is None:
        return pixels  # encode_image names the problem
    if pixels.ndim == 3 and pixels.shape[2] == 4 and not capability.alpha:
        if not (pixels[..., 3] == np.iinfo(pixels.dtype).max).all():
            raise ValueError(f"the result has transparency, which {ext} cannot store; "
                             "use --format png")
        pixels = pixels[..., :3]
    if pixels.ndim == 2 and 1 not in capability.channels:
        pixels = np.repeat(pixels[..., None], 3, axis=2)
    if pixels.dtype == np.uint16 and 16 not in capability.bit_depths:
        pixels = to_8bit(pixels)
    return pixels


def to_8bit(pixels: np.ndarray) -> np.ndarray:
    """uint16 pixels (any shape) as uint8, ``round(x / 257)``: the inverse of ``x * 257``,
    which widens 8 bits to 16 exactly, so 8-bit values survive a round trip. uint8 pixels
    are returned as they are."""
    if pixels.dtype == np.uint8:
        return pixels
    if pixels.dtype != np.uint16:
        raise ValueError(f"expected uint8 or uint16 pixels, got {pixels.dtype}")
    return (pixels.astype(np.float32) / 257.0).round().astype(np.uint8)


def _check(ext: str, channels: int, bit_depth: int) -> Capability:
    """Raise ValueError naming what ``ext`` cannot store."""
    capability = WRITABLE.get(ext)
    if capability is None:
        raise ValueError(f"cannot write '{ext}' files; writable formats: "
                         f"{', '.join(sorted(WRITABLE))}")
    if bit_depth not in capability.bit_depths:
        raise ValueError(f"{ext} cannot store {bit_depth}-bit images; use png or tiff")
    if channels == 4 and not capability.alpha:
        raise ValueError(f"{ext} cannot store an alpha channel; use png, webp or tiff")
    if channels not in capability.channels:
        kind = "gray" if channels == 1 else "colour"
        raise ValueError(f"{ext} cannot store {kind} images")
    return capability


def encode_image(pixels: np.ndarray, ext: str, *, quality: int = 95) -> bytes:
    """Encode RGB(A) or gray uint8/uint16 pixels as ``ext``; ValueError if it cannot be done."""
    return encode_buffer(pixels, ext, quality=quality).tobytes()


def encode_buffer(pixels: np.ndarray, ext: str, *, quality: int = 95,
                  reuse_pixels: bool = False) -> np.ndarray:
    """:func:`encode_image` without the final copy: the encoded file as a uint8 array (any
    ``write`` takes it). ``reuse_pixels``: see :func:`_for_opencv`."""
    ext = _normalise(ext)
    pixels, params = _for_opencv(pixels, ext, quality, reuse_pixels)
    try:
        ok, buffer = cv2.imencode("." + ext, pixels, params)
    except cv2.error as exc:
        raise ValueError(f"cannot encode {ext}: {exc}") from None
    if not ok:
        raise ValueError(f"cannot encode {ext}")
    return buffer


def _for_opencv(pixels: np.ndarray, ext: str, quality: int,
                reuse_pixels: bool) -> tuple[np.ndarray, list[int]]:
    """Checked, contiguous BGR(A)/gray pixels and OpenCV's write parameters for ``ext``.
    ``reuse_pixels``: the caller is done with ``pixels``, so the RGB to BGR swap is done in
    place instead of in a copy (a 16384x16384 x4 result is 0.8 GB: one copy, not two)."""
    if pixels.dtype not in (np.uint8, np.uint16):
        raise ValueError(f"unsupported pixel type: {pixels.dtype} (need uint8 or uint16)")
    if pixels.ndim == 3 and pixels.shape[2] == 1:
        pixels = pixels[..., 0]
    channels = 1 if pixels.ndim == 2 else pixels.shape[2] if pixels.ndim == 3 else 0
    if channels not in (1, 3, 4):
        raise ValueError(f"unsupported image shape: {pixels.shape}")
    _check(ext, channels, 16 if pixels.dtype == np.uint16 else 8)
    if not 1 <= quality <= 100:
        raise ValueError(f"quality must be between 1 and 100, not {quality}")
    if channels >= 3:  # OpenCV wants BGR(A)
        code = cv2.COLOR_RGB2BGR if channels == 3 else cv2.COLOR_RGBA2BGRA
        if reuse_pixels and pixels.flags.c_contiguous and pixels.flags.writeable:
            _convert_in_place(pixels, code)
        else:
            pixels = cv2.cvtColor(pixels, code)
    params: list[int] = []
    if ext in ("jpg", "jpeg"):
        params = [cv2.IMWRITE_JPEG_QUALITY, quality]
    elif ext == "webp":
        params = [cv2.IMWRITE_WEBP_QUALITY, quality]
    return np.ascontiguousarray(pixels), params


def _convert_in_place(pixels: np.ndarray, code: int, rows: int = 256) -> None:
    """``cv2.cvtColor`` into ``pixels`` itself, a band of rows at a time: OpenCV given
    ``dst=src`` still allocates a whole temporary image."""
    for start in range(0, pixels.shape[0], rows):
        band = pixels[start:start + rows]
        band[...] = cv2.cvtColor(band, code)


STREAM_FROM_BYTES = 64 * 2**20
"""Results with at least this many bytes of pixels are encoded by OpenCV straight into the
temporary file (its encoders write as they go), so the encoded file is never held in memory
as well (in memory, ``imencode`` grows a buffer and then copies it)."""


def write_pixels(path: Path, pixels: np.ndarray, *, quality: int = 95,
                 reuse_pixels: bool = False) -> None:
    """Encode RGB(A)/gray pixels by the suffix of ``path`` and write them atomically; large
    results stream into the file (:data:`STREAM_FROM_BYTES`). ``reuse_pixels``: the caller
    is done with ``pixels`` (they may be overwritten)."""
    path = Path(path)
    ext = _normalise(path.suffix)
    if pixels.nbytes < STREAM_FROM_BYTES or not _opencv_can_name(path):
        write_atomic(path, encode_buffer(pixels, ext, quality=quality, reuse_pixels=reuse_pixels))
        return
    pixels, params = _for_opencv(pixels, ext, quality, reuse_pixels)

    def encode_into(temp: Path, fd: int) -> None:
        os.close(fd)  # OpenCV opens the file by its name (and picks the encoder by its suffix)
        try:
            ok = cv2.imwrite(str(temp), pixels, params)
        except cv2.error as exc:
            raise ValueError(f"cannot encode {ext}: {exc}") from None
        if not ok:
            raise ValueError(f"cannot encode {ext}")
        fd = os.open(temp, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)

    _replace_atomically(path, encode_into, "." + ext)


def _opencv_can_name(path: Path) -> bool:
    """OpenCV takes paths as UTF-8 strings: a name with undecodable bytes cannot be passed."""
    try:
        str(path).encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def write_atomic(path: Path, data: bytes | np.ndarray) -> None:
    """Write ``data`` (bytes or a contiguous array) to ``path`` so that readers see the old
    file or the whole new one, never a partial file; the temporary file is removed on any
    failure, even Ctrl-C."""

    def write_into(temp: Path, fd: int) -> None:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())

    _replace_atomically(Path(path), write_into)


def _replace_atomically(path: Path, fill: Callable[[Path, int], None], suffix: str = "") -> None:
    """``fill(temp, fd)`` writes (and syncs, and closes ``fd``) a new temporary file beside
    ``path``, which then replaces ``path`` in one rename; on any failure the temporary file
    is removed and ``path`` is untouched."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temp, fd = _create_temp(path, suffix)
    try:
        fill(temp, fd)
        os.replace(temp, path)
    except BaseException:
        try:
            os.unlink(temp)
        except OSError:
            pass
        raise
    _sync_folder(path.parent)


TEMP_NAME = re.compile(r"\.imgtrans-[0-9a-f]{8}\.tmp(?:\.(?:" + "|".join(WRITABLE) + "))?")
STALE_AFTER = 60.0
"""Seconds before a run's start that a temporary file must be older than to count as stale:
a live writer holds its file for one write and fsync, far less than this."""


def _create_temp(path: Path, suffix: str = "") -> tuple[Path, int]:
    """Create ".imgtrans-<random>.tmp" (plus ``suffix``) beside ``path``."""
    return create_beside(path, ".imgtrans-", f".tmp{suffix}")


def remove_stale_temps(folder: Path, run_started: float) -> int:
    """Remove temporary files a killed run left in ``folder``; returns how many.

    Only this module's own pattern (:data:`TEMP_NAME`), only regular files (not symlinks),
    only in ``folder`` itself, and only those last modified more than :data:`STALE_AFTER`
    seconds before ``run_started`` (a ``time.time()``), so neither this run's files nor
    those of another run writing there right now are touched."""
    removed = 0
    try:
        entries = list(os.scandir(folder))
    except OSError:
        return 0
    for entry in entries:
        if not TEMP_NAME.fullmatch(entry.name):
            continue
        try:
            st = entry.stat(follow_symlinks=False)
            if stat.S_ISREG(st.st_mode) and st.st_mtime < run_started - STALE_AFTER:
                os.unlink(entry.path)
                removed += 1
        except OSError:
            continue
    return removed


def check_writable(path: Path) -> None:
    """Raise OSError (with a reason) unless a file can be written atomically at ``path``:
    not a folder or other non-regular file, and a file can be created in its folder (or in
    its nearest existing ancestor, since missing folders are created). Probes by creating
    and removing a temporary file, so read-only mounts and permissions are seen as they are."""
    path = Path(path)
    if path.is_dir():
        raise OSError("is a folder")
    if os.path.lexists(path) and not path.is_file():
        raise OSError("exists and is not a regular file")
    folder = path.parent
    while not os.path.lexists(folder) and folder != folder.parent:
        folder = folder.parent
    if not folder.is_dir():
        raise OSError(f"{folder} is not a folder")
    temp, fd = _create_temp(folder / path.name)
    os.close(fd)
    os.unlink(temp)


def _sync_folder(folder: Path) -> None:
    """Make the rename itself durable (POSIX only; best effort)."""
    if os.name != "posix":
        return
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def write_image(path: Path, pixels: np.ndarray, *, quality: int = 95) -> None:
    """Encode by the suffix of ``path`` and write it atomically."""
    write_pixels(path, pixels, quality=quality)
