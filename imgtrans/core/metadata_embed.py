"""Carry an input's metadata, and the output's provenance, into an encoded output file.

Split from ``metadata`` (which reads and describes what a file carries) because writing is
per-format byte surgery: PNG chunks, JPEG segments, WebP RIFF chunks, and a tifffile rewrite
for TIFF. It works on the encoded file, so the pixels are encoded exactly as without
metadata; what cannot be kept is left out with one warning line.
"""

from __future__ import annotations

import logging
import struct
import zlib
from typing import Any

from imgtrans.core import iptc
from imgtrans.core.metadata import (PROVENANCE_KEY, XMP_KEY, ImageMetadata, icc_space,
                                    output_exif, png_chunks, provenance_json, provenance_xmp)

log = logging.getLogger(__name__)


def embed(encoded: bytes, ext: str, meta: ImageMetadata | None, provenance: dict[str, Any] | None,
          width: int, height: int, channels: int) -> bytes:
    """``encoded`` (an image file of format ``ext``, as OpenCV wrote it) with ``meta`` and
    ``provenance`` added where the format can hold them; what cannot be kept is logged,
    one warning line each."""
    ext = ext.lower().lstrip(".")
    if ext not in ("png", "jpg", "jpeg", "webp") or (meta is None and provenance is None):
        if ext in ("tif", "tiff") and (meta or provenance):
            return _embed_tiff(encoded, meta, provenance, width, height, channels)
        return encoded
    meta = meta or ImageMetadata()
    exif = None
    if meta.exif:
        try:
            exif = output_exif(meta.exif, width, height, meta.orientation_applied)
        except Exception as exc:
            log.warning("EXIF left out: it cannot be parsed (%s)", type(exc).__name__)
    icc = meta.icc
    space = icc_space(icc)
    if icc and space != ("GRAY" if channels == 1 else "RGB"):
        log.warning("ICC profile left out: a %s profile cannot describe a %s output", space,
                    "gray" if channels == 1 else "colour")
        icc = None
    if meta.iptc and ext in ("png", "webp") and not meta.xmp:
        log.warning("IPTC left out: %s has no place for an IPTC-IIM block (and the input "
                    "has no XMP copy of it)", ext)
    if ext == "png":
        return _embed_png(encoded, exif, icc, meta.xmp, meta.text, provenance)
    xmp = provenance_xmp(provenance, meta.xmp) if provenance else meta.xmp
    if ext == "webp":
        return _embed_webp(encoded, exif, icc, xmp, width, height)
    if meta.text:
        log.warning("PNG text chunks left out: %s has no place for them (%s)", ext,
                    ", ".join(sorted(meta.text)))
    encoded = _embed_jpeg(encoded, exif, icc, xmp)
    if meta.iptc:
        with_iptc = iptc.with_app13(encoded, meta.iptc)
        if with_iptc is None:
            log.warning("IPTC left out: %d bytes is more than a JPEG segment holds", len(meta.iptc))
        encoded = with_iptc or encoded
    return encoded


def _png_chunk(kind: bytes, payload: bytes) -> bytes:
    return (struct.pack(">I", len(payload)) + kind + payload
            + struct.pack(">I", zlib.crc32(kind + payload) & 0xFFFFFFFF))


def _itxt(key: str, text: str) -> bytes:
    raw = text.encode("utf-8")
    packed = zlib.compress(raw) if len(raw) > 1024 else raw
    flag = b"\x01" if packed is not raw else b"\x00"
    return _png_chunk(b"iTXt", key.encode("latin-1")[:79] + b"\x00" + flag + b"\x00\x00\x00" + packed)


def _embed_png(encoded: bytes, exif: bytes | None, icc: bytes | None, xmp: bytes | None,
               text: dict[str, str], provenance: dict[str, Any] | None) -> bytes:
    chunks = []
    if icc:
        chunks.append(_png_chunk(b"iCCP", b"icc\x00\x00" + zlib.compress(icc)))
    if exif:
        chunks.append(_png_chunk(b"eXIf", exif))
    if xmp:
        chunks.append(_itxt(XMP_KEY, xmp.decode("utf-8", errors="replace")))
    for key, value in text.items():
        chunks.append(_itxt(key, value))
    if provenance:
        chunks.append(_itxt(PROVENANCE_KEY, provenance_json(provenance)))
    head = 8 + 12 + int.from_bytes(encoded[8:12], "big")  # signature + IHDR
    # OpenCV may write its own sRGB/gAMA chunks: they contradict an ICC profile
    rest = encoded[head:]
    if icc:
        rest = b"".join(_png_chunk(k, p) for k, p in png_chunks(b"\x00" * 8 + rest)
                        if k not in (b"sRGB", b"gAMA", b"cHRM", b"iCCP"))
    return encoded[:head] + b"".join(chunks) + rest


