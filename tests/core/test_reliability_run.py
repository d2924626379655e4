"""Whole runs through the CLI: each input judged alone, nothing overwritten or read back,
nothing left behind, names shown escaped, an unwritable report refused before work."""

from __future__ import annotations

import json
import os
import sys
import threading
import time
from pathlib import Path

import cv2
import numpy as np
import pytest
from typer.testing import CliRunner

from imgtrans.cli import app
from imgtrans.plugins import hookimpl
from imgtrans.translators.base import Translator

linux_only = pytest.mark.skipif(sys.platform != "linux", reason="FIFOs, devices, bytes file names")


def image(path: Path, channels: int = 3, value: int | None = None, seed: int = 0) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    shape = (24, 32) if channels == 1 else (24, 32, channels)
    pixels = (np.full(shape, value, np.uint8) if value is not None else
              np.random.default_rng(seed).integers(0, 256, shape, dtype=np.uint8))
    ok, data = cv2.imencode(path.suffix, pixels)  # cv2.imwrite crashes on non-UTF-8 names
    assert ok
    path.write_bytes(data.tobytes())
    return path


def run(*args, timeout: float = 120.0):
    """Invoke the CLI in a thread, so a hang fails the test instead of stalling the suite."""
    outcome = []
    worker = threading.Thread(target=lambda: outcome.append(
        CliRunner().invoke(app, [os.fsdecode(a) if isinstance(a, Path) else str(a) for a in args])),
        daemon=True)
    worker.start()
    worker.join(timeout)
    assert outcome, f"imgtrans {' '.join(map(str, args))} did not finish in {timeout} s"
    return outcome[0]


def files(folder: Path) -> list[str]:
    return sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file())


class PickyTranslator(Translator):
    """Identity that refuses any batch holding a bright image, and records batch sizes."""

    name = "picky"
    summary = "fails on bright images"
    batches: list[int] = []

    def translate(self, images, context):
        PickyTranslator.batches.append(images.shape[0])
        if (images.mean(dim=(1, 2, 3)) > 0.9).any():
            raise RuntimeError("too bright " + "!" * 5000)
        return images


class _PickyPlugin:
    @hookimpl
    def register_translators(self, register):
        register(PickyTranslator)


def test_failing_batch_is_retried_image_by_image(host, register_plugin, tmp_path):
    register_plugin(_PickyPlugin(), "picky_plugin")
    PickyTranslator.batches = []
    for i in range(3):
        image(tmp_path / "in" / f"ok{i}.png", seed=i)
    image(tmp_path / "in" / "bright.png", value=250)
    report = tmp_path / "r.json"
    result = run("convert", tmp_path / "in", tmp_path / "out", "--plugin", "picky", "--batch-size", "4",
                 "--report", report)
    assert result.exit_code == 3, result.output
    assert PickyTranslator.batches[0] == 4 and PickyTranslator.batches[1:] == [1, 1, 1, 1]
    assert files(tmp_path / "out") == ["ok0.png", "ok1.png", "ok2.png"]
    items = {Path(i["input"]).name: i for i in json.loads(report.read_text())["items"]}
    assert items["bright.png"]["status"] == "failed" and "too bright" in items["bright.png"]["error"]
    assert len(items["bright.png"]["error"]) <= 300
    failed = [line for line in result.output.splitlines() if "bright.png" in line]
    assert len(failed) == 1 and len(failed[0]) < 400


@linux_only
def test_bad_special_files_fail_alone_and_nothing_hangs(host, tmp_path):
    src = tmp_path / "in"
    image(src / "good.png")
    os.mkfifo(src / "pipe.png")
    (src / "zero.png").symlink_to("/dev/zero")
    (src / "loop.png").symlink_to(src / "loop.png")
    (src / "sub").mkdir()
    (src / "sub" / "up").symlink_to(src)
    result = run("convert", src, tmp_path / "out", "--plugin", "sketch", "--batch-size", "4")
    assert result.exit_code == 3, result.output
    assert files(tmp_path / "out") == ["good.png"], result.output
    lines = result.output.splitlines()
    for name, why in (("pipe.png", "FIFO"), ("zero.png", "character device"), ("loop.png", "symlink loop")):
        assert any(name in line and why in line for line in lines), result.output


