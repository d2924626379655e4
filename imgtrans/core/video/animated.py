"""Animated GIF, WebP and PNG (APNG) through Pillow: frames with their durations in, an
animation (or a folder of frames) out, durations and loop count kept. No PyAV needed.

Frame timestamps are milliseconds (time base 1/1000), the sum of the durations before each
frame. Animations are short, so the result is assembled in memory and written at once,
atomically.
"""

from __future__ import annotations

import io
import json
from fractions import Fraction
from typing import TYPE_CHECKING, Any, Iterator

import numpy as np
from PIL import Image, ImageSequence

from imgtrans.core.video import FRAME_NAME, FRAMES_MANIFEST
from imgtrans.core.video.source import Frame
from imgtrans.core.writers import fit_pixels, write_atomic, write_pixels
from imgtrans.errors import InputError

if TYPE_CHECKING:
    from imgtrans.core.discover import WorkItem

_PIL_FORMATS = {"gif": "GIF", "webp": "WEBP", "png": "PNG", "apng": "PNG"}


def read_animation(item: WorkItem, max_pixels: int) -> tuple[list[Frame], dict[str, Any]]:
    """Every frame as RGB(A) uint8 with its timestamp and duration (ms), and the loop count."""
    try:
        with Image.open(item.source) as im:
            if im.width * im.height > max_pixels:
                raise InputError(item.source, f"frames of {im.width}×{im.height} pixels are more "
                                              f"than the limit of {max_pixels} (--max-pixels)")
            loop = im.info.get("loop", 0)
            frames, pts = [], 0
            for index, page in enumerate(ImageSequence.Iterator(im)):
                duration = int(page.info.get("duration", 100) or 100)
                alpha = page.mode in ("RGBA", "LA", "PA") or "transparency" in page.info
                pixels = np.asarray(page.convert("RGBA" if alpha else "RGB"))
                frames.append(Frame(index, pts, duration, pixels))
                pts += duration
    except InputError:
        raise
    except Exception as exc:
        raise InputError(item.source, f"cannot read the animation: {exc}") from None
    if not frames:
        raise InputError(item.source, "no frames")
    return frames, {"loop": loop}


def convert_animation(item: WorkItem, frames: Any) -> dict[str, Any]:
    """Translate every frame of an animated image into an animation or a folder of frames."""
    decoded, info = read_animation(item, frames.settings.max_pixels)
    span = item.video.options.frames or (0, None)
    decoded = decoded[span[0]:span[1]]
    if not decoded:
        raise InputError(item.source, f"--frames selects none of its {len(decoded)} frames")
    frames.total = len(decoded)
    results = list(_translated(decoded, frames))
    facts = {"frames": len(results), "time_base": "1/1000", "loop": info["loop"]}
    if item.video.kind == "frames":
        _write_frames(item, results, frames.settings.quality)
        return facts
    ext = item.output.suffix.lstrip(".").lower()
    images = [Image.fromarray(np.ascontiguousarray(p)) for _, p in results]  # 8-bit in, 8-bit out
    buffer = io.BytesIO()
    options: dict[str, Any] = {"save_all": True, "append_images": images[1:],
                               "duration": [f.duration for f, _ in results], "loop": info["loop"]}
    if ext == "webp":
        options["lossless"] = True
    images[0].save(buffer, format=_PIL_FORMATS.get(ext, "PNG"), **options)
    item.output.parent.mkdir(parents=True, exist_ok=True)
    write_atomic(item.output, buffer.getvalue())
    return facts


def _translated(decoded: list[Frame], frames: Any) -> Iterator[tuple[Frame, np.ndarray]]:
    groups: dict[tuple, list[Frame]] = {}
    for frame in decoded:  # translate_batch takes frames of one size and layout at a time
        groups.setdefault(frame.pixels.shape, []).append(frame)
    done = {}
    for group in groups.values():
        for frame, pixels in frames.translate(iter(group), 8):
            done[frame.index] = (frame, pixels)
    for frame in decoded:
        yield done[frame.index]


def _write_frames(item: WorkItem, results: list[tuple[Frame, np.ndarray]], quality: int) -> None:
    ext = item.video.frame_format
    for frame, pixels in results:
        write_pixels(item.output / FRAME_NAME.format(index=frame.index, ext=ext),
                     fit_pixels(pixels, ext), quality=quality)
    listed = [{"index": f.index, "pts": f.pts, "duration": f.duration,
               "seconds": float(f.pts * Fraction(1, 1000))} for f, _ in results]
    write_atomic(item.output / FRAMES_MANIFEST,
                 json.dumps({"source": str(item.source), "time_base": "1/1000",
                             "frames": listed}, indent=1).encode("utf-8"))