def _jpeg_segment(marker: int, payload: bytes) -> bytes:
    return struct.pack(">BBH", 0xFF, marker, len(payload) + 2) + payload


_XMP_HEADER = b"http://ns.adobe.com/xap/1.0/\x00"


def _embed_jpeg(encoded: bytes, exif: bytes | None, icc: bytes | None, xmp: bytes | None) -> bytes:
    segments = []
    if exif:
        if len(exif) + 8 > 0xFFFF:
            log.warning("EXIF left out: %d bytes is more than a JPEG segment holds", len(exif))
        else:
            segments.append(_jpeg_segment(0xE1, b"Exif\x00\x00" + exif))
    if xmp:
        if len(xmp) + len(_XMP_HEADER) + 2 > 0xFFFF:
            log.warning("XMP left out: %d bytes is more than a JPEG segment holds", len(xmp))
        else:
            segments.append(_jpeg_segment(0xE1, _XMP_HEADER + xmp))
    if icc:
        size = 65519
        parts = [icc[i:i + size] for i in range(0, len(icc), size)]
        if len(parts) > 255:
            log.warning("ICC profile left out: too large for JPEG")
        else:
            segments += [_jpeg_segment(0xE2, b"ICC_PROFILE\x00" + bytes([k + 1, len(parts)]) + part)
                         for k, part in enumerate(parts)]
    pos = 2
    if encoded[2:4] == b"\xff\xe0":  # keep the JFIF segment first
        pos = 4 + int.from_bytes(encoded[4:6], "big")
    return encoded[:pos] + b"".join(segments) + encoded[pos:]


def _riff_chunk(kind: bytes, payload: bytes) -> bytes:
    return kind + struct.pack("<I", len(payload)) + payload + (b"\x00" if len(payload) % 2 else b"")


def _embed_webp(encoded: bytes, exif: bytes | None, icc: bytes | None, xmp: bytes | None,
                width: int, height: int) -> bytes:
    """The extended format: VP8X, ICCP, the image chunks, EXIF, XMP."""
    pos, image, flags = 12, [], 0
    while pos + 8 <= len(encoded):
        kind = encoded[pos:pos + 4]
        size = struct.unpack("<I", encoded[pos + 4:pos + 8])[0]
        chunk = encoded[pos:pos + 8 + size + (size % 2)]
        if kind == b"VP8X":
            flags = encoded[pos + 8]
        elif kind not in (b"ICCP", b"EXIF", b"XMP "):
            image.append(chunk)
        pos += 8 + size + (size % 2)
    if any(chunk[:4] == b"ALPH" for chunk in image) or (flags & 0x10):
        flags |= 0x10
    if any(chunk[:4] == b"VP8L" for chunk in image):
        vp8l = next(chunk for chunk in image if chunk[:4] == b"VP8L")
        if (int.from_bytes(vp8l[9:13], "little") >> 28) & 1:
            flags |= 0x10  # VP8L's own alpha bit
    flags = (flags & ~0x2C) | (0x20 if icc else 0) | (0x08 if exif else 0) | (0x04 if xmp else 0)
    vp8x = _riff_chunk(b"VP8X", bytes([flags, 0, 0, 0]) + (width - 1).to_bytes(3, "little")
                       + (height - 1).to_bytes(3, "little"))
    body = (vp8x + (_riff_chunk(b"ICCP", icc) if icc else b"") + b"".join(image)
            + (_riff_chunk(b"EXIF", exif) if exif else b"") + (_riff_chunk(b"XMP ", xmp) if xmp else b""))
    return b"RIFF" + struct.pack("<I", len(body) + 4) + b"WEBP" + body


def _embed_tiff(encoded: bytes, meta: ImageMetadata | None, provenance: dict[str, Any] | None,
                width: int, height: int, channels: int) -> bytes:
    """TIFF: module ``metadata_tiff`` (a tifffile rewrite with EXIF, XMP, IPTC and ICC)."""
    from imgtrans.core.metadata_tiff import embed_tiff

    return embed_tiff(encoded, meta, provenance, width, height, channels)
