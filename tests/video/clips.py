"""Small synthetic clips made with PyAV for the video tests: a few frames of tiny sizes,
variable frame timing, a synthetic audio track."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import numpy as np

av = __import__("pytest").importorskip("av")

TIME_BASE = Fraction(1, 90000)


def frame_pixels(i: int, height: int, width: int, deep: bool = False) -> np.ndarray:
    """A deterministic, textured RGB frame (uint8, or uint16 when ``deep``)."""
    y, x = np.mgrid[0:height, 0:width]
    img = np.stack([(x * 7 + i * 13) % 256, (y * 11 + i * 5) % 256,
                    ((x + y) * 3 + i * 29) % 256], axis=-1).astype(np.uint8)
    return img.astype(np.uint16) * 257 if deep else img


def make_clip(path: Path, *, frames: int = 12, width: int = 34, height: int = 26,
              codec: str = "libx264", pix_fmt: str = "yuv420p", gop: int = 5,
              audio: str | None = "aac", rotation: int = 0, colour: bool = False,
              vfr: bool = True) -> list[int]:
    """Write a clip; returns its video timestamps (in :data:`TIME_BASE`)."""
    out = av.open(str(path), "w")
    video = out.add_stream(codec)
    video.width, video.height, video.pix_fmt = width, height, pix_fmt
    video.time_base = TIME_BASE
    video.codec_context.time_base = TIME_BASE
    video.codec_context.gop_size = gop
    if codec.startswith("libx264"):
        video.options = {"bf": "0", "crf": "20", "g": str(gop), "keyint_min": str(gop),
                         "sc_threshold": "0"}
    if colour:
        ctx = video.codec_context
        ctx.color_primaries, ctx.color_trc, ctx.colorspace, ctx.color_range = 1, 1, 1, 1
    if rotation:
        video.set_display_rotation(rotation)
    sound = None
    if audio:
        sound = out.add_stream(audio, rate=8000)
        sound.layout = "mono"
    stamps, pts = [], 0
    deep = "10" in pix_fmt
    for i in range(frames):
        rgb = frame_pixels(i, height, width, deep)
        frame = av.VideoFrame.from_ndarray(rgb, format="rgb48le" if deep else "rgb24")
        frame.pts, frame.time_base = pts, TIME_BASE
        stamps.append(pts)
        pts += (3000 if i % 2 else 4500) if vfr else 3000
        for packet in video.encode(frame):
            out.mux(packet)
    for packet in video.encode():
        out.mux(packet)
    if sound is not None:
        fmt = "s16" if audio.startswith("pcm") else "fltp"
        t = 0
        for k in range(6):
            wave = np.sin(np.arange(1024) / 5 + k) * 0.3
            data = (wave * 32767).astype(np.int16)[None] if fmt == "s16" else wave.astype(np.float32)[None]
            af = av.AudioFrame.from_ndarray(data, format=fmt, layout="mono")
            af.sample_rate, af.pts = 8000, t
            t += 1024
            for packet in sound.encode(af):
                out.mux(packet)
        for packet in sound.encode():
            out.mux(packet)
    out.close()
    return stamps


def broken_clip(path: Path, frames: int = 12, bad: int = 6) -> None:
    """An FFV1 Matroska clip whose packet ``bad`` is garbage: it opens and its packets are
    all there, but decoding fails part-way."""
    make_clip(path, frames=frames, codec="ffv1", audio=None)
    with av.open(str(path)) as c:
        packets = [(p.pos, p.size) for p in c.demux(video=0) if p.size]
    data = bytearray(path.read_bytes())
    pos, size = packets[bad]
    data[pos + 8:pos + size] = bytes((b * 7 + 91) & 255 for b in data[pos + 8:pos + size])
    path.write_bytes(bytes(data))


def video_packets(path: Path) -> list[tuple[int, int, int]]:
    """(pts, dts, duration) of the video packets."""
    with av.open(str(path)) as c:
        return [(p.pts, p.dts, p.duration) for p in c.demux(c.streams.video[0]) if p.size]


def other_packets(path: Path) -> list[tuple[str, bytes, int | None, int | None]]:
    """(codec, bytes, pts, dts) of every non-video packet, in stream order per stream."""
    with av.open(str(path)) as c:
        others = [s for s in c.streams if s.type != "video"]
        if not others:
            return []
        packets = [(p.stream.codec_context.name, bytes(p), p.pts, p.dts, p.stream.index)
                   for p in c.demux(*others) if p.size]
        return sorted(packets, key=lambda p: p[4])


def decoded(path: Path) -> list[tuple[int, np.ndarray]]:
    """(pts, RGB pixels) of every frame."""
    with av.open(str(path)) as c:
        return [(f.pts, f.to_ndarray(format="rgb24")) for f in c.decode(video=0)]
