"""What an image file carries beside its pixels (EXIF, ICC, XMP, PNG text) and how it is
carried into an output, with the output's provenance.

The reader collects an :class:`ImageMetadata` while it decodes (:func:`collect`); the writer
embeds it into the encoded bytes (:func:`embed`); translators never see it. Embedding works
on the encoded file (segments, chunks), so the pixels are encoded exactly as without
metadata. Bad metadata never costs the image: what cannot be read or kept is left out with
one warning line. Pillow parses EXIF and reads headers; the rest is our own small glue.
"""

from __future__ import annotations

import html
import io
import json
import logging
import re
import struct
import warnings
import zlib
from dataclasses import dataclass, field
from typing import Any

log = logging.getLogger(__name__)

PROVENANCE_KEY = "imgtrans"
"""PNG iTXt keyword of the provenance record (JSON)."""
XMP_NAMESPACE = "https://imgtrans.dev/ns/provenance/1.0/"
XMP_KEY = "XML:com.adobe.xmp"
MAX_ICC_BYTES = 4 << 20
"""Larger ICC profiles are not copied (real ones are a few kB; 4 MB is generous for LUT
profiles)."""

_ORIENTATION, _EXIF_IFD, _WIDTH, _HEIGHT = 0x0112, 0x8769, 0xA002, 0xA003
# TIFF image-structure tags: they describe the input's strips, not the photograph.
_STRUCTURE = {0x00FE, 0x0100, 0x0101, 0x0102, 0x0103, 0x0106, 0x0111, 0x0115, 0x0116, 0x0117,
              0x011C, 0x0140, 0x0142, 0x0143, 0x0144, 0x0145, 0x0152, 0x0153, 0x0201, 0x0202,
              0x02BC, 0x8773, 0x83BB, 0x8649}
_XMP_PROVENANCE = re.compile(r"imgtrans:provenance\s*=\s*(\"[^\"]*\"|'[^']*')"
                             r"|<imgtrans:provenance>(.*?)</imgtrans:provenance>", re.S)
_OUR_DESCRIPTION = re.compile(r"<rdf:Description[^>]*xmlns:imgtrans=[^>]*?(?:/>|>.*?</rdf:Description>)",
                              re.S)


@dataclass
class ImageMetadata:
    """An input's metadata, as found. ``exif``: TIFF-structured bytes (no ``Exif\\0\\0``);
    ``icc``: the profile's bytes; ``xmp``: the packet; ``text``: other PNG text chunks;
    ``sha256``: of the whole input file; ``warnings``: what could not be read."""

    exif: bytes | None = None
    icc: bytes | None = None
    xmp: bytes | None = None
    text: dict[str, str] = field(default_factory=dict)
    sha256: str | None = None
    warnings: list[str] = field(default_factory=list)
    orientation_applied: bool = True
    """False when the pixels were left as stored (``--no-exif``): the EXIF orientation
    then stays as it was."""

    @property
    def icc_space(self) -> str | None:
        """The profile's colour space ("RGB", "GRAY", "CMYK"...), None without one."""
        return icc_space(self.icc)


def icc_space(icc: bytes | None) -> str | None:
    if not icc or len(icc) < 128:
        return None
    return icc[16:20].decode("latin-1").strip() or None


# --- reading ----------------------------------------------------------------------------------

def collect(data: bytes, kind: str, info: dict[str, Any], exif: bytes | None = None) -> ImageMetadata:
    """Metadata of an encoded image: ``kind`` is PIL's format name, ``info`` the PIL
    ``Image.info`` of its header (PNG: ignored, the chunk list is walked instead, since
    chunks after the pixels are not in ``info``), ``exif`` the raw EXIF PIL found."""
    meta = ImageMetadata()
    try:
        if kind == "PNG":
            _collect_png(data, meta)
        else:
            icc = info.get("icc_profile")
            meta.icc = bytes(icc) if icc else None
            xmp = info.get("xmp") or info.get("XML:com.adobe.xmp")
            meta.xmp = xmp.encode("utf-8") if isinstance(xmp, str) else bytes(xmp) if xmp else None
            meta.exif = _strip_header(exif)
    except Exception as exc:  # damaged metadata never costs the image
        meta.warnings.append(f"metadata not readable ({type(exc).__name__}: {exc})")
    if meta.icc is not None and (len(meta.icc) > MAX_ICC_BYTES or icc_space(meta.icc) is None):
        meta.warnings.append("ICC profile left out (broken or larger than 4 MB)")
        meta.icc = None
    if meta.xmp is not None:
        meta.xmp = _without_provenance(meta.xmp)
    return meta


