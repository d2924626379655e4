"""Videos and animated images as work items: what they are, and where their results go.

A video is one work item whose frames stream through the image stages (see
:mod:`imgtrans.core.video.job`); a frame's pixels never depend on being part of a video.
This module is torch- and PyAV-free: planning recognises videos by their content
(:func:`sniff_kind`) before anything heavy is imported.

Three kinds of result (``VideoTarget.kind``):

* ``"video"``: a video file (the input's container, or another by the output's suffix or
  ``--format``), encoded with PyAV; other streams (audio, subtitles, data) are copied
  packet for packet and every frame keeps its timestamp.
* ``"animation"``: an animated GIF, WebP or PNG (APNG) written with Pillow, frame
  durations kept.
* ``"frames"``: a folder of numbered images (``frame_000123.png``: the frame's index in
  the input) and ``frames.json`` (each frame's timestamp), written last: its presence
  marks the folder complete.
"""

from __future__ import annotations

import os
import re
import stat
from dataclasses import dataclass
from pathlib import Path

from imgtrans.errors import UsageError

INSTALL_HINT = "pip install 'imgtrans[video]'"
VIDEO_EXTENSIONS = frozenset({
    "mp4", "m4v", "mkv", "mov", "webm", "avi", "mpg", "mpeg", "ts", "m2ts", "mts", "wmv",
    "flv", "ogv", "3gp", "mxf", "nut", "y4m"})
ANIMATED_EXTENSIONS = frozenset({"gif", "webp", "png", "apng"})
"""Image formats that may hold an animation: such a file is an animation when it has more
than one frame, an image otherwise."""
FRAMES_MANIFEST = "frames.json"
FRAME_NAME = "frame_{index:06d}.{ext}"


def parse_frames(text: str | None) -> tuple[int, int | None] | None:
    """``--frames A:B`` -> (A, B): frame indices, A included, B excluded; either may be left
    out (``100:`` to the end, ``:50`` the first 50). None for None."""
    if text is None or text == "":
        return None
    match = re.fullmatch(r"\s*(\d*)\s*:\s*(\d*)\s*", str(text))
    if not match:
        raise UsageError(f"--frames {text!r}: give A:B, frame indices (A included, B not), "
                         "e.g. 100:200, 100: or :50")
    start = int(match.group(1) or 0)
    stop = int(match.group(2)) if match.group(2) else None
    if stop is not None and stop <= start:
        raise UsageError(f"--frames {text!r}: the end must come after the start")
    return start, stop


@dataclass(frozen=True)
class VideoOptions:
    """Encoding and selection choices for videos; none changes a frame's pixels before
    encoding."""

    codec: str | None = None
    """An FFmpeg encoder name (libx264, libx265, libvpx-vp9, libsvtav1, ffv1...); None: the
    container's default (:data:`imgtrans.core.video.encode.DEFAULT_CODECS`)."""
    crf: int | None = None
    """Constant rate factor for encoders that have one; None: the codec's default here."""
    pix_fmt: str | None = None
    """None: the input's pixel format when the encoder takes it."""
    frames: tuple[int, int | None] | None = None
    """Only frames A (included) to B (excluded), by index in presentation order."""
    same_noise: bool = False
    """Stochastic translators: every frame draws the same noise (the video's own seed)
    instead of one per frame index: less flicker, but a frame's result then depends on
    which video it belongs to."""


@dataclass(frozen=True)
class VideoTarget:
    """How a video work item is converted: ``kind`` of result (see the module docstring),
    ``source`` ("video" decoded by PyAV, or "animation" decoded by Pillow), and options."""

    kind: str
    source: str
    options: VideoOptions = VideoOptions()
    frame_format: str = "png"
    """Extension of the images of a ``"frames"`` result."""
    in_place: bool = False
    """A ``"frames"`` result written into OUTPUT itself (a single video to a folder), not
    into a folder named after the video inside it."""


def sniff_kind(path: Path) -> str | None:
    """"video", "animation" or None (an image, or not ours) from the file's first bytes
    (and, for GIF/WebP/PNG, its frame count). A file that cannot be read is None here; it
    fails, with its reason, when read."""
    try:
        if not stat.S_ISREG(os.stat(path).st_mode):
            return None  # a FIFO or device would block the open or the read
        with open(path, "rb") as handle:
            head = handle.read(4096)
    except (OSError, ValueError):
        return None
    if head[:4] in (b"GIF8",) or head[:8] == b"\x89PNG\r\n\x1a\n" or (
            head[:4] == b"RIFF" and head[8:12] == b"WEBP"):
        return "animation" if _is_animated(path, head) else None
    if _looks_like_video(head):
        return "video"
    return None


_IMAGE_BRANDS = (b"heic", b"heix", b"hevc", b"heim", b"heis", b"mif1", b"msf1", b"avif",
                 b"avis", b"jpx ", b"jp2 ")


