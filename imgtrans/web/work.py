"""What the web app's worker runs: calls of the Python API (``imgtrans.convert``,
``imgtrans.load``), nothing else, so the web app does exactly what the CLI does."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from imgtrans.errors import UsageError
from imgtrans.web.jobs import Job, Upload


def run_convert(job: Job, settings: Any, sources: dict[str, tuple[str, Upload | None, int]],
                urls: str) -> None:
    """``imgtrans.convert`` of the job's ``in/`` folder into ``out/``, reporting each result
    as it lands. ``sources`` maps input file names to (name the user knows, upload, order);
    ``urls`` is the session's URL prefix."""
    import imgtrans

    job.update(stage="loading model", total=len(sources))

    def on_plan(plan: Any) -> None:
        job.update(total=len(plan.todo))

    def on_start(info: Any) -> None:  # the model is loaded
        job.update(stage="converting")

    def on_frames(path: str, done: int, total: int) -> None:
        """Progress inside a video: "frames 12/40 of clip.mp4"."""
        name = sources[Path(path).name][0] if Path(path).name in sources else Path(path).name
        job.update(stage=f"converting {name}", extra={**job.extra, "frames": [done, total]})

    def on_result(item: Any) -> None:
        name, upload, order = sources[Path(item.input).name]
        if item.status == "failed":
            job.add_error(f"{name}: {item.error}")
        elif item.status == "done":
            outputs = [_result_file(job, urls, Path(p)) for p in item.outputs or [item.output]]
            job.add_result({"name": name, "order": order, "source": Path(item.input).name,
                            "outputs": outputs, "bicubic": None,
                            "video": bool(upload and upload.frames),
                            "input": f"{urls}/uploads/{upload.id}" if upload else None,
                            "input_size": [upload.width, upload.height] if upload else None})
        job.update(done=job.done + 1)

    report = imgtrans.convert(job.folder / "in", job.folder / "out", settings, on_plan=on_plan,
                              on_start=on_start, on_result=on_result, on_frames=on_frames,
                              stop=job.stop)
    with job.lock:
        job.results.sort(key=lambda r: r["order"])
        job.extra["seed"] = report.settings.get("seed")
    if not job.stop.is_set():
        _add_bicubic(job, settings, urls)


def _add_bicubic(job: Job, settings: Any, urls: str) -> None:
    """Super-resolution is judged against a bicubic enlargement by the same factor; the
    ``resize`` translator makes it, through the same API."""
    import imgtrans
    from imgtrans.api import ConvertSettings

    if settings.plugin == "resize" or "resize" not in {t["name"] for t in imgtrans.list_translators()}:
        return
    for index, result in enumerate(list(job.results)):
        if not result["input_size"] or result.get("video"):
            continue
        (w, h), out = result["input_size"], result["outputs"][0]
        factor = out["width"] // w
        if not 2 <= factor <= 16 or (out["width"], out["height"]) != (factor * w, factor * h):
            continue
        job.update(stage="bicubic baseline")
        target = job.folder / "bicubic" / f"{Path(result['source']).stem}.png"
        imgtrans.convert(job.folder / "in" / result["source"], target, ConvertSettings(
            plugin="resize", options={"scale": str(factor), "interpolation": "bicubic"},
            device=settings.device, overwrite=True, max_pixels=settings.max_pixels,
            workers=1), stop=job.stop)
        if target.is_file():
            url = _result_file(job, urls, target)["url"]
            with job.lock:
                job.results[index] = dict(result, bicubic=url)


def run_labels(job: Job, name: str, weights: str | None, device: str,
               cache: dict[tuple[str, str | None], list[str]], allow_downloads: bool = False) -> None:
    """The label names of a layout model (``imgtrans.load`` once per weights)."""
    import imgtrans

    key = (name, weights)
    if key not in cache:
        job.update(stage="loading model")
        loaded = imgtrans.load(name, weights, device=device, should_stop=job.stop.is_set,
                               allow_downloads=allow_downloads)
        labels = loaded.translator.labels()
        if labels is None:
            raise UsageError(f"translator {name!r} has no list of labels")
        cache[key] = list(labels)
    job.update(done=1, total=1, extra={"labels": cache[key]})


def _result_file(job: Job, urls: str, path: Path) -> dict[str, Any]:
    from PIL import Image

    from imgtrans.api import is_video, video_info

    video = is_video(path)
    if video:
        info = video_info(path)
        width, height = info["width"], info["height"]
    else:
        with Image.open(path) as image:  # reads the header only
            width, height = image.size
    index = job.add_file(path)
    return {"url": f"{urls}/jobs/{job.id}/files/{index}", "name": path.name,
            "width": width, "height": height, "video": video}