def _strip_header(exif: bytes | None) -> bytes | None:
    if not exif:
        return None
    exif = bytes(exif)
    return exif[6:] if exif.startswith(b"Exif\x00\x00") else exif


def png_chunks(data: bytes):
    """Yield ``(type, payload)`` of each chunk up to IEND (no CRC check)."""
    pos = 8
    while pos + 8 <= len(data):
        length = int.from_bytes(data[pos:pos + 4], "big")
        kind = data[pos + 4:pos + 8]
        yield kind, data[pos + 8:pos + 8 + length]
        if kind == b"IEND":
            return
        pos += 12 + length


def _collect_png(data: bytes, meta: ImageMetadata) -> None:
    for kind, payload in png_chunks(data):
        try:
            if kind == b"iCCP":
                name, _, rest = payload.partition(b"\x00")
                meta.icc = zlib.decompress(rest[1:])
            elif kind == b"eXIf":
                meta.exif = _strip_header(payload)
            elif kind in (b"tEXt", b"zTXt", b"iTXt"):
                key, value = _png_text(kind, payload)
                if key == XMP_KEY:
                    meta.xmp = value.encode("utf-8")
                elif key != PROVENANCE_KEY:
                    meta.text[key] = value
        except Exception as exc:
            meta.warnings.append(f"PNG {kind.decode('latin-1')} chunk left out "
                                 f"({type(exc).__name__})")


def _png_text(kind: bytes, payload: bytes) -> tuple[str, str]:
    """One text chunk as (keyword, text); Latin-1 chunks that are not are read leniently."""
    key, _, rest = payload.partition(b"\x00")
    keyword = key.decode("latin-1")
    if kind == b"tEXt":
        return keyword, rest.decode("latin-1")
    if kind == b"zTXt":
        return keyword, zlib.decompress(rest[1:]).decode("latin-1")
    compressed, _method = rest[0], rest[1]
    _language, _, rest = rest[2:].partition(b"\x00")
    _translated, _, text = rest.partition(b"\x00")
    if compressed:
        text = zlib.decompress(text)
    return keyword, text.decode("utf-8", errors="replace")


def _without_provenance(xmp: bytes) -> bytes:
    """An input's XMP without the provenance an earlier imgtrans run put in it (the new
    record names that input by its sha256)."""
    text = xmp.decode("utf-8", errors="replace")
    return _OUR_DESCRIPTION.sub("", text).encode("utf-8") if "xmlns:imgtrans" in text else xmp


# --- editing EXIF -------------------------------------------------------------------------------

def output_exif(exif: bytes, width: int, height: int, upright: bool = True) -> bytes:
    """The input's EXIF for an output of ``width`` x ``height``: orientation 1 (the pixels
    are already upright), pixel dimensions updated, the thumbnail (IFD1) dropped, the input's
    image-structure tags (TIFF strips...) dropped. Raises on EXIF Pillow cannot parse."""
    from PIL import Image

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        parsed = Image.Exif()
        parsed.load(b"Exif\x00\x00" + exif)
        for tag in _STRUCTURE & set(parsed):
            del parsed[tag]
        if upright and _ORIENTATION in parsed:
            parsed[_ORIENTATION] = 1
        sub = parsed.get_ifd(_EXIF_IFD)
        if _WIDTH in sub or _HEIGHT in sub:
            sub[_WIDTH], sub[_HEIGHT] = width, height
        return _strip_header(parsed.tobytes()) or b""


# --- provenance ---------------------------------------------------------------------------------

def provenance_json(provenance: dict[str, Any]) -> str:
    """The record as JSON text that encodes to UTF-8: non-ASCII kept readable, and a file
    name's undecodable bytes (lone surrogates) written as JSON escapes, which read back as
    the same name."""
    text = json.dumps(provenance, sort_keys=True, ensure_ascii=False)
    return text.encode("utf-8", "backslashreplace").decode("utf-8")