@linux_only
def test_fifo_layout_input_does_not_hang(test_translators, tmp_path):
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "a.json").write_text(json.dumps({"color": [1, 2, 3], "size": [2, 2]}))
    os.mkfifo(tmp_path / "in" / "x.json")
    result = run("convert", tmp_path / "in", tmp_path / "out", "--plugin", "flat")
    assert result.exit_code == 3 and "FIFO" in result.output
    assert files(tmp_path / "out") == ["a.png"]


@linux_only
def test_non_utf8_and_terminal_escape_names(test_translators, tmp_path):
    src = tmp_path / "in"
    image(src / "plain.png", seed=1)
    image(Path(os.fsdecode(os.path.join(os.fsencode(src), b"caf\xe9.png"))), seed=2)
    (src / "evil\x1b[2J.png").write_bytes(b"not an image")
    result = run("convert", src, tmp_path / "out", "--plugin", "noise", "--batch-size", "3",
                 "--seed", "1", "--progress", "plain")
    assert result.exit_code == 3, result.output
    assert "\x1b" not in result.output and "evil\\x1b[2J.png" in result.output
    assert "caf\\xe9.png" in result.output
    assert sorted(os.listdir(os.fsencode(tmp_path / "out"))) == [b"caf\xe9.png", b"plain.png"]


def test_collisions_are_renamed_never_overwritten(host, tmp_path):
    src = tmp_path / "in"
    image(src / "a.png", seed=1)
    image(src / "a.bmp", channels=4, seed=2)
    image(src / "b.png", seed=3)
    image(src / "b.jpg", seed=4)
    image(src / "b_png.png", seed=5)
    args = ("convert", src, tmp_path / "out", "--plugin", "resize", "--opt", "scale=1", "--format", "png")
    assert run(*args).exit_code == 0
    out = files(tmp_path / "out")
    assert len(out) == 5 and {"a_bmp.png", "a_png.png", "b_jpg.png", "b_png.png"} < set(out)
    assert any(n.startswith("b_png-") for n in out)
    assert np.array_equal(cv2.imread(str(tmp_path / "out" / "b_png.png")), cv2.imread(str(src / "b_png.png")))
    report = tmp_path / "r.json"
    assert run(*args, "--report", report).exit_code == 0
    assert json.loads(report.read_text())["summary"]["skipped"] == 5


def test_alpha_fallback_is_planned_so_reruns_skip(host, tmp_path):
    image(tmp_path / "in" / "a.png", seed=1)
    image(tmp_path / "in" / "a.bmp", channels=4, seed=2)
    args = ("convert", tmp_path / "in", tmp_path / "out", "--plugin", "resize", "--opt", "scale=1")
    assert run(*args).exit_code == 0
    assert files(tmp_path / "out") == ["a_bmp.png", "a_png.png"]
    assert cv2.imread(str(tmp_path / "out" / "a_bmp.png"), cv2.IMREAD_UNCHANGED).shape[2] == 4
    report = tmp_path / "r.json"
    assert run(*args, "--report", report).exit_code == 0
    assert json.loads(report.read_text())["summary"]["skipped"] == 2


@pytest.mark.skipif(sys.platform != "linux", reason="case-sensitive file names")
def test_case_variants_both_survive(host, tmp_path):
    image(tmp_path / "in" / "a.png", seed=1)
    image(tmp_path / "in" / "a.PNG", seed=2)
    assert run("convert", tmp_path / "in", tmp_path / "out", "--plugin", "resize", "--opt", "scale=1").exit_code == 0
    outputs = [cv2.imread(str(p)) for p in sorted((tmp_path / "out").iterdir())]
    assert len(outputs) == 2 and not np.array_equal(outputs[0], outputs[1])


def test_glob_into_its_own_output_folder_three_times(host, tmp_path):
    image(tmp_path / "in" / "a.png")
    image(tmp_path / "in" / "sub" / "b.png")
    for _ in range(3):
        assert run("convert", f"{tmp_path}/in/**/*.png", tmp_path / "in" / "out", "--plugin", "sketch").exit_code == 0
    assert files(tmp_path / "in" / "out") == ["a.png", "sub/b.png"]


def test_same_folder_format_png_twice(host, tmp_path):
    image(tmp_path / "in" / "a.jpg")
    image(tmp_path / "in" / "b.bmp")
    args = ("convert", tmp_path / "in", tmp_path / "in", "--plugin", "sketch", "--format", "png")
    assert run(*args).exit_code == 0
    report = tmp_path / "r.json"
    result = run(*args, "--report", report)
    assert result.exit_code == 0, result.output
    summary = json.loads(report.read_text())["summary"]
    assert (summary["done"], summary["skipped"], summary["failed"]) == (0, 2, 0)
    assert "not reading 2 file(s)" in result.output
    assert files(tmp_path / "in") == ["a.jpg", "a.png", "b.bmp", "b.png"]


