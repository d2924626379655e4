"""IPTC-IIM blocks (captions, keywords, copyright as newsrooms and photo agencies write them):
found in a JPEG's Photoshop APP13 segment (8BIM image resource 0x0404), carried into JPEG
outputs the same way and into TIFF outputs as tag 33723 (IPTC-NAA). PNG and WebP have no
standard place for them; the XMP copy that editors write beside them is carried there.

The block is copied byte for byte: nothing in it describes the pixels.
"""

from __future__ import annotations

import struct
from typing import Any

IPTC_RESOURCE = 0x0404
TIFF_TAG = 33723
_PHOTOSHOP = b"Photoshop 3.0\x00"
_MAX_APP13 = 0xFFFF - 2


def from_info(info: dict[str, Any]) -> bytes | None:
    """The IPTC-IIM block of a PIL header's ``info`` (JPEG: ``info["photoshop"]``, Pillow's
    parse of the APP13 image resources), None without one."""
    resources = info.get("photoshop")
    block = resources.get(IPTC_RESOURCE) if isinstance(resources, dict) else None
    return bytes(block) if block else None


def app13_segment(block: bytes) -> bytes | None:
    """A JPEG APP13 segment holding ``block`` as the only Photoshop image resource; None when
    it is larger than a segment holds."""
    resource = b"8BIM" + struct.pack(">H", IPTC_RESOURCE) + b"\x00\x00"  # empty Pascal name
    resource += struct.pack(">I", len(block)) + block + (b"\x00" if len(block) % 2 else b"")
    payload = _PHOTOSHOP + resource
    if len(payload) > _MAX_APP13:
        return None
    return b"\xff\xed" + struct.pack(">H", len(payload) + 2) + payload


def with_app13(encoded: bytes, block: bytes) -> bytes | None:
    """A JPEG file with ``block`` in an APP13 segment after its APP0/APP1/APP2 segments (where
    Photoshop puts it); None when the block does not fit a segment."""
    segment = app13_segment(block)
    if segment is None:
        return None
    pos = 2
    while pos + 4 <= len(encoded) and encoded[pos] == 0xFF and 0xE0 <= encoded[pos + 1] <= 0xE2:
        pos += 2 + int.from_bytes(encoded[pos + 2:pos + 4], "big")
    return encoded[:pos] + segment + encoded[pos:]


def tiff_tag(block: bytes) -> tuple[int, int, int, bytes, bool]:
    """The block as a tifffile ``extratags`` entry (UNDEFINED bytes, padded to 4 bytes as
    Photoshop's LONG-typed copies are)."""
    padded = block + b"\x00" * (-len(block) % 4)
    return (TIFF_TAG, 7, len(padded), padded, True)
