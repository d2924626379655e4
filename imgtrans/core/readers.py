"""Decode image files into RGB(A) numpy arrays, refusing bad input with one clear reason.

OpenCV decodes (it keeps 16 bits and alpha); PIL only reads headers, EXIF and GIF. The
bytes are read by Python, so non-ASCII paths work on every platform; which files may be
read at all, and how many bytes, is ``input_files``.
"""

from __future__ import annotations

import hashlib
import io
import os
import re
import threading
import warnings
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
from PIL import Image

from imgtrans.core.input_files import max_file_bytes, open_regular, read_file
from imgtrans.core.metadata import ImageMetadata, collect
from imgtrans.errors import InputError

# GIF is read (first frame, through PIL: OpenCV < 4.11 has no GIF decoder) but never written.
IMAGE_EXTENSIONS = frozenset(
    {"png", "jpg", "jpeg", "bmp", "tif", "tiff", "webp", "gif", "ppm", "pgm", "pnm"})

# PIL format name -> canonical extension; anything else PIL recognises is "unsupported".
_SUPPORTED = {"PNG": "png", "JPEG": "jpg", "MPO": "jpg", "BMP": "bmp", "TIFF": "tiff",
              "WEBP": "webp", "GIF": "gif", "PPM": "pnm"}
_MAGIC = ((b"\x89PNG\r\n\x1a\n", "PNG"), (b"\xff\xd8\xff", "JPEG"), (b"GIF8", "GIF"),
          (b"BM", "BMP"), (b"II*\x00", "TIFF"), (b"MM\x00*", "TIFF"))
_ALPHA_MODES = frozenset({"RGBA", "RGBa", "LA", "La", "PA"})
_ORIENTATION_TAG = 0x0112
_TRANSFORMS = {
    2: lambda a: a[:, ::-1], 3: lambda a: a[::-1, ::-1], 4: lambda a: a[::-1],
    5: lambda a: a.swapaxes(0, 1), 6: lambda a: np.rot90(a, -1),
    7: lambda a: a[::-1, ::-1].swapaxes(0, 1), 8: lambda a: np.rot90(a, 1),
}
_INVERSE = {6: 8, 8: 6}  # every other orientation undoes itself
# warnings.catch_warnings swaps process-global state; serialise our own uses of it.
_PIL_LOCK = threading.Lock()


@dataclass
class DecodedImage:
    """Pixels in RGB order (never BGR): H×W gray, H×W×3 RGB or H×W×4 RGBA, uint8 or uint16."""

    pixels: np.ndarray
    bit_depth: int
    format: str
    metadata: ImageMetadata | None = None
    """What the file carries beside the pixels (``read_image(metadata=True)``); the writer
    embeds it, translators never see it."""

    @property
    def height(self) -> int:
        return int(self.pixels.shape[0])

    @property
    def width(self) -> int:
        return int(self.pixels.shape[1])

    @property
    def channels(self) -> int:
        return 1 if self.pixels.ndim == 2 else int(self.pixels.shape[2])

    @property
    def has_alpha(self) -> bool:
        return self.channels == 4


@dataclass(frozen=True)
class ImageProbe:
    """What planning needs to know of an input before any work: does it carry alpha, and
    how many bits per sample (8 or 16)."""

    alpha: bool
    bit_depth: int


@dataclass
class _Header:
    kind: str  # PIL format name, MPO folded into JPEG
    width: int
    height: int
    declares_alpha: bool
    orientation: int
    info: dict | None = None  # PIL's header info, and the raw EXIF, for metadata
    exif: bytes | None = None


def probe_image(path: Path) -> ImageProbe | None:
    """Alpha and bit depth from the header alone (a few reads), so the output format can be
    planned before any work; None when the file cannot be identified: it then fails, with
    its reason, when it is read."""
    try:
        fd = open_regular(path, None)  # only the header is read
    except InputError:
        return None
    with os.fdopen(fd, "rb") as handle:
        try:
            with _PIL_LOCK, warnings.catch_warnings():
                warnings.simplefilter("ignore")
                with Image.open(handle) as im:
                    return ImageProbe(_declares_alpha(im), _bit_depth(im))
        except Exception:  # unreadable headers fail later, when decoded
            return None


def _declares_alpha(im: Image.Image) -> bool:
    return im.mode in _ALPHA_MODES or "transparency" in im.info


def _bit_depth(im: Image.Image) -> int:
    """16 when OpenCV will decode 16-bit samples; PIL's mode says 8 for 16-bit colour PNG,
    TIFF and PPM, so look at the raw mode, the TIFF tag or the PPM maximum value."""
    if im.mode.startswith("I"):
        return 16
    if im.format == "TIFF":
        bits = im.tag_v2.get(258, (8,))
        return 16 if max(bits if isinstance(bits, tuple) else (bits,)) > 8 else 8
    args = im.tile[0].args if im.tile else ()
    args = args if isinstance(args, tuple) else (args,)
    if im.format == "PPM" and len(args) > 1 and isinstance(args[1], int):
        return 16 if args[1] > 255 else 8
    return 16 if any(isinstance(a, str) and ";16" in a for a in args) else 8


