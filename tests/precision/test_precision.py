"""``--precision exact|fast``: exact is the fp32 path untouched, fast stays within the documented
error of exact on every built-in learned translator, falls back to fp32 for non-finite
results, and says so where the device has no fast path."""

from __future__ import annotations

import logging

import numpy as np
import pytest
import torch

import imgtrans
from imgtrans.core import precision as precision_module
from imgtrans.core.precision import Precision, cpu_has_bf16
from imgtrans.core.runner import TranslatorRunner
from imgtrans.errors import UsageError
from imgtrans.plugin import Preprocessing, Translator

pytestmark = pytest.mark.usefixtures("one_torch_thread")

needs_bf16 = pytest.mark.skipif(not cpu_has_bf16(), reason="this CPU has no AVX-512 BF16 or AMX: "
                                "--precision fast runs exact here, nothing to measure")

# Bundled (small) networks and their inputs. Bounds: bf16 keeps 8 mantissa bits, a relative
# rounding of 2^-9 per operation; through a few dozen layers the mean stays well under one
# 8-bit level (bench/RESULTS.md: 0.05-0.9), and rare pixels at steep parts of the output
# (tanh/clamp edges) move more: the largest seen on published-size networks is 9 levels, so
# the max bound is 16 (1/16 of the range), the mean bound 2 levels.
CASES = {
    "pix2pix": ("pix2pix.facades_synth", {}, "image"),
    "cyclegan": ("cyclegan.day2night_synth", {}, "image"),
    "srgan": ("srgan.photos_x4", {}, "image"),
    "sdedit": ("sdedit.facades_synth", {"strength": 0.5, "steps": 10}, "image"),
    "layout2im": ("layout2im.shapes_synth", {}, "layout"),
}


def _inputs(kind: str, n: int = 2) -> list:
    rng = np.random.default_rng(0)
    if kind == "layout":
        from imgtrans_layout2im.synthetic import VOCAB, random_layout

        return [random_layout(rng, VOCAB, 1, 4) for _ in range(n)]
    import cv2

    return [cv2.resize(rng.integers(0, 256, (8, 8, 3), dtype=np.uint8), (64, 64),
                       interpolation=cv2.INTER_CUBIC) for _ in range(n)]


def _outputs(model, inputs: list) -> np.ndarray:
    names = [f"{i}.png" for i in range(len(inputs))]
    if model.runner.takes_images:
        images = [model.runner.run_arrays([x], 8, [n])[0] for x, n in zip(inputs, names)]
    else:
        images = [y for x, n in zip(inputs, names) for y in model.runner.run_inputs([x], [n])]
    return np.concatenate([np.asarray(y, np.int32).ravel() for y in images])


@needs_bf16
@pytest.mark.parametrize("plugin", sorted(CASES))
def test_fast_error_is_bounded(plugin):
    weights, options, kind = CASES[plugin]
    inputs = _inputs(kind)
    exact = imgtrans.load(plugin, weights, options=options, seed=0, device="cpu")
    fast = imgtrans.load(plugin, weights, options=options, seed=0, device="cpu", precision="fast")
    assert fast.runner.precision.dtype == torch.bfloat16
    diff = np.abs(_outputs(exact, inputs) - _outputs(fast, inputs))
    assert diff.mean() <= 2.0, diff.mean()
    assert diff.max() <= 16, diff.max()


class _Recorder(Translator):
    """Doubles its input; records whether autocast was on, and returns NaN under autocast
    when ``nan_when_fast`` is set."""

    name = "recorder"
    nan_when_fast = False

    def __init__(self, options=None, device=None):
        super().__init__(options, device)
        self.autocast_seen: list[bool] = []

    def preprocessing(self) -> Preprocessing:
        return Preprocessing()

    def translate(self, images, context):
        fast = torch.is_autocast_enabled("cpu")
        self.autocast_seen.append(fast)
        out = torch.nn.functional.conv2d(images, torch.eye(3).view(3, 3, 1, 1) * 0.5)
        return out * float("nan") if fast and self.nan_when_fast else out


@pytest.fixture
def bf16_everywhere(monkeypatch):
    """Pretend the CPU runs bf16 natively (autocast works on any CPU, only slower)."""
    monkeypatch.setattr(precision_module, "cpu_has_bf16", lambda: True)


