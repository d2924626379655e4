"""The demo's video rows: the shipped clip (``samples/video/``) converted as a video by one
translator with its bundled weights, and a strip of its frames before and after.

The output frames are decoded from the written video (what a player shows), at the input
frames' indices; the captions give each frame's index and timestamp. Without PyAV the rows
are skipped with the line that installs it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from imgtrans.cli import ui

VIDEO_TRANSLATOR = "cyclegan"
"""Its bundled ``day2night_synth`` was trained on the facades the clip pans along; small and
fast (a ResNet of 16 channels: the 32 frames take well under a second on a CPU)."""
STRIP = 4
"""Frames shown per row (the sheet's columns)."""


def video_rows(root: Path, output: Path, device: str,
               names: list[str]) -> tuple[list[Any], dict[str, Any] | None]:
    """(two sheet rows, the facts for demo.json) for the clips under ``root/video``; ([], None)
    when the video translator is not among ``names`` or no clip is shipped."""
    import imgtrans
    from imgtrans.api import (VIDEO_INSTALL_HINT, Panel, SheetRow, bundled_weights, video_frames,
                              video_info, videos_supported)

    clips = sorted(p for p in (root / "video").glob("*") if p.is_file() and not p.name.startswith("."))
    if VIDEO_TRANSLATOR not in names or not clips:
        return [], None
    if not videos_supported():
        ui.err.print(f"demo: video rows skipped (PyAV is not installed): {VIDEO_INSTALL_HINT}",
                     highlight=False, markup=False)
        return [], {"skipped": VIDEO_INSTALL_HINT}
    clip = clips[0]
    ui.err.print(f"demo: video {clip.name} with {VIDEO_TRANSLATOR}", highlight=False)
    weights = bundled_weights(VIDEO_TRANSLATOR)
    converted = output / "video" / clip.name
    report = imgtrans.convert(clip, converted, plugin=VIDEO_TRANSLATOR, weights=weights, device=device,
                              seed=0, overwrite=True)
    (item,) = report.items
    facts: dict[str, Any] = {"input": str(clip), "output": str(converted), "translator": VIDEO_TRANSLATOR,
                             "weights": weights, "status": item.status}
    if item.status != "done":
        facts["error"] = item.error
        return [SheetRow(f"video {clip.name}   {VIDEO_TRANSLATOR}   failed", str(item.error),
                         [Panel(None, "no result")])], facts
    info = video_info(clip)
    count = info["frames"]
    indices = sorted({round(k * (count - 1) / (STRIP - 1)) for k in range(STRIP)}) if count > 1 else [0]
    before, after = video_frames(clip, indices), video_frames(converted, indices)
    facts.update(frames=count, shown=[{"index": f["index"], "seconds": f["seconds"]} for f in before])
    rate = count / info["seconds"] if info["seconds"] else 0
    size = f"{info['width']}x{info['height']}"
    title = f"video   {VIDEO_TRANSLATOR}   weights: {weights}   clip: {clip.name}"
    detail = (f"{count} frames {size}, {rate:.0f} frames/s, {info['seconds']:.2f} s; "
              f"converted as a video (imgtrans convert {clip.name} out.mp4)")
    out_info = video_info(converted)
    out_info = video_info(converted)
    codec = (item.video or {}).get("video_codec", "")
    out_detail = (f"decoded from the written {converted.name}: {out_info['frames']} frames "
                  f"{out_info['width']}x{out_info['height']}, {out_info['seconds']:.2f} s, {codec}")
    rows = [SheetRow(f"{title}   input frames", detail,
                     [Panel(f["pixels"], f"input frame {f['index']}, {f['seconds']:.3f} s") for f in before]),
            SheetRow(f"{title}   output frames", out_detail,
                     [Panel(f["pixels"], f"output frame {f['index']}, {f['seconds']:.3f} s") for f in after])]
    return rows, facts