def provenance_xmp(provenance: dict[str, Any], xmp: bytes | None) -> bytes:
    """``xmp`` (or a new packet) with the provenance record as ``imgtrans:provenance`` (the
    JSON text) in its own ``rdf:Description``."""
    record = html.escape(provenance_json(provenance), quote=True)
    description = (f'<rdf:Description rdf:about="" xmlns:imgtrans="{XMP_NAMESPACE}" '
                   f'imgtrans:provenance="{record}"/>')
    text = xmp.decode("utf-8", errors="replace") if xmp else ""
    if "</rdf:RDF>" in text:
        return text.replace("</rdf:RDF>", description + "</rdf:RDF>", 1).encode("utf-8")
    return ('<?xpacket begin="\ufeff" id="W5M0MpCehiHzreSzNTczkc9d"?>'
            '<x:xmpmeta xmlns:x="adobe:ns:meta/">'
            '<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">'
            f'{description}</rdf:RDF></x:xmpmeta><?xpacket end="w"?>').encode("utf-8")


def provenance_from_xmp(xmp: bytes | str | None) -> dict[str, Any] | None:
    if not xmp:
        return None
    text = xmp.decode("utf-8", errors="replace") if isinstance(xmp, bytes) else xmp
    found = _XMP_PROVENANCE.search(text)
    if not found:
        return None
    value = found.group(1)[1:-1] if found.group(1) else found.group(2)
    return json.loads(html.unescape(value))


def read_provenance(data: bytes) -> dict[str, Any] | None:
    """The provenance record of an encoded image (an imgtrans output), None without one."""
    if data.startswith(b"\x89PNG"):
        for kind, payload in png_chunks(data):
            if kind in (b"tEXt", b"zTXt", b"iTXt"):
                key, value = _png_text(kind, payload)
                if key == PROVENANCE_KEY:
                    return json.loads(value)
                if key == XMP_KEY and provenance_from_xmp(value):
                    return provenance_from_xmp(value)
        return None
    from PIL import Image

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with Image.open(io.BytesIO(data)) as im:
            xmp = im.info.get("xmp")
            if xmp is None and im.format == "TIFF":
                xmp = im.tag_v2.get(700)
    return provenance_from_xmp(xmp)


# --- writing ------------------------------------------------------------------------------------

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
    if ext == "png":
        return _embed_png(encoded, exif, icc, meta.xmp, meta.text, provenance)
    xmp = provenance_xmp(provenance, meta.xmp) if provenance else meta.xmp
    if ext == "webp":
        return _embed_webp(encoded, exif, icc, xmp, width, height)
    if meta.text:
        log.warning("PNG text chunks left out: %s has no place for them (%s)", ext,
                    ", ".join(sorted(meta.text)))
    return _embed_jpeg(encoded, exif, icc, xmp)


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
    """TIFF: the pixels rewritten by tifffile (when installed; zlib-compressed) with ICC (tag
    34675) and XMP (tag 700, with the provenance); EXIF is not carried (a warning says so)."""
    try:
        import tifffile
    except ImportError:
        log.warning("TIFF metadata left out: it needs tifffile (pip install tifffile)")
        return encoded
    import cv2
    import numpy as np

    meta = meta or ImageMetadata()
    pixels = cv2.imdecode(np.frombuffer(encoded, np.uint8), cv2.IMREAD_UNCHANGED)
    if pixels.ndim == 3:
        pixels = cv2.cvtColor(pixels, cv2.COLOR_BGR2RGB if pixels.shape[2] == 3 else cv2.COLOR_BGRA2RGBA)
    extratags = []
    icc = meta.icc if meta.icc_space == ("GRAY" if channels == 1 else "RGB") else None
    if icc:
        extratags.append((34675, 7, len(icc), icc, True))
    xmp = provenance_xmp(provenance, meta.xmp) if provenance else meta.xmp
    if xmp:
        extratags.append((700, 1, len(xmp), xmp, True))
    if meta.exif:
        log.warning("EXIF left out: not written to TIFF outputs")
    out = io.BytesIO()
    alpha = pixels.ndim == 3 and pixels.shape[2] == 4
    tifffile.imwrite(out, np.ascontiguousarray(pixels),
                     photometric="minisblack" if pixels.ndim == 2 else "rgb",
                     compression="zlib", extrasamples=("unassalpha",) if alpha else None,
                     extratags=extratags, metadata=None)
    return out.getvalue()
