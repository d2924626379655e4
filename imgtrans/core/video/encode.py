"""Encode translated frames with PyAV: one NUT file per segment, then one join that muxes
the segments' packets with the input's other streams, copied packet for packet.

Every frame is encoded with its input timestamp in the input's time base, and its packet
keeps the input frame's duration, so variable frame rates stay variable and the duration is
the input's. Segments start with a keyframe of their own and H.264/HEVC are encoded without
B-frames, so the segments' packets join into one stream without re-encoding and a resumed
run gives the same file as an uninterrupted one. The colour description (primaries,
transfer, matrix, range) and the rotation are set on the output stream.
"""

from __future__ import annotations

import heapq
import logging
import os
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import Any, Iterator

import numpy as np

from imgtrans.core.video import VideoOptions
from imgtrans.core.video.source import VideoInfo, _sws_space
from imgtrans.errors import UsageError

log = logging.getLogger(__name__)

DEFAULT_CODECS = {"webm": "libvpx-vp9", "ogv": "libtheora", "avi": "libx264", "flv": "libx264"}
"""Encoder per output container; everything else: ``libx264`` (visually lossless CRF 18)."""
DEFAULT_CRF = {"libx264": 18, "libx264rgb": 18, "libx265": 20, "libvpx-vp9": 24,
               "libsvtav1": 30, "libaom-av1": 30}
"""The CRF used when ``--crf`` is not given ("visually lossless" for x264/x265)."""
CRF_RANGE = {"libx264": 51, "libx264rgb": 51, "libx265": 51, "libvpx-vp9": 63,
             "libvpx": 63, "libsvtav1": 63, "libaom-av1": 63}
_NO_B_FRAMES = {"libx264": {"bf": "0"}, "libx264rgb": {"bf": "0"},
                "libx265": {"bf": "0", "x265-params": "bframes=0:log-level=error"}}
_RGB_FORMATS = {8: "rgb24", 16: "rgb48le"}
_MOV_FAMILY = frozenset({"mp4", "m4v", "mov", "3gp"})


@dataclass(frozen=True)
class Encoder:
    """The effective encoding settings of one video (they go into the run report)."""

    codec: str
    pix_fmt: str
    options: dict[str, str] = field(default_factory=dict)

    def describe(self) -> dict[str, Any]:
        return {"video_codec": self.codec, "pix_fmt": self.pix_fmt, "codec_options": dict(self.options)}


def choose_encoder(av: Any, container_ext: str, info: VideoInfo, width: int, height: int,
                   bit_depth: int, options: VideoOptions) -> Encoder:
    """The encoder, pixel format and options for a ``width``×``height`` result of
    ``bit_depth`` bits: ``options.codec`` or the container's default; ``options.pix_fmt``, or
    the input's when the encoder takes it (4:2:0/4:2:2 become 4:4:4 for odd sizes), else a
    format of the same depth it takes. A usage error for an unknown encoder or pixel format."""
    name = options.codec or DEFAULT_CODECS.get(container_ext, "libx264")
    try:
        codec = av.Codec(name, "w")
    except Exception:
        raise UsageError(f"--video-codec {name!r}: not an FFmpeg encoder this PyAV has") from None
    if codec.type != "video":
        raise UsageError(f"--video-codec {name!r} encodes {codec.type}, not video")
    taken = [f.name for f in (codec.video_formats or [])]
    if options.pix_fmt:
        if taken and options.pix_fmt not in taken:
            raise UsageError(f"--pix-fmt {options.pix_fmt!r}: {name} takes {', '.join(taken)}")
        pix_fmt = options.pix_fmt
    else:
        pix_fmt = _pick_format(info.pix_fmt, taken, bit_depth, width, height)
    settings: dict[str, str] = dict(_NO_B_FRAMES.get(name, {}))
    crf = options.crf if options.crf is not None else DEFAULT_CRF.get(name)
    if crf is not None:
        if name not in CRF_RANGE:
            raise UsageError(f"--crf: {name} has no constant rate factor")
        if not 0 <= crf <= CRF_RANGE[name]:
            raise UsageError(f"--crf {crf}: {name} takes 0 to {CRF_RANGE[name]}")
        settings["crf"] = str(crf)
        if name.startswith("libvpx"):
            settings["b"] = "0"  # constant quality, no bit-rate cap
    if name == "libx264" and crf == 0 and not options.pix_fmt:
        settings["qp"] = "0"
    return Encoder(name, pix_fmt, settings)


def _pick_format(source: str, taken: list[str], bit_depth: int, width: int, height: int) -> str:
    odd = width % 2 or height % 2
    wanted = source
    if odd and ("420" in wanted or "422" in wanted or "411" in wanted):
        wanted = wanted.replace("420", "444").replace("422", "444").replace("411", "444")
    if not taken or wanted in taken:
        return wanted
    deep = [f for f in taken if ("10" in f or "12" in f or "16" in f)]
    for choice in ((["yuv444p10le", "yuv420p10le"] if bit_depth == 16 else [])
                   + (["yuv444p"] if odd else ["yuv420p", "yuv444p"]) + deep + taken):
        if choice in taken and not (odd and "420" in choice):
            return choice
    return taken[0]


