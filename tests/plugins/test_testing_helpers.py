"""``imgtrans.testing``, the helpers plugin authors test with: an isolated plugin host that
comes and goes, deterministic sample images, a pipeline run that catches batch-dependent
results, and the fast-mode error measurement."""

from __future__ import annotations

import os
import subprocess
import sys

import numpy as np
import pytest

import imgtrans
from imgtrans.errors import PluginError
from imgtrans.plugin import Capabilities, Translator, hookimpl
from imgtrans.plugins import manager
from imgtrans.testing import measure_fast_mode, plugin_host, run_translator, sample_image
from imgtrans_testenv import subprocess_env


class Halve(Translator):
    """Halves every pixel, image by image."""

    name = "halve"
    summary = "x / 2"
    capabilities = Capabilities(fully_convolutional=True)

    def translate(self, images, context):
        return images * 0.5


class BatchMean(Translator):
    """Subtracts the batch's mean: each result depends on the other images of its batch."""

    name = "batchmean"
    summary = "mixes the batch"

    def translate(self, images, context):
        return (images - images.mean() + 0.5).clamp(0, 1)


class Conv(Translator):
    """A 3x3 average as a convolution: autocast runs it in bf16."""

    name = "conv"
    summary = "3x3 box blur"

    def translate(self, images, context):
        import torch.nn.functional as F

        kernel = images.new_full((images.shape[1], 1, 3, 3), 1 / 9)
        return F.conv2d(F.pad(images, (1, 1, 1, 1), mode="replicate"), kernel, groups=images.shape[1])


class ExactConv(Conv):
    name = "exactconv"
    autocast_scope = "none"


class Plugin:
    @hookimpl
    def register_translators(self, register):
        for cls in (Halve, BatchMean, Conv, ExactConv):
            register(cls)


class Broken:
    @hookimpl
    def register_translators(self, register):
        raise RuntimeError("broken on purpose")


def test_plugin_host_is_used_inside_and_forgotten_after():
    outside = manager.get_host()
    with plugin_host(Plugin()) as host:
        assert manager.get_host() is host
        assert host.records["Plugin"].source == "test"
        assert imgtrans.load("halve", device="cpu").translator.name == "halve"
    assert manager.get_host() is outside
    assert "halve" not in outside.translators


def test_plugin_host_ignores_the_environment(monkeypatch):
    """No IMGTRANS_PLUGINS modules, no blocked built-ins: the same host on every machine."""
    monkeypatch.setenv("IMGTRANS_PLUGINS", "imgtrans_testplugins")
    monkeypatch.setenv("IMGTRANS_DISABLE_PLUGINS", "resize")
    monkeypatch.setenv("IMGTRANS_LOAD_PLUGINS", "sketch")
    with plugin_host() as host:
        assert "noise" not in host.translators and "sketch" not in host.translators
        assert host.records["resize"].status == "ok"
    assert os.environ["IMGTRANS_PLUGINS"] == "imgtrans_testplugins"
    assert os.environ["IMGTRANS_LOAD_PLUGINS"] == "sketch"


def test_plugin_host_accepts_module_names_and_refuses_broken_plugins():
    with plugin_host("imgtrans_testplugins") as host:
        assert host.translator_plugin["noise"] == "imgtrans_testplugins"
    with pytest.raises(PluginError, match="Broken: register_translators failed: RuntimeError: broken on purpose"):
        with plugin_host(Broken()):
            pass
    with plugin_host(Broken(), check=False) as host:
        assert host.records["Broken"].status == "failed"


def test_throwaway_plugins_register_in_the_block():
    with plugin_host() as host:
        assert host.register(Plugin(), name="throwaway").status == "ok"
        assert manager.get_translator("halve") is Halve


def test_sample_images_are_deterministic_and_differ_by_seed():
    a, b, c = sample_image(20, 30, seed=1), sample_image(20, 30, seed=1), sample_image(20, 30, seed=2)
    assert a.shape == (20, 30, 3) and a.dtype == np.uint8
    assert np.array_equal(a, b) and not np.array_equal(a, c)
    assert a.std() > 20  # not flat
    assert sample_image(8, 8, channels=1).shape == (8, 8)
    assert sample_image(8, 8, channels=4).shape == (8, 8, 4)


def test_run_translator_runs_the_pipeline():
    images = [sample_image(16, 24, seed=s) for s in range(2)] + [sample_image(10, 10, seed=3)]
    with plugin_host(Plugin()):
        results = run_translator("halve", images)
    assert [r.shape for r in results] == [i.shape for i in images]
    for image, result in zip(images, results):
        assert np.abs(result.astype(int) - np.round(image / 2)).max() <= 1


def test_run_translator_catches_results_that_depend_on_the_batch():
    images = [np.full((8, 8, 3), v, np.uint8) for v in (20, 200)]
    with plugin_host(Plugin()):
        with pytest.raises(AssertionError, match=r"image0: batched with 1 other image\(s\)"):
            run_translator("batchmean", images)
        alone = run_translator("batchmean", images, batch_tolerance=None)
    assert all(int(r.mean()) == 128 for r in alone)  # alone, each is its own mean


def test_fast_mode_error_is_measured_even_without_a_native_fast_path():
    images = [sample_image(24, 24, seed=s) for s in range(2)]
    with plugin_host(Plugin()):
        conv = measure_fast_mode("conv", images)
        exact = measure_fast_mode("exactconv", images)
    assert conv.dtype == "bf16" and 0 < conv.mean < 2 and 1 <= conv.max <= 4, conv
    assert str(conv).startswith("bf16") and f"max {conv.max}" in str(conv)
    assert (exact.dtype, exact.max, exact.emulated) == ("none", 0, False)


def test_importing_the_helpers_does_not_import_torch():
    code = "import sys, imgtrans.testing; print('torch' in sys.modules)"
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          env=subprocess_env(), timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "False"