def test_exact_never_autocasts_and_is_fp32():
    translator = _Recorder()
    runner = TranslatorRunner(translator, torch.device("cpu"), precision="exact")
    batch = torch.rand(1, 3, 8, 8)
    out = runner.run_float(batch, ["a"])
    assert translator.autocast_seen == [False]
    assert out.dtype == torch.float32
    assert torch.equal(out, (batch * 0.5).clamp(0, 1))


def test_default_is_exact_and_bit_identical():
    inputs = _inputs("image", 1)
    default = imgtrans.load("cyclegan", "cyclegan.day2night_synth", seed=0, device="cpu")
    exact = imgtrans.load("cyclegan", "cyclegan.day2night_synth", seed=0, device="cpu", precision="exact")
    assert default.runner.precision == Precision()
    assert np.array_equal(_outputs(default, inputs), _outputs(exact, inputs))


def test_fast_autocasts_and_returns_fp32(bf16_everywhere):
    translator = _Recorder()
    runner = TranslatorRunner(translator, torch.device("cpu"), precision="fast")
    out = runner.run_float(torch.rand(1, 3, 8, 8), ["a"])
    assert translator.autocast_seen == [True]
    assert out.dtype == torch.float32


def test_non_finite_fast_result_falls_back_to_exact(bf16_everywhere, caplog):
    translator = _Recorder()
    translator.nan_when_fast = True
    runner = TranslatorRunner(translator, torch.device("cpu"), precision="fast")
    batch = torch.rand(1, 3, 8, 8)
    with caplog.at_level(logging.WARNING):
        out = runner.run_float(batch, ["bad.png"])
    assert translator.autocast_seen == [True, False]
    assert torch.equal(out, (batch * 0.5).clamp(0, 1))
    assert "bad.png: --precision fast gave non-finite values; computing again in fp32" in caplog.text


def test_no_fast_path_says_so_and_runs_exact(monkeypatch, caplog):
    monkeypatch.setattr(precision_module, "cpu_has_bf16", lambda: False)
    translator = _Recorder()
    with caplog.at_level(logging.WARNING):
        runner = TranslatorRunner(translator, torch.device("cpu"), precision="fast")
    assert runner.precision.dtype is None
    messages = [r.getMessage() for r in caplog.records]
    assert messages == ["--precision fast: this CPU has no AVX-512 BF16 or AMX; running exact (fp32)"]
    runner.run_float(torch.rand(1, 3, 8, 8), ["a"])
    assert translator.autocast_seen == [False]


def test_norm_layers_compute_in_fp32_under_fast_scope():
    norm, seen = torch.nn.InstanceNorm2d(4), []
    norm.register_forward_hook(lambda m, args, out: seen.append((args[0].dtype, out.dtype)))
    conv = torch.nn.Conv2d(4, 4, 1)
    with precision_module.autocast("cpu", torch.bfloat16):
        norm(conv(torch.rand(1, 4, 8, 8)))
    norm(conv(torch.rand(1, 4, 8, 8)))  # outside the scope: the hook (kept) does nothing
    assert seen == [(torch.float32, torch.float32), (torch.float32, torch.float32)]


def test_unknown_precision_is_a_usage_error():
    with pytest.raises(UsageError, match="choose exact or fast"):
        imgtrans.load("cyclegan", "cyclegan.day2night_synth", precision="half")


@needs_bf16
def test_sdedit_autocasts_only_the_unet(monkeypatch):
    """The sampler's step arithmetic gets fp32 noise predictions and states in fast mode."""
    from diffusers import DDIMScheduler

    seen: list[tuple] = []
    step = DDIMScheduler.step

    def recording_step(self, model_output, timestep, sample, *args, **kwargs):
        seen.append((model_output.dtype, sample.dtype, torch.is_autocast_enabled("cpu")))
        return step(self, model_output, timestep, sample, *args, **kwargs)

    monkeypatch.setattr(DDIMScheduler, "step", recording_step)
    fast = imgtrans.load("sdedit", "sdedit.facades_synth", options={"strength": 0.5, "steps": 4},
                         seed=0, device="cpu", precision="fast")
    fast(_inputs("image", 1)[0])
    assert seen and all(s == (torch.float32, torch.float32, False) for s in seen)


