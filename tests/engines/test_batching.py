"""Batch sizes: ``auto`` is the translator's ``cpu_batch_size`` on CPU (1 by default) and
measured on CUDA; running out of memory halves the
batch (and remembers it), then tiles one image, then fails only that image. Tested on CPU
with a translator that raises torch's out-of-memory errors above a batch or image size."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest
from typer.testing import CliRunner

import engine_translators
import imgtrans
from engine_translators import HungryTranslator
from imgtrans.cli import app
from imgtrans.core.batching import BatchSizer, estimate_batch, is_out_of_memory, parse_batch_size
from imgtrans.errors import UsageError
from imgtrans.plugins import hookimpl
from imgtrans.translators.base import Capabilities


@pytest.fixture
def hungry(host, register_plugin):
    register_plugin(engine_translators, "engine_translators")
    HungryTranslator.shapes = []
    return HungryTranslator


def _images(folder: Path, count: int, height: int = 24, width: int = 32) -> dict[str, np.ndarray]:
    folder.mkdir(parents=True)
    made = {}
    for i in range(count):
        pixels = np.random.default_rng(i).integers(0, 256, (height, width, 3), dtype=np.uint8)
        cv2.imwrite(str(folder / f"{i}.png"), pixels)
        made[f"{i}.png"] = pixels
    return made


def _unchanged(made: dict[str, np.ndarray], out: Path) -> bool:
    return all(np.array_equal(cv2.imread(str(out / name)), pixels) for name, pixels in made.items())


def test_out_of_memory_halves_the_batch_and_keeps_the_smaller_size(hungry, tmp_path):
    made = _images(tmp_path / "in", 8)
    report = imgtrans.convert(tmp_path / "in", tmp_path / "out", plugin="hungry", batch_size=8,
                              options={"max_batch": 2})
    assert report.count("done") == 8, report.summary()
    assert _unchanged(made, tmp_path / "out")
    assert [shape[0] for shape in hungry.shapes] == [8, 4, 2, 2, 2, 2]


def test_one_image_too_large_is_tiled_and_later_ones_start_tiled(hungry, tmp_path):
    made = _images(tmp_path / "in", 2, height=80, width=96)
    report = imgtrans.convert(tmp_path / "in", tmp_path / "out", plugin="hungry",
                              options={"max_pixels": 60 * 60})
    assert report.count("done") == 2, report.summary()
    assert _unchanged(made, tmp_path / "out")
    whole = [s for s in hungry.shapes if s[-2:] == (80, 96)]
    assert len(whole) == 1, "the second image went straight to the tile size that fits"
    assert hungry.shapes[1][-2:] == (74, 74)  # tiles of 64 plus context: still too large
    assert all(s[-1] <= 32 + 2 * 10 for s in hungry.shapes[2:])  # tiles of 32 fit


class _NotTileable(HungryTranslator):
    name = "hungry_whole"
    capabilities = Capabilities()


class _Plugin:
    @hookimpl
    def register_translators(self, register):
        register(_NotTileable)


def test_an_image_that_fits_in_no_way_fails_alone_with_a_clear_reason(hungry, register_plugin, tmp_path):
    register_plugin(_Plugin(), "hungry_whole_plugin")
    _images(tmp_path / "small", 2)
    _images(tmp_path / "large", 1, height=80, width=96)
    (tmp_path / "in").mkdir()
    for folder in ("small", "large"):
        (tmp_path / folder).rename(tmp_path / "in" / folder)
    result = CliRunner().invoke(app, ["convert", str(tmp_path / "in"), str(tmp_path / "out"),
                                      "--plugin", "hungry_whole", "-O", "cuda=true"])
    assert result.exit_code == 3, result.output
    assert "failed: " in result.output and "large/0.png: out of memory" in result.output
    assert "Traceback" not in result.output
    assert sorted(p.name for p in (tmp_path / "out" / "small").iterdir()) == ["0.png", "1.png"]
    assert not (tmp_path / "out" / "large").exists()


def test_auto_is_the_default_and_runs_one_image_at_a_time_on_cpu(hungry, tmp_path):
    _images(tmp_path / "in", 3)
    result = CliRunner().invoke(app, ["convert", str(tmp_path / "in"), str(tmp_path / "out"),
                                      "--plugin", "hungry", "-O", "max_batch=1"])
    assert result.exit_code == 0, result.output
    assert [shape[0] for shape in hungry.shapes] == [1, 1, 1]


@pytest.mark.parametrize("value", ["0", "-2", "many", "1.5"])
def test_a_bad_batch_size_is_a_usage_error(host, tmp_path, value):
    _images(tmp_path / "in", 1)
    result = CliRunner().invoke(app, ["convert", str(tmp_path / "in"), str(tmp_path / "out"),
                                      "--plugin", "sketch", "--batch-size", value])
    assert result.exit_code == 2, result.output
    assert "--batch-size" in result.output


def test_parse_batch_size():
    assert parse_batch_size("auto") == parse_batch_size(None) == parse_batch_size(" AUTO ") == "auto"
    assert parse_batch_size("4") == parse_batch_size(4) == 4
    for bad in (0, True, 2.5, "x"):
        with pytest.raises(UsageError):
            parse_batch_size(bad)


def test_out_of_memory_errors_are_recognised():
    import torch

    assert is_out_of_memory(torch.cuda.OutOfMemoryError("CUDA out of memory. Tried to allocate"))
    assert is_out_of_memory(RuntimeError("DefaultCPUAllocator: not enough memory"))
    assert is_out_of_memory(RuntimeError("CUDA error: out of memory"))
    assert is_out_of_memory(MemoryError())
    assert not is_out_of_memory(RuntimeError("size mismatch"))
    assert not is_out_of_memory(ValueError("out of memory"))


def test_auto_on_cuda_measures_a_trial_image_and_fits_the_free_memory(monkeypatch):
    import torch

    gib = 1 << 30
    allocated = [1 * gib]
    peak = [0]
    monkeypatch.setattr(torch.cuda, "synchronize", lambda device=None: None)
    monkeypatch.setattr(torch.cuda, "mem_get_info", lambda device=None: (9 * gib, 16 * gib))
    monkeypatch.setattr(torch.cuda, "memory_reserved", lambda device=None: 2 * gib)
    monkeypatch.setattr(torch.cuda, "memory_allocated", lambda device=None: allocated[0])
    monkeypatch.setattr(torch.cuda, "reset_peak_memory_stats", lambda device=None: None)
    monkeypatch.setattr(torch.cuda, "max_memory_allocated", lambda device=None: peak[0])
    sizer = BatchSizer("auto", "cuda")
    key = (512, 512, 3, 8)
    assert sizer.size_for(key) == 1 and sizer.largest == 32

    def forward():
        peak[0] = allocated[0] + gib  # the trial image needed 1 GiB at its peak
        return "result"

    assert sizer.run(key, 1, forward) == "result"
    assert sizer.size_for(key) == estimate_batch(10 * gib, gib) == 8  # 9 free + 1 cached
    assert sizer.shrink(key, 8) == 4 and sizer.size_for(key) == 4
    assert BatchSizer("auto", "cpu").size_for(key) == 1 and BatchSizer(6, "cuda").size_for(key) == 6
    assert BatchSizer("auto", "cpu", cpu_batch=8).size_for(key) == 8
    assert BatchSizer("auto", "cpu", cpu_batch=8).describe() == "auto (8 on CPU)"


def test_auto_on_cpu_batches_only_images_within_the_translators_pixel_limit():
    caps = Capabilities(cpu_batch_size=2, cpu_batch_max_pixels=128 * 128)
    sizer = BatchSizer.of("auto", "cpu", caps)
    assert sizer.size_for((96, 128, 3, 8)) == 2 and sizer.size_for((128, 128, 3, 16)) == 2
    assert sizer.size_for((129, 128, 3, 8)) == 1 and sizer.size_for((1080, 1920, 3, 8)) == 1
    assert sizer.size_for(("input", None)) == 2  # not an image: no size to limit
    assert sizer.largest == 2
    assert sizer.describe() == "auto (2 on CPU up to 16384 pixels per image, else 1)"
    assert BatchSizer.of(3, "cpu", caps).size_for((1080, 1920, 3, 8)) == 3  # a number is a number
    assert BatchSizer.of("auto", "cpu", Capabilities(cpu_batch_size=2)).size_for((1080, 1920, 3, 8)) == 2


def test_srgan_batches_small_inputs_for_rrdbnet_only_on_cpu(tmp_path):
    import torch
    from imgtrans_srgan.archs import SRConfig

    for arch, expected in (("rrdbnet", (2, 128 * 128)), ("msrresnet", (1, 0))):
        net = SRConfig(arch=arch, scale=2, num_feat=8, num_block=1, num_grow_ch=4).build()
        path = tmp_path / f"{arch}.pth"
        torch.save(net.state_dict(), path)
        caps = imgtrans.load("srgan", weights=str(path), device="cpu").translator.capabilities
        assert (caps.cpu_batch_size, caps.cpu_batch_max_pixels) == expected


def test_estimate_batch_limits():
    assert estimate_batch(100, 1000) == 1
    assert estimate_batch(1 << 40, 1) == 32
    assert estimate_batch(1000, 0) == 32
