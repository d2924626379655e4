"""``--compile``: the compiled path gives the eager results, and a run decides by itself only
in fast mode on long runs. Inductor's C++ code generation takes about a minute even for a tiny
network on 2 cores, so these tests trace with the ``aot_eager`` backend
(``IMGTRANS_COMPILE_BACKEND``): dynamo and AOT autograd run on the real translator, only the
kernel generation is left out."""

from __future__ import annotations

import logging

import cv2
import numpy as np
import pytest
import torch

import imgtrans
from imgtrans.core import compiling

pytestmark = pytest.mark.usefixtures("one_torch_thread")


@pytest.fixture
def tiny_sr(tmp_path):
    """A tiny random SRVGGNetCompact x2 checkpoint and two 24x24 inputs."""
    from imgtrans_srgan.archs import SRVGGNetCompact

    torch.manual_seed(0)
    weights = tmp_path / "tiny_x2.pth"
    torch.save(SRVGGNetCompact(3, 3, num_feat=8, num_conv=2, upscale=2).state_dict(), weights)
    inputs = tmp_path / "in"
    inputs.mkdir()
    rng = np.random.default_rng(0)
    for i in range(2):
        cv2.imwrite(str(inputs / f"{i}.png"), rng.integers(0, 256, (24, 24, 3), dtype=np.uint8))
    return weights, inputs


def _outputs(folder):
    return {p.name: cv2.imread(str(p)) for p in sorted(folder.glob("*.png"))}


def test_compiled_run_matches_eager(tiny_sr, tmp_path, monkeypatch, caplog):
    monkeypatch.setenv("IMGTRANS_COMPILE_BACKEND", "aot_eager")
    monkeypatch.setenv("TORCHINDUCTOR_CACHE_DIR", str(tmp_path / "inductor"))
    weights, inputs = tiny_sr
    eager = imgtrans.convert(inputs, tmp_path / "eager", plugin="srgan", weights=str(weights),
                             compile=False, seed=0)
    with caplog.at_level(logging.INFO, logger="imgtrans.core.compiling"):
        compiled = imgtrans.convert(inputs, tmp_path / "compiled", plugin="srgan",
                                    weights=str(weights), compile=True, seed=0)
    assert [r.status for r in eager.items + compiled.items] == ["done"] * 4, [r.error for r in compiled.items]
    assert any("compiled in" in r.getMessage() for r in caplog.records)
    a, b = _outputs(tmp_path / "eager"), _outputs(tmp_path / "compiled")
    assert list(a) == ["0.png", "1.png"] and list(a) == list(b)
    for name in a:
        assert a[name].shape == (48, 48, 3)
        assert np.abs(a[name].astype(int) - b[name].astype(int)).max() <= 1, name


def test_worth_compiling_only_fast_on_cuda_and_long_runs():
    many = compiling.AUTO_COMPILE_IMAGES
    assert compiling.worth_compiling(many, "fast", "cuda")
    assert not compiling.worth_compiling(many - 1, "fast", "cuda")
    assert not compiling.worth_compiling(10 * many, "exact", "cuda")  # exact stays bit for bit
    assert not compiling.worth_compiling(10 * many, "fast", "cpu")  # measured not to pay


@pytest.mark.parametrize("precision, cuda, expected",
                         [("exact", True, False), ("fast", True, True), ("fast", False, False)])
def test_run_decides_when_not_told(tiny_sr, tmp_path, monkeypatch, precision, cuda, expected):
    """The decision alone: the device is only pretended for it (the run itself is on CPU)."""
    weights, inputs = tiny_sr
    calls = []
    real = compiling.worth_compiling
    monkeypatch.setattr(compiling, "worth_compiling",
                        lambda n, p, device: real(n, p, "cuda" if cuda else device))

    def spy(call, name):
        calls.append(name)
        return call  # the decision is under test, not compilation

    monkeypatch.setattr(compiling, "AUTO_COMPILE_IMAGES", 2)
    monkeypatch.setattr(compiling, "compiled", spy)
    report = imgtrans.convert(inputs, tmp_path / "out", plugin="srgan", weights=str(weights),
                              precision=precision, seed=0)
    assert report.settings["compile"] is expected
    assert bool(calls) is expected
    no = imgtrans.convert(inputs, tmp_path / "out2", plugin="srgan", weights=str(weights),
                          precision=precision, seed=0, compile=False)
    assert no.settings["compile"] is False and len(calls) == int(expected)