def read_image(path: Path, *, max_pixels: int = 178_956_970, apply_exif: bool = True,
               max_bytes: int | None = None, metadata: bool = False) -> DecodedImage:
    """Decode ``path``; raises :class:`InputError` with the reason when the file is unusable.
    ``max_bytes`` defaults to :func:`max_file_bytes` of ``max_pixels``. ``metadata``: also
    collect EXIF, ICC, XMP, PNG text and the file's sha256 (``DecodedImage.metadata``)."""
    path = Path(path)
    data = read_file(path, max_file_bytes(max_pixels) if max_bytes is None else max_bytes)
    if not data:
        raise InputError(path, "empty file")
    header = _read_header(path, data, max_pixels)
    if header.kind == "JPEG" and not _jpeg_complete(data):
        raise InputError(path, "truncated JPEG (missing end-of-image marker)")
    if header.kind == "PNG":
        complete, exif = _scan_png(data)
        if not complete:
            raise InputError(path, "truncated PNG (missing IEND chunk)")
        header.orientation = _png_orientation(exif)
    pixels, oriented = _decode(path, data, header)
    pixels = _to_rgb(path, pixels)
    if pixels.ndim == 3 and pixels.shape[2] == 4 and not header.declares_alpha \
            and (pixels[..., 3] == np.iinfo(pixels.dtype).max).all():
        pixels = pixels[..., :3]  # e.g. CMYK TIFF: the decoder adds an opaque alpha
    pixels = _orient(pixels, header, oriented, apply_exif)
    suffix = path.suffix.lower().lstrip(".")
    fmt = suffix if suffix in IMAGE_EXTENSIONS else _SUPPORTED[header.kind]
    bit_depth = 16 if pixels.dtype == np.uint16 else 8
    meta = None
    if metadata:
        meta = collect(data, header.kind, header.info or {}, header.exif)
        meta.sha256 = hashlib.sha256(data).hexdigest()
        meta.orientation_applied = apply_exif
    return DecodedImage(np.ascontiguousarray(pixels), bit_depth, fmt, meta)


def _read_header(path: Path, data: bytes, max_pixels: int) -> _Header:
    """Identify the format and size from the header alone, before anything is allocated."""
    try:
        with _PIL_LOCK, warnings.catch_warnings():
            warnings.simplefilter("ignore")  # bomb warnings, corrupt-EXIF chatter
            with Image.open(io.BytesIO(data)) as im:
                kind = "JPEG" if im.format == "MPO" else str(im.format)
                alpha = _declares_alpha(im)
                orientation = 1 if kind in ("PNG", "GIF") else _orientation(im.getexif)
                width, height = im.size
                if kind == "TIFF":  # recent PIL reports the size after EXIF rotation
                    width, height = im.tag_v2.get(256, width), im.tag_v2.get(257, height)
                header = _Header(kind, int(width), int(height), alpha, orientation,
                                 dict(im.info), _raw_exif(im, kind))
    except Image.DecompressionBombError as exc:
        found = re.search(r"\((\d+) pixels\)", str(exc))
        size = f"{found.group(1)} pixels" if found else "the image"
        limit = min(max_pixels, 2 * (Image.MAX_IMAGE_PIXELS or max_pixels))
        raise InputError(path, f"too large: {size} exceeds the limit of {limit} "
                               "(decompression bomb?)") from None
    except Exception:  # PIL raises many types for unreadable headers
        kind = _sniff(data)
        if kind:
            raise InputError(path, f"corrupt or truncated {kind} (cannot read header)") from None
        raise InputError(path, "not an image (unrecognised format)") from None
    if header.kind not in _SUPPORTED:
        raise InputError(path, f"unsupported image format: {header.kind}")
    if header.width * header.height > max_pixels:
        raise InputError(path, f"too large: {header.width}×{header.height} pixels exceeds "
                               f"the limit of {max_pixels} (decompression bomb?)")
    return header


def _raw_exif(im: Image.Image, kind: str) -> bytes | None:
    """The EXIF as stored (JPEG, WebP), or as Pillow reads it from a TIFF's first IFD."""
    if kind == "PNG":
        return None  # the chunk list is walked instead
    raw = im.info.get("exif")
    if raw or kind != "TIFF":
        return raw
    try:
        return im.getexif().tobytes()
    except Exception:
        return None


def _sniff(data: bytes) -> str | None:
    """Name the format a damaged file claims to be, so the reason is not "not an image"."""
    for magic, kind in _MAGIC:
        if data.startswith(magic):
            return kind
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "WEBP"
    return None