def _weight_casts(model: torch.nn.Module, x: torch.Tensor) -> int:
    """How many bf16 copies of a float32 tensor one autocast call of ``model`` makes."""
    from torch.profiler import ProfilerActivity, profile

    with profile(activities=[ProfilerActivity.CPU]) as prof:
        with torch.autocast("cpu", dtype=torch.bfloat16):
            model(x)
    return sum(e.count for e in prof.key_averages() if e.key == "aten::_to_copy")


def test_kept_weight_casts_are_not_made_again():
    """The engines' translator thread keeps autocast's weight copies between calls: the
    second call casts only its input, not the conv's weight and bias again."""
    import threading

    model, x = torch.nn.Conv2d(3, 4, 3), torch.rand(1, 3, 8, 8)
    counts: dict[str, list[int]] = {}

    def calls(kept: bool) -> None:
        if kept:
            precision_module.keep_weight_casts("cpu")
        with torch.no_grad():  # as the runner in fast mode (inference_mode defeats the cache)
            counts[str(kept)] = [_weight_casts(model, x) for _ in range(2)]

    for kept in (False, True):  # each in its own thread, as the engine's translator thread
        thread = threading.Thread(target=calls, args=(kept,))
        thread.start()
        thread.join()
    assert counts["False"] == [3, 3]  # input, weight, bias at every call
    assert counts["True"] == [3, 1]  # the weight copies made once
    assert not torch.is_autocast_enabled("cpu")  # this thread untouched


def test_norm_hook_is_installed_once_and_kept():
    """torch.compile guards on torch's global hook table: a hook registered per call (a new
    key each time) made every fast-mode call recompile."""
    table = torch.nn.modules.module._global_forward_pre_hooks
    keys = []
    for _ in range(3):
        with precision_module.autocast("cpu", torch.bfloat16):
            keys.append(list(table))
    assert keys[0] == keys[1] == keys[2] == list(table) and len(keys[0]) >= 1


def test_fast_compiled_runs_do_not_recompile(tmp_path, monkeypatch):
    if not cpu_has_bf16():
        pytest.skip("fast mode runs exact on this CPU (no AVX-512 BF16/AMX): no autocast to test")
    import cv2
    from imgtrans_srgan.archs import SRVGGNetCompact
    from torch._dynamo.utils import counters

    torch.manual_seed(0)
    torch.save(SRVGGNetCompact(3, 3, num_feat=8, num_conv=2, upscale=2).state_dict(), tmp_path / "w.pth")
    (tmp_path / "in").mkdir()
    rng = np.random.default_rng(0)
    for i in range(3):
        cv2.imwrite(str(tmp_path / "in" / f"{i}.png"), rng.integers(0, 256, (24, 24, 3), dtype=np.uint8))
    monkeypatch.setenv("IMGTRANS_COMPILE_BACKEND", "aot_eager")
    monkeypatch.setenv("TORCHINDUCTOR_CACHE_DIR", str(tmp_path / "inductor"))
    torch._dynamo.reset()  # no cache entries of earlier tests
    counters.clear()
    try:
        report = imgtrans.convert(tmp_path / "in", tmp_path / "out", plugin="srgan",
                                  weights=str(tmp_path / "w.pth"), precision="fast",
                                  compile=True, batch_size=1)
        graphs = counters["stats"]["unique_graphs"]
    finally:
        torch._dynamo.reset()
    assert [item.status for item in report.items] == ["done"] * 3, [item.error for item in report.items]
    assert graphs == 1  # compiled once for 3 calls (it was 3 with a hook registered per call)


def test_kept_norm_hook_leaves_other_devices_alone():
    """The hook stays installed after a fast run: norm layers on tensors of a device without
    autocast (the training checks probe networks with meta tensors) must still run."""
    with precision_module.autocast("cpu", torch.bfloat16):
        pass
    norm = torch.nn.InstanceNorm2d(4)
    out = norm(torch.empty(1, 4, 8, 8, device="meta"))
    assert out.device.type == "meta" and out.shape == (1, 4, 8, 8)
