"""Photographs made for the metadata tests: EXIF with GPS, orientation and a thumbnail, a
Display P3 ICC profile built here, XMP and PNG text."""

from __future__ import annotations

import struct
from pathlib import Path

import numpy as np
from PIL import Image

XMP = (b'<?xpacket begin="" id="W5M0MpCehiHzreSzNTczkc9d"?><x:xmpmeta xmlns:x="adobe:ns:meta/">'
       b'<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"><rdf:Description '
       b'rdf:about="" xmlns:dc="http://purl.org/dc/elements/1.1/"><dc:title>Harbour at dawn'
       b'</dc:title></rdf:Description></rdf:RDF></x:xmpmeta><?xpacket end="w"?>')


def _s15(value: float) -> bytes:
    return struct.pack(">i", round(value * 65536))


def _xyz(x: float, y: float, z: float) -> bytes:
    return b"XYZ \x00\x00\x00\x00" + _s15(x) + _s15(y) + _s15(z)


def display_p3_profile(gamma: float = 2.2) -> bytes:
    """A v2 matrix/TRC profile with Display P3's primaries (adapted to D50) and a pure
    gamma curve: wide-gamut like a phone photo's, small, and ours to ship."""
    desc_text = b"Display P3 (imgtrans test)\x00"
    tags = [
        (b"desc", b"desc\x00\x00\x00\x00" + struct.pack(">I", len(desc_text)) + desc_text
         + b"\x00" * 12 + b"\x00" * 67),
        (b"wtpt", _xyz(0.9642, 1.0, 0.8249)),
        (b"rXYZ", _xyz(0.5151, 0.2412, -0.0011)),
        (b"gXYZ", _xyz(0.2920, 0.6922, 0.0419)),
        (b"bXYZ", _xyz(0.1571, 0.0666, 0.7841)),
        (b"rTRC", b"curv\x00\x00\x00\x00" + struct.pack(">IH", 1, round(gamma * 256)) + b"\x00\x00"),
        (b"cprt", b"text\x00\x00\x00\x00No copyright, test data\x00"),
    ]
    tags += [(b"gTRC", tags[5][1]), (b"bTRC", tags[5][1])]
    table_size = 4 + 12 * len(tags)
    offset = 128 + table_size
    table, body = struct.pack(">I", len(tags)), b""
    for signature, data in tags:
        while len(data) % 4:
            data += b"\x00"
        table += signature + struct.pack(">II", offset + len(body), len(data))
        body += data
    size = 128 + table_size + len(body)
    header = (struct.pack(">I", size) + b"lcms" + bytes([2, 0x10, 0, 0]) + b"mntrRGB XYZ "
              + struct.pack(">6H", 2024, 1, 1, 0, 0, 0) + b"acsp" + b"APPL" + b"\x00" * 4
              + b"\x00" * 8 + b"\x00" * 8 + struct.pack(">I", 0)
              + _s15(0.9642) + _s15(1.0) + _s15(0.8249) + b"lcms")
    header += b"\x00" * (128 - len(header))
    return header + table + body