def _looks_like_video(head: bytes) -> bool:
    if head[4:8] == b"ftyp":  # ISO BMFF: mp4, mov, 3gp... but not HEIF/AVIF/JPEG 2000 stills
        return head[8:12] not in _IMAGE_BRANDS
    if head[4:8] in (b"moov", b"mdat", b"wide", b"free"):  # QuickTime without ftyp
        return True
    return (head[:4] == b"\x1a\x45\xdf\xa3"  # Matroska / WebM
            or (head[:4] == b"RIFF" and head[8:12] in (b"AVI ", b"AVIX"))
            or head[:3] == b"FLV" or head[:4] == b"OggS" or head[:9] == b"YUV4MPEG2"
            or head[:4] in (b"\x00\x00\x01\xba", b"\x00\x00\x01\xb3")  # MPEG program stream
            or head.startswith(b"nut/multimedia container")
            or head[:4] == b"\x30\x26\xb2\x75"  # ASF / WMV
            or (len(head) > 376 and head[0] == 0x47 and head[188] == 0x47 and head[376] == 0x47))


def _is_animated(path: Path, head: bytes) -> bool:
    """More than one frame: PNG with an acTL chunk, WebP with the animation flag, GIF with
    several images (counted by Pillow)."""
    if head[:8] == b"\x89PNG\r\n\x1a\n":
        return b"acTL" in head.split(b"IDAT", 1)[0]
    if head[:4] == b"RIFF":
        return head[12:16] == b"VP8X" and len(head) > 20 and bool(head[20] & 0x02)
    try:
        from PIL import Image

        with Image.open(path) as im:
            return int(getattr(im, "n_frames", 1)) > 1
    except Exception:
        return False


def is_video_name(name: str) -> bool:
    return name.rpartition(".")[2].lower() in VIDEO_EXTENSIONS if "." in name else False


def work_folder(output: Path) -> Path:
    """The hidden folder beside ``output`` where a video's finished segments wait to be
    joined (the unit of resume); removed once the output is in place."""
    return output.with_name(f".imgtrans-work-{output.name}")


def av_available() -> bool:
    import importlib.util

    try:
        return importlib.util.find_spec("av") is not None
    except (ImportError, ValueError):
        return False


def frame_name(video_name: str, index: int, options: VideoOptions) -> str:
    """The name a frame is translated under: it seeds a stochastic translator's noise, from
    the run's seed, the video's name and the frame index (or the video's name alone with
    ``same_noise``)."""
    return video_name if options.same_noise else f"{video_name}#frame{index}"


def file_identity(path: Path) -> dict:
    """What must not change between a run and its resume: the input's size and time."""
    st = os.stat(path)
    return {"size": st.st_size, "mtime_ns": st.st_mtime_ns}


ANIMATION_OUTPUTS = frozenset({"gif", "webp", "png", "apng"})


def plan_target(kind: str, in_ext: str, out_ext: str | None, to_folder: bool,
                image_formats: frozenset[str], options: VideoOptions) -> tuple[VideoTarget, str | None]:
    """What a video or animation (``kind``) becomes, and the output's extension (None: a
    folder of frames). ``out_ext``: the extension asked for (``--format`` or the output
    file's suffix); ``to_folder``: a single input whose output is a folder (its frames go
    there). Raises ``UsageError`` for a video into one still image."""
    out_ext = out_ext.lower().lstrip(".") if out_ext else None
    if to_folder and out_ext is None:
        return VideoTarget("frames", kind, options, in_place=True), None
    if out_ext is None:
        out_ext = in_ext.lower() if in_ext.lower() in VIDEO_EXTENSIONS | ANIMATION_OUTPUTS else "mp4"
    if out_ext in VIDEO_EXTENSIONS:  # FFmpeg decodes GIF and APNG too
        return VideoTarget("video", "video", options), out_ext
    if out_ext in ANIMATION_OUTPUTS:
        return VideoTarget("animation", kind, options), out_ext
    if out_ext in image_formats:
        return VideoTarget("frames", kind, options, frame_format=out_ext), None
    raise UsageError(f"a video cannot be written as {out_ext!r}")


def input_kind(path: Path, rel: str, single: bool) -> str | None:
    """"video" or "animation" by content, None for an image. A file named as a video whose
    content is not one still counts as a video (it fails when opened, with its reason), as
    does a single input file of a name that is not an image's."""
    from imgtrans.core.readers import IMAGE_EXTENSIONS

    ext = rel.rpartition(".")[2].lower() if "." in rel else ""
    if ext in IMAGE_EXTENSIONS and ext not in ANIMATED_EXTENSIONS:
        return None
    kind = sniff_kind(path)
    if kind is None and (ext in VIDEO_EXTENSIONS or (single and ext not in IMAGE_EXTENSIONS)):
        return "video"
    return kind