def _orientation(get_exif) -> int:
    """EXIF orientation 1-8; a missing, odd or broken tag counts as 1 (bad EXIF must not
    cost the image)."""
    try:
        value = int(get_exif().get(_ORIENTATION_TAG, 1))
    except Exception:
        return 1
    return value if 1 <= value <= 8 else 1


def _png_orientation(raw: bytes | None) -> int:
    """PNG keeps EXIF in an eXIf chunk; parse it here because PIL would decode the whole file."""
    if not raw:
        return 1
    def parse() -> Image.Exif:
        exif = Image.Exif()
        exif.load(raw)
        return exif

    with _PIL_LOCK, warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return _orientation(parse)


def _jpeg_complete(data: bytes) -> bool:
    """Walk the marker segments to the end-of-image marker.

    Walking (rather than looking at the last bytes) skips the EXIF thumbnail's own marker and
    accepts data appended after the image, such as the video of a phone "motion photo".
    """
    pos, size = 2, len(data)
    while True:
        pos = data.find(b"\xff", pos)
        if pos < 0 or pos + 1 >= size:
            return False
        marker = data[pos + 1]
        if marker == 0xD9:
            return True
        if marker in (0x00, 0x01, 0xFF) or 0xD0 <= marker <= 0xD7:
            pos += 1 if marker == 0xFF else 2  # stuffed byte, restart marker or fill byte
            continue
        if pos + 4 > size:
            return False
        pos += 2 + int.from_bytes(data[pos + 2:pos + 4], "big")


def _scan_png(data: bytes) -> tuple[bool, bytes | None]:
    """Return (IEND reached, eXIf payload) by walking the chunk list."""
    pos, exif = 8, None
    while pos + 8 <= len(data):
        length = int.from_bytes(data[pos:pos + 4], "big")
        kind = data[pos + 4:pos + 8]
        if kind == b"IEND":
            return True, exif
        if kind == b"eXIf":
            exif = data[pos + 8:pos + 8 + length]
        pos += 12 + length
    return False, exif


def _decode(path: Path, data: bytes, header: _Header) -> tuple[np.ndarray, bool]:
    """Return the pixels (BGR order from OpenCV, RGB from PIL) and whether EXIF
    orientation is already applied (OpenCV's TIFF decoder always applies it)."""
    if header.kind == "GIF":
        return _decode_with_pil(path, data, header), False
    try:
        pixels = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_UNCHANGED)
    except cv2.error:
        pixels = None
    if pixels is None:
        raise InputError(path, f"cannot decode {header.kind} data (corrupt or unsupported variant)")
    if header.declares_alpha and pixels.ndim == 2 and header.kind == "TIFF":
        return _decode_with_pil(path, data, header), False  # OpenCV drops gray+alpha TIFF alpha
    if pixels.ndim == 3 and pixels.shape[2] in (3, 4):
        pixels = pixels[..., [2, 1, 0, 3][:pixels.shape[2]]]
    oriented = header.kind == "TIFF"
    if header.orientation >= 5 and header.width != header.height:
        oriented = pixels.shape[:2] == (header.width, header.height)  # trust the shape
    return pixels, oriented


def _decode_with_pil(path: Path, data: bytes, header: _Header) -> np.ndarray:
    try:
        with _PIL_LOCK, warnings.catch_warnings():
            warnings.simplefilter("ignore")
            with Image.open(io.BytesIO(data)) as im:
                im.seek(0)
                mode = "RGBA" if header.declares_alpha else "L" if im.mode in ("1", "L") else "RGB"
                return np.asarray(im.convert(mode))
    except Exception as exc:
        raise InputError(path, f"cannot decode {header.kind} data ({exc})") from None


def _to_rgb(path: Path, pixels: np.ndarray) -> np.ndarray:
    """Check dtype and channel count; gray+alpha becomes RGBA so alpha always sits in [..., 3]."""
    if pixels.dtype not in (np.uint8, np.uint16):
        raise InputError(path, f"unsupported pixel type: {pixels.dtype} "
                               "(only 8- and 16-bit integer images)")
    if pixels.ndim == 3 and pixels.shape[2] == 1:
        pixels = pixels[..., 0]
    if pixels.ndim == 3 and pixels.shape[2] == 2:
        gray, alpha = pixels[..., 0], pixels[..., 1]
        pixels = np.stack([gray, gray, gray, alpha], axis=-1)
    channels = 1 if pixels.ndim == 2 else pixels.shape[2]
    if pixels.ndim not in (2, 3) or channels not in (1, 3, 4):
        raise InputError(path, f"unsupported channels: {channels}")
    return pixels


def _orient(pixels: np.ndarray, header: _Header, oriented: bool, apply_exif: bool) -> np.ndarray:
    """Bring the pixels to the wanted orientation, whatever the decoder already did."""
    if oriented == apply_exif:
        return pixels
    step = header.orientation if apply_exif else _INVERSE.get(header.orientation, header.orientation)
    return _TRANSFORMS[step](pixels) if step in _TRANSFORMS else pixels
