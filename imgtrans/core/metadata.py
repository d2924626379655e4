"""What an image file carries beside its pixels (EXIF, ICC, XMP, PNG text), and the
output's provenance record.

The reader collects an :class:`ImageMetadata` while it decodes (:func:`collect`); the writer
embeds it into the encoded bytes (``metadata_embed.embed``, per format); translators never
see it. Bad metadata never costs the image: what cannot be read or kept is left out with
one warning line. Pillow parses EXIF and reads headers; the rest is our own small glue.
"""

from __future__ import annotations

import html
import io
import json
import logging
import re
import warnings
import zlib
from dataclasses import dataclass, field
from typing import Any

from imgtrans.core.iptc import from_info as iptc_block

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
    ``icc``: the profile's bytes; ``xmp``: the packet; ``iptc``: the IPTC-IIM block (JPEG
    Photoshop APP13 resource 0x0404, module ``iptc``); ``text``: other PNG text chunks;
    ``sha256``: of the whole input file; ``warnings``: what could not be read."""

    exif: bytes | None = None
    icc: bytes | None = None
    xmp: bytes | None = None
    iptc: bytes | None = None
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
            meta.iptc = iptc_block(info)
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
