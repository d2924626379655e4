"""TIFF outputs with metadata: the pixels rewritten by tifffile (zlib-compressed) with the ICC
profile (tag 34675), XMP with the provenance (tag 700), IPTC-IIM (tag 33723) and EXIF: its
IFD0 tags (make, model, date, copyright...) in the image's IFD, its Exif and GPS IFDs as
sub-IFDs (tags 34665, 34853), with the same edits as other formats (orientation 1,
dimensions updated, thumbnail and the input's strip tags dropped).

tifffile is a core dependency; were it missing, TIFF outputs are written without metadata
and one warning says so, once per process.
"""

from __future__ import annotations

import io
import logging
import struct
from typing import Any

from imgtrans.core import iptc
from imgtrans.core.metadata import ImageMetadata, output_exif, provenance_xmp

log = logging.getLogger(__name__)

_EXIF_IFD, _GPS_IFD, _INTEROP_IFD = 0x8769, 0x8825, 0xA005
_SUB_IFDS = (_EXIF_IFD, _GPS_IFD)
# tags tifffile writes itself (image structure, resolution, software): the EXIF's are left out
_WRITTEN = {254, 256, 257, 258, 259, 262, 273, 277, 278, 279, 282, 283, 284, 296, 305, 317,
            338, 339, 34675, 700, 33723}
_LITTLE = b"II*\x00\x08\x00\x00\x00"
_PLACEHOLDER = 65000
_warned_missing = False


def embed_tiff(encoded: bytes, meta: ImageMetadata | None, provenance: dict[str, Any] | None,
               width: int, height: int, channels: int) -> bytes:
    global _warned_missing
    try:
        import tifffile
    except ImportError:
        if not _warned_missing:
            _warned_missing = True
            log.warning("TIFF outputs are written without metadata (EXIF, XMP, IPTC, ICC, "
                        "provenance): that needs tifffile (pip install tifffile)")
        return encoded
    import cv2
    import numpy as np

    meta = meta or ImageMetadata()
    pixels = cv2.imdecode(np.frombuffer(encoded, np.uint8), cv2.IMREAD_UNCHANGED)
    if pixels.ndim == 3:
        pixels = cv2.cvtColor(pixels, cv2.COLOR_BGR2RGB if pixels.shape[2] == 3 else cv2.COLOR_BGRA2RGBA)
    extratags: list[tuple] = []
    icc = meta.icc if meta.icc_space == ("GRAY" if channels == 1 else "RGB") else None
    if meta.icc and not icc:
        log.warning("ICC profile left out: a %s profile cannot describe a %s output",
                    meta.icc_space, "gray" if channels == 1 else "colour")
    if icc:
        extratags.append((34675, 7, len(icc), icc, True))
    xmp = provenance_xmp(provenance, meta.xmp) if provenance else meta.xmp
    if xmp:
        extratags.append((700, 1, len(xmp), xmp, True))
    block = getattr(meta, "iptc", None)
    if block:
        extratags.append(iptc.tiff_tag(block))
    subs: dict[int, Any] = {}
    if meta.exif:
        try:
            ifd0, subs = _exif_ifds(output_exif(meta.exif, width, height, meta.orientation_applied))
            extratags += ifd0
            # tifffile refuses to write 34665/34853: private placeholders, renamed below
            extratags += [(_PLACEHOLDER + k, 4, 1, 0, True) for k in range(len(subs))]
        except Exception as exc:
            log.warning("EXIF left out: it cannot be parsed (%s)", type(exc).__name__)
            subs = {}
    out = io.BytesIO()
    alpha = pixels.ndim == 3 and pixels.shape[2] == 4
    tifffile.imwrite(out, np.ascontiguousarray(pixels), byteorder="<",
                     photometric="minisblack" if pixels.ndim == 2 else "rgb",
                     compression="zlib", extrasamples=("unassalpha",) if alpha else None,
                     extratags=extratags, metadata=None)
    data = out.getvalue()
    if subs and data[:4] != b"II*\x00":  # BigTIFF (a > 4 GB image): no classic IFD to patch
        log.warning("EXIF left out: not written to BigTIFF outputs")
        return data
    return _append_sub_ifds(data, subs) if subs else data


def _exif_ifds(exif: bytes) -> tuple[list[tuple], dict[int, Any]]:
    """The edited EXIF (TIFF-structured bytes) as tifffile extratags for IFD0 and the loaded
    Exif/GPS sub-IFDs (Pillow ``ImageFileDirectory_v2``)."""
    from PIL import TiffImagePlugin

    fp = io.BytesIO(exif)
    ifd0 = TiffImagePlugin.ImageFileDirectory_v2(exif[:8])
    fp.seek(ifd0.next)
    ifd0.load(fp)
    tags, subs = [], {}
    for tag in list(ifd0):
        if tag in _SUB_IFDS:
            sub = TiffImagePlugin.ImageFileDirectory_v2(exif[:8])
            fp.seek(int(ifd0[tag]))
            sub.load(fp)
            if len(sub):
                subs[tag] = sub
        elif tag not in _WRITTEN:
            entry = _extratag(tag, ifd0.tagtype.get(tag), ifd0[tag])
            if entry:
                tags.append(entry)
    return tags, subs


def _extratag(tag: int, kind: int | None, value: Any) -> tuple | None:
    values = value if isinstance(value, tuple) else (value,)
    if kind == 2:
        return (tag, 2, 0, str(value).rstrip("\x00"), True)
    if kind in (1, 3, 4, 6, 8, 9):
        return (tag, kind, len(values), values if len(values) > 1 else values[0], True)
    if kind in (5, 10):
        flat = []
        for item in values:
            flat += [int(item.numerator), int(item.denominator)]
        return (tag, kind, len(values), tuple(flat), True)
    if kind == 7:
        raw = bytes(value)
        return (tag, 7, len(raw), raw, True)
    return None  # other types: not in a camera's IFD0


def _append_sub_ifds(data: bytes, subs: dict[int, Any]) -> bytes:
    """``data`` (a little-endian classic TIFF whose IFD0 has placeholder tags for ``subs``, in
    order) with each sub-IFD appended and its placeholder renamed into the pointer tag."""
    from PIL import TiffImagePlugin

    out = bytearray(data)
    ifd = struct.unpack_from("<I", out, 4)[0]
    count = struct.unpack_from("<H", out, ifd)[0]
    entries = [bytes(out[ifd + 2 + 12 * k:ifd + 14 + 12 * k]) for k in range(count)]
    real = {_PLACEHOLDER + k: tag for k, tag in enumerate(subs)}
    entries = sorted((struct.pack("<H", real.get(e[0] | e[1] << 8, e[0] | e[1] << 8)) + e[2:]
                      for e in entries), key=lambda e: struct.unpack_from("<H", e)[0])
    out[ifd + 2:ifd + 2 + 12 * count] = b"".join(entries)
    pointers = {struct.unpack_from("<H", e)[0]: ifd + 2 + 12 * k + 8 for k, e in enumerate(entries)}
    for tag, loaded in subs.items():
        sub = TiffImagePlugin.ImageFileDirectory_v2(_LITTLE)
        for key in loaded:
            if key == _INTEROP_IFD:  # an offset into the input's EXIF: not carried
                continue
            sub.tagtype[key] = loaded.tagtype[key]
            sub[key] = loaded[key]
        out += b"\x00" * (len(out) % 2)  # IFDs start on a word boundary
        at = len(out)
        out += sub.tobytes(at)
        out[pointers[tag]:pointers[tag] + 4] = struct.pack("<I", at)
    return bytes(out)
