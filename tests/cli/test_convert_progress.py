"""Progress tells the truth (issue 24): after a stop the bar shows what was done, not the
total; its rate is the summary's images/s; a tiled image shows its tiles."""

from __future__ import annotations

import io
import re
import threading
import time
from pathlib import Path

import cv2
import numpy as np
import pytest
from rich.console import Console

import imgtrans
from imgtrans.cli import ui
from imgtrans.cli.convert import _Reporter
from imgtrans.plugins import hookimpl
from imgtrans.translators.base import Translator


class SlowIdentity(Translator):
    name = "slowidentity"
    summary = "identity, 0.3 s per forward pass"

    def translate(self, images, context):
        time.sleep(0.3)
        return images


class _Plugin:
    @hookimpl
    def register_translators(self, register):
        register(SlowIdentity)


def _images(folder: Path, count: int, size: int = 24) -> Path:
    folder.mkdir(parents=True)
    for i in range(count):
        pixels = np.random.default_rng(i).integers(0, 256, (size, size, 3), dtype=np.uint8)
        cv2.imwrite(str(folder / f"{i}.png"), pixels)
    return folder


def _interrupted_run(mode: str, tmp_path: Path, monkeypatch) -> tuple[_Reporter, object, str]:
    """Six images, stopped as the first result arrives, reported by a ``mode`` reporter."""
    console = Console(file=io.StringIO(), force_terminal=mode == "rich", width=120)
    monkeypatch.setattr(ui, "err", console)
    stop = threading.Event()
    reporter = _Reporter(mode)

    def on_result(result):
        reporter.result(result)
        stop.set()

    with reporter:
        report = imgtrans.convert(_images(tmp_path / "in", 6), tmp_path / "out", plugin="slowidentity",
                                  batch_size=1, device="cpu", on_plan=reporter.plan,
                                  on_start=reporter.start, on_result=on_result, stop=stop)
    return reporter, report, console.file.getvalue()


def test_bar_after_a_stop_shows_what_was_done(host, register_plugin, tmp_path, monkeypatch):
    register_plugin(_Plugin(), "slowidentity_plugin")
    reporter, report, shown = _interrupted_run("rich", tmp_path, monkeypatch)
    done, interrupted = report.count("done"), report.count("interrupted")
    assert report.interrupted and 1 <= done < 6 and done + interrupted == 6
    task = reporter.bar.tasks[0]
    assert task.completed == done and task.total == 6 and task.description == "interrupted"
    last = shown.splitlines()[-1] if shown.strip() else ""
    assert f"{done}/6" in re.sub(r"\x1b\[[0-9;]*m", "", shown), shown
    assert "6/6" not in re.sub(r"\x1b\[[0-9;]*m", "", last)
    bar_rate = float(task.fields["rate"].split()[0])
    assert bar_rate == pytest.approx(report.images_per_second, rel=0.25), (bar_rate, report.summary())


def test_plain_lines_after_a_stop_count_what_was_done(host, register_plugin, tmp_path, monkeypatch):
    register_plugin(_Plugin(), "slowidentity_plugin")
    reporter, report, shown = _interrupted_run("plain", tmp_path, monkeypatch)
    done = report.count("done")
    counted = re.findall(r"^\[(\d+)/6\] (\w+):", shown, re.M)
    assert [int(k) for k, _ in counted] == list(range(1, done + 1)), shown
    assert {status for _, status in counted} == {"done"} and reporter.interrupted == 6 - done


def test_a_tiled_image_reports_its_tiles_on_the_calling_thread(host, tmp_path):
    src = tmp_path / "in"
    src.mkdir()
    cv2.imwrite(str(src / "big.png"), np.zeros((100, 70, 3), np.uint8))  # 4 x 3 tiles of 32
    cv2.imwrite(str(src / "small.png"), np.zeros((20, 20, 3), np.uint8))  # one tile
    heard: list[tuple[str, int, int, bool]] = []
    results: list[str] = []
    report = imgtrans.convert(src, tmp_path / "out", plugin="resize", tile=32, device="cpu",
                              on_result=lambda r: results.append(r.input),
                              on_frames=lambda source, done, total: heard.append(
                                  (Path(source).name, done, total,
                                   threading.current_thread() is threading.main_thread())))
    assert report.count("done") == 2
    big = [(done, total) for name, done, total, _ in heard if name == "big.png"]
    assert big == [(k, 12) for k in range(1, 13)]
    assert [(d, t) for name, d, t, _ in heard if name == "small.png"] == [(1, 1)]
    assert all(on_main for *_, on_main in heard)


def test_reporter_shows_tiles_of_an_image_and_frames_of_a_video(monkeypatch):
    console = Console(file=io.StringIO(), width=120)
    monkeypatch.setattr(ui, "err", console)
    reporter = _Reporter("plain")
    video = type("Item", (), {"source": Path("clip.mp4"), "video": object()})()
    image = type("Item", (), {"source": Path("big.png"), "video": None})()
    reporter.plan(type("Plan", (), {"todo": [video, image], "skipped": [], "excluded": []})())
    reporter.frames("big.png", 12, 12)
    reporter.frames("clip.mp4", 10, 10)
    reporter.frames("small.png", 1, 1)  # one tile: no line of its own
    shown = console.file.getvalue()
    assert "big.png: 12/12 tiles" in shown and "clip.mp4: 10/10 frames" in shown
    assert "small.png" not in shown