class SegmentWriter:
    """Encodes one segment's frames into ``path`` (a NUT file, written under a temporary
    name and renamed when complete)."""

    def __init__(self, av: Any, path: Path, encoder: Encoder, info: VideoInfo,
                 width: int, height: int) -> None:
        self.av, self.path, self.info = av, path, info
        self.temp = path.with_name(f".{path.name}.tmp")
        self.container = av.open(str(self.temp), "w", format="nut")
        stream = self.container.add_stream(encoder.codec)
        stream.width, stream.height, stream.pix_fmt = width, height, encoder.pix_fmt
        stream.time_base = info.time_base
        stream.codec_context.time_base = info.time_base
        stream.options = dict(encoder.options)
        for key, value in info.colour.items():
            if value:
                setattr(stream.codec_context, key, value)
        self.stream = stream
        self.space = _sws_space(info.colour.get("colorspace"))
        self.range = info.colour.get("color_range") or 1
        self.durations: dict[int, int] = {}

    def add(self, pixels: np.ndarray, pts: int, duration: int) -> None:
        """Encode H×W×3 RGB ``pixels`` (uint8, or uint16 for deep results) at ``pts``."""
        if pixels.ndim == 2:
            pixels = np.repeat(pixels[..., None], 3, axis=2)
        elif pixels.shape[2] == 4:
            pixels = pixels[..., :3]
        rgb = _RGB_FORMATS[16 if pixels.dtype == np.uint16 else 8]
        frame = self.av.VideoFrame.from_ndarray(np.ascontiguousarray(pixels), format=rgb)
        frame = frame.reformat(format=self.stream.pix_fmt, dst_colorspace=self.space,
                               src_color_range=2, dst_color_range=self.range)
        for key, value in self.info.colour.items():
            if value:
                setattr(frame, key, value)
        frame.pts, frame.time_base = pts, self.info.time_base
        self.durations[pts] = duration
        self._mux(self.stream.encode(frame))

    def _mux(self, packets: list[Any]) -> None:
        for packet in packets:
            if not packet.duration and packet.pts in self.durations:
                packet.duration = self.durations[packet.pts]
            self.container.mux(packet)

    def finish(self) -> None:
        self._mux(self.stream.encode(None))
        self.container.close()
        os.replace(self.temp, self.path)

    def abort(self) -> None:
        try:
            self.container.close()
        except Exception:
            pass
        try:
            os.unlink(self.temp)
        except OSError:
            pass


def join(av: Any, source: Path, info: VideoInfo, segments: list[Path], target: Path,
         span: tuple[int, int | None] | None) -> None:
    """Mux the segments' video packets and, copied from ``source``, every other stream's
    packets whose time lies in ``span`` (video timestamps: first included, last excluded;
    None: all of them, priming packets before the first frame too) into ``target`` (its container from its suffix), in time order. The rotation of the
    input is set on the output's video stream."""
    inputs = [av.open(str(path)) for path in segments]
    original = av.open(str(source))
    options = {}
    if target.suffix.lstrip(".").lower() in _MOV_FAMILY and info.time_base.denominator < 2**31:
        # the edit list that delays a range's start is in the movie's time scale, 1/1000 s
        # by default: in the video's own, the first frame starts exactly where it did
        options["movie_timescale"] = str(info.time_base.denominator)
    try:
        with av.open(str(target), "w", options=options) as out:
            video = out.add_stream_from_template(inputs[0].streams.video[0])
            if info.rotation:
                video.set_display_rotation(info.rotation)
            others = [s for s in original.streams if s.index != original.streams.video[0].index]
            copies = {}
            for stream in others:
                try:
                    copies[stream.index] = out.add_stream_from_template(stream)
                except Exception as exc:
                    raise ValueError(f"the output container cannot hold stream #{stream.index} "
                                     f"({stream.type} {stream.codec_context.name}): {exc}") from None
            start = None if span is None else float(span[0] * info.time_base)
            stop = None if span is None or span[1] is None else float(span[1] * info.time_base)
            for packet in heapq.merge(_segment_packets(inputs, video),
                                      _other_packets(original, others, copies, start, stop),
                                      key=_packet_time):
                out.mux(packet)
    finally:
        for container in inputs + [original]:
            container.close()


def _segment_packets(inputs: list[Any], stream: Any) -> Iterator[Any]:
    for container in inputs:
        for packet in container.demux(container.streams.video[0]):
            if packet.size:
                packet.stream = stream
                yield packet


def _other_packets(original: Any, others: list[Any], copies: dict[int, Any],
                   start: float | None, stop: float | None) -> Iterator[Any]:
    if not others:
        return
    for packet in original.demux(*others):
        if not packet.size or packet.dts is None and packet.pts is None:
            continue
        when = _packet_time(packet)
        if (start is not None and when < start - 1e-9) or (stop is not None and when >= stop):
            continue
        packet.stream = copies[packet.stream.index]
        yield packet


def _packet_time(packet: Any) -> Fraction:
    stamp = packet.dts if packet.dts is not None else packet.pts
    return Fraction(stamp or 0) * packet.time_base
