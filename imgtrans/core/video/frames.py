"""A video's result as a folder of numbered images (``frame_000123.png``, the number being the
frame's index in the input) and ``frames.json``, each frame's timestamp, written last.

Each image is written atomically; a re-run translates only the frames whose image is
missing, so an interrupted run resumes frame by frame.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from imgtrans.core.video import FRAME_NAME, FRAMES_MANIFEST
from imgtrans.core.video.job import QUEUE_FRAMES, Background
from imgtrans.core.video.source import VideoInfo, decode_frames
from imgtrans.core.writers import fit_pixels, write_atomic, write_pixels

if TYPE_CHECKING:
    from imgtrans.core.discover import WorkItem


def write_frames(item: WorkItem, info: VideoInfo, span: tuple[int, int | None], frames: Any) -> None:
    """Translate the frames of ``span`` into ``item.output`` (a folder)."""
    folder = item.output
    ext = item.video.frame_format
    quality = frames.settings.quality
    done = {p.name for p in folder.glob(f"frame_*.{ext}")} if folder.is_dir() else set()
    listed = []

    def wanted(decoded: Any) -> Any:
        for frame in decoded:
            listed.append({"index": frame.index, "pts": frame.pts, "duration": frame.duration,
                           "seconds": float(frame.pts * info.time_base)})
            if FRAME_NAME.format(index=frame.index, ext=ext) in done:
                frames.done += 1
                continue
            yield frame

    def save(job: tuple[int, Any]) -> None:
        index, pixels = job
        write_pixels(folder / FRAME_NAME.format(index=index, ext=ext), fit_pixels(pixels, ext),
                     quality=quality, reuse_pixels=True)

    folder.mkdir(parents=True, exist_ok=True)
    decoded = decode_frames(item.source, info, span[0], span[1])
    with Background(save, QUEUE_FRAMES) as writing:
        for frame, pixels in frames.translate(wanted(decoded), info.bit_depth):
            writing.put((frame.index, pixels))
    manifest = {"source": str(item.source), "time_base": str(info.time_base),
                "rotation": info.rotation, "frames": listed}
    write_atomic(folder / FRAMES_MANIFEST, json.dumps(manifest, indent=1).encode("utf-8"))
