"""Segments: runs of frames that start at a keyframe, the unit of resume and of parallelism.

A video's frames (within ``--frames``) are cut at keyframes into segments of at least
:data:`SEGMENT_FRAMES` frames. Each segment is decoded after its own seek, translated and
encoded into its own file in the video's work folder (a hidden folder beside the output),
so a segment's file is the same whether it was made in one run, after a resume, or by a
Ray actor. ``plan.json`` there records what the segments were made from (the input's size
and time, the translator, the encoding choices); a work folder made from anything else is
cleared before use.
"""

from __future__ import annotations

import bisect
import json
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from imgtrans.core.video.source import VideoInfo
from imgtrans.core.writers import write_atomic

SEGMENT_FRAMES = 120
"""Fewest frames per segment (a segment still ends only at a keyframe): short enough that
a resume loses little, long enough that the per-segment seek and encoder start cost little."""


@dataclass(frozen=True)
class Segment:
    """Frames with ``first <= pts < stop`` (``stop`` None: to the span's end)."""

    index: int
    first: int
    stop: int | None
    frames: int

    @property
    def file_name(self) -> str:
        return f"segment_{self.index:05d}.nut"


def frame_span(info: VideoInfo, frames: tuple[int, int | None] | None) -> tuple[int, int | None]:
    """``--frames A:B`` (indices) as timestamps ``(first, stop)``; the whole video for None."""
    if frames is None:
        return info.pts[0], None
    start, stop = frames
    if start >= info.frame_count:
        raise ValueError(f"--frames starts at {start}, but the video has {info.frame_count} frames")
    last = None if stop is None or stop >= info.frame_count else info.pts[stop]
    return info.pts[start], last


def plan_segments(info: VideoInfo, span: tuple[int, int | None],
                  min_frames: int | None = None) -> list[Segment]:
    """Cut the frames of ``span`` at keyframes into segments of at least ``min_frames``."""
    min_frames = SEGMENT_FRAMES if min_frames is None else min_frames
    first, stop = span
    lo = bisect.bisect_left(info.pts, first)
    hi = len(info.pts) if stop is None else bisect.bisect_left(info.pts, stop)
    starts = [first]
    for key in info.keyframes:
        if key <= starts[-1] or (stop is not None and key >= stop):
            continue
        at = bisect.bisect_left(info.pts, key)
        if at - bisect.bisect_left(info.pts, starts[-1]) >= min_frames and hi - at >= min_frames // 2:
            starts.append(key)
    segments = []
    for i, begin in enumerate(starts):
        end = starts[i + 1] if i + 1 < len(starts) else stop
        a = bisect.bisect_left(info.pts, begin)
        b = hi if end is None or i + 1 == len(starts) else bisect.bisect_left(info.pts, end)
        segments.append(Segment(i, begin, end, b - a))
    assert sum(s.frames for s in segments) == hi - lo
    return segments


def prepare_work_folder(folder: Path, description: dict[str, Any]) -> set[str]:
    """Make ``folder`` hold only segments made from ``description`` (which must be JSON);
    returns the names of the segments already finished there."""
    plan = folder / "plan.json"
    text = json.dumps(description, sort_keys=True, default=str)
    try:
        same = plan.read_text("utf-8") == text
    except OSError:
        same = False
    if not same:
        shutil.rmtree(folder, ignore_errors=True)
        folder.mkdir(parents=True, exist_ok=True)
        write_atomic(plan, text.encode("utf-8"))
        return set()
    return {p.name for p in folder.glob("segment_*.nut")}


def remove_work_folder(folder: Path) -> None:
    shutil.rmtree(folder, ignore_errors=True)
