"""A self-contained HTML report of an evaluation: the figures, a histogram of a per-file
metric (inline SVG), a few output/target pairs from worst to best (embedded PNG thumbnails)
and the per-file table. One file, no scripts, nothing fetched: it can be mailed or archived."""

from __future__ import annotations

import base64
import html
import math
from pathlib import Path
from typing import Any

import numpy as np

from imgtrans.eval.report import EvalReport, FileScore
from imgtrans.eval.types import EvalSettings

THUMBNAIL = 256  # longest side of an embedded image, pixels
_STYLE = """body{font:14px/1.4 system-ui,sans-serif;margin:2em;color:#222}
table{border-collapse:collapse;margin:1em 0}td,th{border:1px solid #ccc;padding:3px 8px;text-align:right}
td:first-child,th:first-child{text-align:left}figure{display:inline-block;margin:0 1em 1em 0}
figure img{image-rendering:pixelated;border:1px solid #ccc;min-width:160px;height:auto}.pair{margin-bottom:1em}
.muted{color:#777}"""
_LOWER_IS_BETTER = {"l1", "lpips"}


def _fmt(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        if math.isinf(value):
            return "inf"
        return f"{value:.2f}" if abs(value) >= 10 else f"{value:.4f}"
    return html.escape(str(value))


def _table(rows: list[tuple[str, Any]]) -> str:
    body = "".join(f"<tr><td>{html.escape(k)}</td><td>{_fmt(v)}</td></tr>" for k, v in rows)
    return f"<table>{body}</table>"


def histogram_svg(values: list[float], label: str, bins: int = 20, width: int = 480,
                  height: int = 160) -> str:
    """An inline SVG histogram of finite ``values`` (infinite ones are counted in the title)."""
    finite = [v for v in values if math.isfinite(v)]
    if not finite:
        return ""
    low, high = min(finite), max(finite)
    span = (high - low) or 1.0
    counts = [0] * bins
    for v in finite:
        counts[min(int((v - low) / span * bins), bins - 1)] += 1
    top, bar = max(counts), width / bins
    rects = "".join(
        f'<rect x="{i * bar:.1f}" y="{height - 20 - c / top * (height - 30):.1f}" '
        f'width="{bar - 1:.1f}" height="{c / top * (height - 30):.1f}" fill="#4a7ab5">'
        f"<title>{c} file(s) in [{low + i * span / bins:.3f}, {low + (i + 1) * span / bins:.3f})</title></rect>"
        for i, c in enumerate(counts) if c)
    extra = len(values) - len(finite)
    caption = f"{html.escape(label)} per file, {len(finite)} file(s)" + (
        f", {extra} infinite (identical images) not shown" if extra else "")
    return (f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
            f'role="img" aria-label="{caption}"><title>{caption}</title>{rects}'
            f'<line x1="0" y1="{height - 20}" x2="{width}" y2="{height - 20}" stroke="#444"/>'
            f'<text x="0" y="{height - 4}" font-size="11">{low:.3f}</text>'
            f'<text x="{width}" y="{height - 4}" font-size="11" text-anchor="end">{high:.3f}</text>'
            f"</svg><p class=muted>{caption}</p>")


def _thumbnail(image: "Any") -> str:
    """(1, 3, H, W) float in [0, 1] -> a PNG data URI no larger than THUMBNAIL."""
    import cv2

    array = (image[0].permute(1, 2, 0).clamp(0, 1).numpy() * 255).round().astype(np.uint8)
    h, w = array.shape[:2]
    if max(h, w) > THUMBNAIL:
        f = THUMBNAIL / max(h, w)
        array = cv2.resize(array, (max(1, round(w * f)), max(1, round(h * f))), interpolation=cv2.INTER_AREA)
    ok, data = cv2.imencode(".png", cv2.cvtColor(array, cv2.COLOR_RGB2BGR))
    return "data:image/png;base64," + base64.b64encode(data.tobytes()).decode("ascii") if ok else ""


def pick_examples(files: list[FileScore], metric: str | None, count: int) -> list[FileScore]:
    """Up to ``count`` scored files spread from worst to best by ``metric``."""
    candidates = [f for f in files if f.ok and f.target]
    if metric:
        candidates.sort(key=lambda f: f.values.get(metric) or 0.0,
                        reverse=metric in _LOWER_IS_BETTER)
    if len(candidates) <= count:
        return candidates
    step = (len(candidates) - 1) / max(count - 1, 1)
    return [candidates[round(i * step)] for i in range(count)]


def _examples(report: EvalReport, settings: EvalSettings, metric: str | None, count: int) -> str:
    from imgtrans.eval.pairs import read_rgb, read_target

    parts = []
    for item in pick_examples(report.files, metric, count):
        try:
            output, target = read_rgb(Path(item.output))[0], read_target(Path(item.target), settings)[0]
        except Exception:  # the report must not fail on a file that changed since scoring
            continue
        values = ", ".join(f"{k} {_fmt(v)}" for k, v in item.values.items())
        parts.append(f'<div class=pair><b>{html.escape(item.name)}</b> <span class=muted>{values}</span><br>'
                     f'<figure><img src="{_thumbnail(output)}" alt="output"><figcaption>output</figcaption></figure>'
                     f'<figure><img src="{_thumbnail(target)}" alt="target"><figcaption>target</figcaption></figure></div>')
    return "".join(parts)


def render_html(report: EvalReport, settings: EvalSettings, examples: int = 4) -> str:
    """The report as one HTML document."""
    mean = report.mean() or {}
    summary = [(f"mean {k}", v) for k, v in mean.items()]
    summary += list(report.sets.items()) + list(report.measures.items())
    summary.append(("files scored", len(report.scored)))
    if report.failed:
        summary.append(("files failed", len(report.failed)))
    metric = next((m for m in ("psnr", "ssim", "l1", "lpips") if m in report.paired), None)
    sections = [f"<h1>imgtrans eval</h1><p class=muted>{html.escape(str(report.settings.get('outputs')))}"
                f" against {html.escape(str(report.settings.get('targets')))}</p>",
                "<h2>Results</h2>", _table(summary)]
    if report.unavailable:
        sections += ["<h2>Not measured</h2>", _table(list(report.unavailable.items()))]
    if metric:
        sections += [f"<h2>{metric.upper()} per file</h2>",
                     histogram_svg([f.values[metric] for f in report.scored  # type: ignore[misc]
                                    if f.values.get(metric) is not None], metric.upper())]
        sections += [f"<h2>Examples, worst to best {metric.upper()}</h2>",
                     _examples(report, settings, metric, examples)]
    keys = list(dict.fromkeys(k for f in report.files for k in f.values))
    head = "".join(f"<th>{html.escape(k)}</th>" for k in ["file", *keys])
    rows = "".join(f"<tr><td>{html.escape(f.name)}</td>"
                   + "".join(f"<td>{_fmt(f.values.get(k))}</td>" for k in keys)
                   + (f"<td>{html.escape(f.error)}</td>" if f.error else "") + "</tr>"
                   for f in report.files)
    sections += ["<h2>Files</h2>", f"<table><tr>{head}</tr>{rows}</table>",
                 "<h2>Settings</h2>", _table(sorted(report.settings.items()))]
    return (f"<!doctype html><html><head><meta charset=utf-8><title>imgtrans eval</title>"
            f"<style>{_STYLE}</style></head><body>{''.join(sections)}</body></html>")


def write_html(report: EvalReport, settings: EvalSettings, path: Path, examples: int = 4) -> None:
    from imgtrans.core.writers import write_atomic

    write_atomic(Path(path), render_html(report, settings, examples).encode("utf-8"))
