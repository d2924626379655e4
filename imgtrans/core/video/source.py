"""Decode videos with PyAV: probe (one pass over the video packets, no decoding) and frames
as RGB numpy arrays with their timestamps.

Conventions: pixels are H×W×3 RGB, uint8 for sources of 8 bits per sample and uint16 for
deeper ones (10-bit, 12-bit: the 16-bit path), never rotated (the display matrix is carried
to the output instead). Timestamps are integers in the video stream's ``time_base``;
frames come in presentation order. The RGB conversion uses the stream's own matrix and
range (BT.601 when it does not say).
"""

from __future__ import annotations

import bisect
import logging
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import Any, Iterator

import numpy as np

from imgtrans.core.video import INSTALL_HINT
from imgtrans.errors import InputError

log = logging.getLogger(__name__)


def import_av() -> Any:
    """PyAV, or an :class:`InputError` saying how to install it (the item fails alone)."""
    try:
        import av
    except ImportError:
        raise InputError("", f"videos need PyAV, which is not installed: {INSTALL_HINT}") from None
    av.logging.set_level(None)  # FFmpeg's own console lines: errors reach us as exceptions
    return av


@dataclass
class VideoInfo:
    """What planning a video's conversion needs, from one pass over its video packets."""

    width: int
    height: int
    time_base: Fraction
    pts: list[int]
    """Every frame's timestamp, in presentation order (one per packet)."""
    durations: dict[int, int]
    keyframes: list[int]
    """Timestamps of the keyframes, ascending: where decoding may start after a seek."""
    pix_fmt: str
    bit_depth: int
    colour: dict[str, int] = field(default_factory=dict)
    rotation: int = 0
    codec: str = ""
    other_streams: list[str] = field(default_factory=list)
    container_duration: int | None = None

    @property
    def frame_count(self) -> int:
        return len(self.pts)

    def duration_of(self, pts: int) -> int:
        """A frame's duration: its packet's, else the gap to the next frame, else 0."""
        known = self.durations.get(pts) or 0
        if known > 0:
            return known
        i = bisect.bisect_right(self.pts, pts)
        return self.pts[i] - pts if i < len(self.pts) else 0


def probe_video(path: Path, max_pixels: int) -> VideoInfo:
    """Read the video stream's packets (not decoding them) and the first frame's rotation;
    an :class:`InputError` with one clear reason for anything that is not a usable video."""
    av = import_av()
    try:
        container = av.open(str(path), metadata_errors="ignore")
    except EOFError:  # a container header and nothing after it
        raise InputError(path, "no video frames (the file ends after its header)") from None
    except Exception as exc:
        raise InputError(path, f"not a video FFmpeg can open ({_why(exc)})") from None
    with container:
        if not container.streams.video:
            kinds = ", ".join(sorted({s.type for s in container.streams}))
            raise InputError(path, f"no video stream ({kinds})" if kinds else
                             "no video frames (no streams at all)")
        stream = container.streams.video[0]
        ctx = stream.codec_context
        if not ctx.codec or ctx.width <= 0 or ctx.height <= 0:
            raise InputError(path, f"cannot decode its video codec ({stream.codec_context.name})")
        if ctx.width * ctx.height > max_pixels:
            raise InputError(path, f"frames of {ctx.width}×{ctx.height} pixels are more than "
                                   f"the limit of {max_pixels} (--max-pixels)")
        pts, durations, keyframes = [], {}, []
        try:
            for packet in container.demux(stream):
                stamp = packet.pts if packet.pts is not None else packet.dts
                if stamp is None or packet.size == 0:
                    continue
                pts.append(stamp)
                durations[stamp] = packet.duration or 0
                if packet.is_keyframe:
                    keyframes.append(stamp)
        except Exception as exc:
            if not pts:
                raise InputError(path, f"cannot read its packets ({_why(exc)})") from None
            log.warning("%s: packets end early (%s); converting the %d frames before",
                        path, _why(exc), len(pts))
        if not pts:
            raise InputError(path, "no video frames")
        pts.sort()
        keyframes = sorted(set(keyframes)) or [pts[0]]
        fmt = ctx.format
        bits = max((c.bits for c in fmt.components), default=8) if fmt else 8
        info = VideoInfo(ctx.width, ctx.height, stream.time_base, pts, durations, keyframes,
                         ctx.pix_fmt or "yuv420p", 16 if bits > 8 else 8,
                         codec=ctx.name,
                         other_streams=[f"#{s.index} {s.type} {s.codec_context.name}"
                                        for s in container.streams if s is not stream],
                         container_duration=stream.duration)
        info.colour = {"color_primaries": ctx.color_primaries, "color_trc": ctx.color_trc,
                       "colorspace": ctx.colorspace, "color_range": ctx.color_range}
    info.rotation = _first_frame_rotation(av, path)
    return info


