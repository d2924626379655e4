"""What a caller (the web app) needs to know of a video before converting it: whether it is
one, its size and frame count, and a poster frame. ``imgtrans.convert`` converts videos
itself (frames through the image stages, other streams copied); these only look."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Sequence

import numpy as np

from imgtrans.core.video import INSTALL_HINT as VIDEO_INSTALL_HINT
from imgtrans.core.video import VIDEO_EXTENSIONS

__all__ = ["VIDEO_EXTENSIONS", "VIDEO_INSTALL_HINT", "videos_supported", "is_video", "video_info",
           "video_poster", "video_frames"]


def videos_supported() -> bool:
    """Whether videos can be read here (PyAV installed: ``pip install 'imgtrans[video]'``)."""
    from imgtrans.core.video import av_available

    return av_available()


def is_video(path: str | Path) -> bool:
    """Whether the file is a video container, from its first bytes (not its name)."""
    from imgtrans.core.video import sniff_kind

    return sniff_kind(Path(path)) == "video"


def video_info(path: str | Path, max_pixels: int = 178_956_970) -> dict[str, Any]:
    """``{"width", "height", "rotation", "frames", "seconds", "codec", "other_streams"}`` of
    a video, from its packets (nothing decoded): the size is the coded frames' (what a
    translator sees), ``rotation`` (degrees) what players apply and outputs keep as it is;
    ``InputError`` with one reason for a file that is not
    a usable video or whose frames exceed ``max_pixels``."""
    from imgtrans.core.video.source import probe_video

    info = probe_video(Path(path), max_pixels)
    end = info.pts[-1] + info.duration_of(info.pts[-1])
    return {"width": info.width, "height": info.height, "rotation": info.rotation,
            "frames": info.frame_count,
            "seconds": float((end - info.pts[0]) * info.time_base), "codec": info.codec,
            "other_streams": list(info.other_streams)}


def video_poster(path: str | Path, max_pixels: int = 178_956_970) -> np.ndarray:
    """The first frame, ``(H, W, 3)`` uint8 RGB (a 16-bit video's reduced to 8 bits)."""
    return video_frames(path, [0], max_pixels)[0]["pixels"]


def video_frames(path: str | Path, indices: Sequence[int],
                 max_pixels: int = 178_956_970) -> list[dict[str, Any]]:
    """The frames at ``indices`` (positions in presentation order; out-of-range ones are
    left out), each ``{"index", "seconds", "pixels"}``: ``seconds`` its timestamp from the
    first frame's, ``pixels`` ``(H, W, 3)`` uint8 RGB (16-bit videos reduced to 8 bits).
    Decoding stops after the last one wanted."""
    from imgtrans.core.video.source import decode_frames, probe_video

    info = probe_video(Path(path), max_pixels)
    wanted = {i for i in indices if 0 <= i < info.frame_count}
    found: list[dict[str, Any]] = []
    if not wanted:
        return found
    frames = decode_frames(Path(path), info, info.pts[min(wanted)], None)
    try:
        for frame in frames:
            if frame.index in wanted:
                pixels = frame.pixels
                if pixels.dtype != np.uint8:
                    pixels = (pixels.astype(np.uint32) * 255 // 65535).astype(np.uint8)
                found.append({"index": frame.index, "pixels": np.ascontiguousarray(pixels),
                              "seconds": float((frame.pts - info.pts[0]) * info.time_base)})
                if len(found) == len(wanted):
                    break
    finally:
        frames.close()  # closes the container now
    return found
