"""Results stream: each item's result reaches ``on_result`` (so the progress bar, the plain
``[k/N]`` lines and the report) as soon as the item is finished, not when the run ends; the
console names the weights and the device once, at the start."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import cv2
import numpy as np
from typer.testing import CliRunner

import imgtrans
from imgtrans.cli import app
from imgtrans.plugins import hookimpl
from imgtrans.translators.base import Translator


class CountingSlowTranslator(Translator):
    """Identity that sleeps per forward pass and counts the passes started."""

    name = "countingslow"
    summary = "identity, slowly, counted"
    calls = 0

    def translate(self, images, context):
        CountingSlowTranslator.calls += 1
        time.sleep(0.5)
        return images


class _Plugin:
    @hookimpl
    def register_translators(self, register):
        register(CountingSlowTranslator)


def _images(folder: Path, count: int) -> Path:
    folder.mkdir(parents=True)
    for i in range(count):
        pixels = np.random.default_rng(i).integers(0, 256, (24, 32, 3), dtype=np.uint8)
        cv2.imwrite(str(folder / f"{i}.png"), pixels)
    return folder


def test_first_result_arrives_while_later_items_are_still_translated(host, register_plugin, tmp_path):
    register_plugin(_Plugin(), "countingslow_plugin")
    CountingSlowTranslator.calls = 0
    src = _images(tmp_path / "in", 6)
    seen: list[tuple[str, int, bool]] = []

    def on_result(result):
        seen.append((result.status, CountingSlowTranslator.calls,
                     threading.current_thread() is threading.main_thread()))

    report = imgtrans.convert(src, tmp_path / "out", plugin="countingslow", batch_size=1,
                              on_result=on_result)
    assert report.count("done") == 6 and [s for s, _, _ in seen] == ["done"] * 6
    assert seen[0][1] < 6, "the first result waited for the last forward pass"
    assert all(on_main for _, _, on_main in seen), "on_result runs on the calling thread"
    assert [calls for _, calls, _ in seen] == sorted(calls for _, calls, _ in seen)


def test_console_names_weights_and_device_once(test_translators, tmp_path):
    import torch

    from imgtrans.weights import save_state_dict

    weights = tmp_path / "g.safetensors"
    save_state_dict({"gain": torch.tensor(0.5)}, weights)
    src = _images(tmp_path / "in", 2)
    result = CliRunner().invoke(app, ["convert", str(src), str(tmp_path / "out"), "--plugin", "gain",
                                      "--weights", str(weights), "--progress", "plain"])
    assert result.exit_code == 0, result.output
    lines = [line for line in result.output.splitlines() if "with weights" in line]
    assert len(lines) == 1, result.output
    assert str(weights) in lines[0] and "on cpu" in lines[0] and "batch size auto" in lines[0]
    assert result.output.index("with weights") < result.output.index("[1/2]")


def test_console_says_when_a_translator_has_no_weights(host, tmp_path):
    src = _images(tmp_path / "in", 1)
    result = CliRunner().invoke(app, ["convert", str(src), str(tmp_path / "out"), "--plugin",
                                      "sketch", "--progress", "plain"])
    assert result.exit_code == 0, result.output
    assert result.output.count("sketch with no weights on cpu") == 1, result.output
