"""The Python API for image files and contact sheets: read pixels as convert reads them,
write files atomically, find images in a folder as convert finds them, split A|B pairs,
lay images out on a sheet. Re-exported by :mod:`imgtrans.api`; ``imgtrans demo`` is built
on it."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Iterable

import numpy as np

from imgtrans.core.contact_sheet import Panel, SheetRow, render_sheet
from imgtrans.core.input_files import max_file_bytes
from imgtrans.core.readers import IMAGE_EXTENSIONS, DecodedImage

__all__ = ["IMAGE_EXTENSIONS", "Panel", "SheetRow", "render_sheet", "pair_half", "read_pixels",
           "list_image_files", "write_file_atomic", "write_image_atomic", "decode_image",
           "DecodedImage", "max_file_bytes", "encode_image"]


def pair_half(images: Any, half: str, axis: int = -1) -> Any:
    """The ``"left"`` (A) or ``"right"`` (B) half of side-by-side A|B images (numpy array or
    tensor), ``axis`` being the width: split at ``W // 2`` as the reference does, so an odd
    width gives B the extra column. A view, not a copy; ``ValueError`` for an image narrower
    than 2 pixels or another ``half``."""
    from imgtrans.core.preprocess import pair_half as split

    return split(images, half, axis=axis)


def read_pixels(path: str | Path) -> np.ndarray:
    """The pixels of image ``path`` as convert reads them: (H, W) gray or (H, W, C) RGB(A),
    uint8 (uint16 for 16-bit files), EXIF orientation applied. Raises ``InputError`` with
    the reason when the file is unusable."""
    from imgtrans.core.readers import read_image

    return read_image(Path(path)).pixels


def decode_image(path: str | Path, *, max_pixels: int = 178_956_970,
                 max_bytes: int | None = None) -> DecodedImage:
    """Image ``path`` decoded as convert decodes it (EXIF orientation applied, size and pixel
    limits checked before decoding): pixels, format, size, bit depth. Raises
    ``imgtrans.errors.InputError`` naming the file and the problem."""
    from imgtrans.core.readers import read_image

    return read_image(Path(path), max_pixels=max_pixels, max_bytes=max_bytes)


def list_image_files(folder: str | Path, *, recursive: bool = True,
                     extensions: Iterable[str] = IMAGE_EXTENSIONS) -> list[Path]:
    """The files below ``folder`` with one of ``extensions`` (any case), in the order and
    with the rules convert uses (hidden names skipped, symlinked folders not entered)."""
    from imgtrans.core.walk import walk_image_files

    return [path for path, _ in walk_image_files(folder, recursive=recursive, extensions=extensions)]


def write_file_atomic(path: str | Path, data: bytes) -> None:
    """Write ``data`` to ``path`` so that readers see the old file or the whole new one,
    never a partial file (folders are created)."""
    from imgtrans.core.writers import write_atomic

    write_atomic(Path(path), data)


def encode_image(pixels: np.ndarray, format: str = "png") -> bytes:
    """``pixels`` (uint8 or uint16, (H, W) gray or (H, W, C) RGB(A)) encoded as ``format``
    (an extension: "png", "jpg"...): the bytes of the file."""
    from imgtrans.core.writers import encode_image as encode

    return encode(np.ascontiguousarray(pixels), format)


def write_image_atomic(path: str | Path, pixels: np.ndarray, format: str = "png") -> None:
    """Encode ``pixels`` as :func:`encode_image` does and write them to ``path`` atomically."""
    from imgtrans.core.writers import write_atomic

    write_atomic(Path(path), encode_image(pixels, format))