def _first_frame_rotation(av: Any, path: Path) -> int:
    try:
        with av.open(str(path)) as container:
            for frame in container.decode(video=0):
                return int(frame.rotation or 0)
    except Exception:  # it fails again, with its reason, when the frames are decoded
        return 0
    return 0


@dataclass
class Frame:
    """One decoded frame: its index in presentation order, timestamp, duration (both in the
    stream's time base) and RGB pixels."""

    index: int
    pts: int
    duration: int
    pixels: np.ndarray


def decode_frames(path: Path, info: VideoInfo, first: int, last: int | None) -> Iterator[Frame]:
    """Frames with ``first <= pts < last`` (None: to the end), in presentation order. Seeks
    to the keyframe at or before ``first``; frames before it are decoded and dropped."""
    av = import_av()
    index_of = {p: i for i, p in enumerate(info.pts)}
    rgb = "rgb48le" if info.bit_depth == 16 else "rgb24"
    try:
        container = av.open(str(path))
    except Exception as exc:
        raise InputError(path, f"not a video FFmpeg can open ({_why(exc)})") from None
    with container:
        stream = container.streams.video[0]
        stream.thread_type = "AUTO"
        if first > info.pts[0]:
            container.seek(first, stream=stream, backward=True, any_frame=False)
        index = None
        try:
            for frame in container.decode(stream):
                stamp = frame.pts
                if stamp is None or stamp < first:
                    continue
                if last is not None and stamp >= last:
                    return
                index = index_of.get(stamp)
                if index is None:
                    raise InputError(path, f"a frame at timestamp {stamp} that its packets "
                                           "did not announce")
                yield Frame(index, stamp, info.duration_of(stamp), to_rgb(frame, rgb, info))
        except InputError:
            raise
        except Exception as exc:
            where = (f"the frame after frame {index} (timestamp {info.pts[index]})"
                     if index is not None else f"the frame at timestamp {first}")
            raise InputError(path, f"cannot decode {where}: {_why(exc)}") from None


def to_rgb(frame: Any, rgb: str, info: VideoInfo) -> np.ndarray:
    """A decoded frame as H×W×3 RGB (``rgb`` is "rgb24" or "rgb48le"), converted with the
    stream's matrix and range."""
    space = info.colour.get("colorspace") or frame.colorspace
    converted = frame.reformat(format=rgb, src_colorspace=_sws_space(space),
                               src_color_range=frame.color_range or info.colour.get("color_range") or None,
                               dst_color_range=2)
    return converted.to_ndarray()


_SWS_SPACES = {1: 1, 4: 4, 5: 5, 6: 6, 7: 7, 9: 9, 10: 9}
"""AVColorSpace -> swscale's colorspace (BT.709, FCC, BT.601 x2, SMPTE 240M, BT.2020)."""


def _sws_space(space: int | None) -> int | None:
    return _SWS_SPACES.get(int(space or 0))


def _why(exc: BaseException) -> str:
    text = str(exc).strip() or type(exc).__name__
    return text.replace("\n", " ")