def camera_exif(orientation: int = 6, width: int = 60, height: int = 40,
                thumbnail: bool = True) -> bytes:
    """EXIF as a camera writes it: make, model, date, GPS, pixel dimensions, orientation,
    and (``thumbnail``) an IFD1 with a small JPEG thumbnail."""
    exif = Image.Exif()
    exif[0x010F], exif[0x0110] = "Canon", "EOS 5D Mark IV"
    exif[0x0132], exif[0x0112] = "2024:05:01 06:12:00", orientation
    sub = exif.get_ifd(0x8769)
    sub[0x9003], sub[0xA002], sub[0xA003] = "2024:05:01 06:12:00", width, height
    gps = exif.get_ifd(0x8825)
    gps[1], gps[2], gps[3], gps[4] = "N", (48.0, 51.0, 24.0), "E", (2.0, 21.0, 7.0)
    raw = exif.tobytes()[6:]  # TIFF header + IFD0 (+ sub-IFDs)
    if not thumbnail:
        return b"Exif\x00\x00" + raw
    import io

    jpeg = io.BytesIO()
    Image.new("RGB", (8, 8), (200, 10, 10)).save(jpeg, "JPEG")
    thumb = jpeg.getvalue()
    e = "<" if raw[:2] == b"II" else ">"
    count = struct.unpack_from(e + "H", raw, 8)[0]
    next_at = 8 + 2 + 12 * count  # IFD0's "next IFD" pointer
    ifd1_at = len(raw) + (len(raw) % 2)
    raw = raw + b"\x00" * (ifd1_at - len(raw))
    data_at = ifd1_at + 2 + 2 * 12 + 4
    ifd1 = (struct.pack(e + "H", 2) + struct.pack(e + "HHII", 0x0201, 4, 1, data_at)
            + struct.pack(e + "HHII", 0x0202, 4, 1, len(thumb)) + struct.pack(e + "I", 0))
    raw = raw[:next_at] + struct.pack(e + "I", ifd1_at) + raw[next_at + 4:] + ifd1 + thumb
    return b"Exif\x00\x00" + raw


def iptc_block(caption: str = "Harbour at dawn, Honfleur",
               keywords: tuple[str, ...] = ("harbour", "dawn", "boats"),
               copyright: str = "(c) 2024 A. Photographer") -> bytes:
    """An IPTC-IIM block as photo agencies write it: record version, caption (2:120),
    keywords (2:25, repeated) and copyright notice (2:116)."""
    def dataset(number: int, value: bytes) -> bytes:
        return b"\x1c\x02" + bytes([number]) + struct.pack(">H", len(value)) + value

    block = dataset(0, b"\x00\x04") + dataset(120, caption.encode("utf-8"))
    block += b"".join(dataset(25, word.encode("utf-8")) for word in keywords)
    return block + dataset(116, copyright.encode("utf-8"))


def photoshop_app13(block: bytes) -> bytes:
    """A JPEG APP13 segment: "Photoshop 3.0" with one 8BIM resource 0x0404 holding ``block``."""
    resource = (b"8BIM\x04\x04\x00\x00" + struct.pack(">I", len(block)) + block
                + b"\x00" * (len(block) % 2))
    payload = b"Photoshop 3.0\x00" + resource
    return b"\xff\xed" + struct.pack(">H", len(payload) + 2) + payload


def photo_pixels(height: int = 40, width: int = 60, seed: int = 0) -> np.ndarray:
    """A smooth gradient with a little noise: survives JPEG recognisably."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:height, 0:width]
    base = np.stack([x * 255 / width, y * 255 / height, (x + y) * 127 / (width + height)], -1)
    return np.clip(base + rng.normal(0, 4, base.shape), 0, 255).astype(np.uint8)


def write_photo(path: Path, fmt: str = "JPEG", iptc: bool = False, **kwargs) -> Path:
    """A photo as ``fmt`` with camera EXIF (orientation 6), the P3 profile and XMP (and, for a
    JPEG with ``iptc``, an IPTC-IIM block in a Photoshop APP13 segment)."""
    image = Image.fromarray(photo_pixels())
    extra = {"exif": camera_exif(**kwargs), "icc_profile": display_p3_profile(), "xmp": XMP}
    if fmt == "JPEG":
        extra["quality"] = 95
        if iptc:
            extra["extra"] = photoshop_app13(iptc_block())
    if fmt == "PNG":
        from PIL import PngImagePlugin

        text = PngImagePlugin.PngInfo()
        text.add_itxt("Description", "Le port à l'aube")
        text.add_itxt("XML:com.adobe.xmp", XMP.decode())
        extra = {"exif": extra["exif"], "icc_profile": extra["icc_profile"], "pnginfo": text}
    image.save(path, fmt, **extra)
    return path