def test_names_of_242_to_255_bytes(host, tmp_path):
    names = ["n" * (length - 4) + ".png" for length in (242, 250, 255)]
    for i, name in enumerate(names):
        image(tmp_path / "in" / name, seed=i)
    result = run("convert", tmp_path / "in", tmp_path / "out", "--plugin", "sketch")
    assert result.exit_code == 0, result.output
    assert files(tmp_path / "out") == sorted(names)


def test_stale_temporaries_of_a_killed_run_are_removed(host, tmp_path):
    image(tmp_path / "in" / "a.png")
    out = tmp_path / "out"
    out.mkdir()
    stale, fresh, other = (out / ".imgtrans-0000aaaa.tmp", out / ".imgtrans-0000bbbb.tmp",
                           out / ".keep-me.tmp")
    for path in (stale, fresh, other):
        path.write_bytes(b"x" * 1000)
    then = time.time() - 3600
    os.utime(stale, (then, then))
    os.utime(other, (then, then))
    assert run("convert", tmp_path / "in", out, "--plugin", "sketch").exit_code == 0
    assert not stale.exists() and fresh.exists() and other.exists()
    assert (out / "a.png").exists()


def test_stale_temporaries_go_even_when_every_output_exists(host, tmp_path):
    """A killed run's temporary files went only from folders with work left: a re-run that
    had nothing to do kept them forever."""
    image(tmp_path / "in" / "a.png")
    image(tmp_path / "in" / "sub" / "b.png", seed=1)
    out = tmp_path / "out"
    assert run("convert", tmp_path / "in", out, "--plugin", "sketch").exit_code == 0
    stale = [out / ".imgtrans-0000aaaa.tmp.png", out / "sub" / ".imgtrans-0000cccc.tmp"]
    for path in stale:
        path.write_bytes(b"x" * 1000)
        os.utime(path, (time.time() - 3600,) * 2)
    again = run("convert", tmp_path / "in", out, "--plugin", "sketch", "--progress", "plain")
    assert again.exit_code == 0 and "skipping 2 existing" in again.output, again.output
    assert not any(path.exists() for path in stale)
    assert run("convert", tmp_path / "in", out, "--plugin", "sketch", "--dry-run").exit_code == 0


@pytest.mark.parametrize("where", ["folder", "under_a_file", "proc"])
def test_unwritable_report_is_a_usage_error_before_any_work(host, tmp_path, where):
    image(tmp_path / "in" / "a.png")
    (tmp_path / "file").write_text("")
    report = {"folder": tmp_path, "under_a_file": tmp_path / "file" / "r.json",
              "proc": Path("/proc/self/imgtrans-r.json")}[where]
    if where == "proc" and not Path("/proc/self").is_dir():
        pytest.skip("needs /proc")
    result = run("convert", tmp_path / "in", tmp_path / "out", "--plugin", "sketch", "--report", report)
    assert result.exit_code == 2, result.output
    assert "--report" in result.output and "Traceback" not in result.output
    assert not (tmp_path / "out").exists()


class NanTranslator(Translator):
    """Identity, except that dark images come out as NaN (a diverging network)."""

    name = "nanny"
    summary = "NaN on dark images"

    def translate(self, images, context):
        dark = (images.mean(dim=(1, 2, 3)) < 0.1).view(-1, 1, 1, 1)
        return images.masked_fill(dark, float("nan"))


class _NanPlugin:
    @hookimpl
    def register_translators(self, register):
        register(NanTranslator)


def test_non_finite_outputs_fail_their_image_not_the_batch(host, register_plugin, tmp_path):
    register_plugin(_NanPlugin(), "nan_plugin")
    image(tmp_path / "in" / "ok.png", seed=1)
    image(tmp_path / "in" / "dark.png", value=3)
    report = tmp_path / "r.json"
    result = run("convert", tmp_path / "in", tmp_path / "out", "--plugin", "nanny", "--batch-size", "2",
                 "--report", report)
    assert result.exit_code == 3, result.output
    assert files(tmp_path / "out") == ["ok.png"]
    items = {Path(i["input"]).name: i for i in json.loads(report.read_text())["items"]}
    assert "non-finite" in items["dark.png"]["error"]
