"""The ``tone`` translator: bundled default weights that reproduce a known grade, a bundle
that is checked before use, training with the shared loop, and checkpoints that load with
no ``--plugin``."""

from __future__ import annotations

import dataclasses
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import torch
from typer.testing import CliRunner

import imgtrans
from imgtrans.cli import app
from imgtrans.plugin import load_state_dict, read_checkpoint, read_image, write_image
from imgtrans.testing import measure_fast_mode, sample_image
from imgtrans_sketch.grades import smooth_images, to_uint8, warm_grade

SAMPLE = Path(__file__).resolve().parents[1]
LEVEL = 1 / 255


def _write_pairs(folder: Path, count: int, size: int, seed: int) -> list[np.ndarray]:
    """``count`` before/after pairs as PNG in ``folder/A`` and ``folder/B``; the befores."""
    befores = [to_uint8(rgb) for rgb in smooth_images(count, size, seed)]
    for i, before in enumerate(befores):
        write_image(folder / "A" / f"{i:02d}.png", before)
        write_image(folder / "B" / f"{i:02d}.png", to_uint8(warm_grade(before / 255.0)))
    return befores


def _errors(outputs: list[np.ndarray], befores: list[np.ndarray]) -> tuple[float, float]:
    """Mean abs error of the outputs and of doing nothing, against the exact grade, in [0, 1]."""
    exact = [warm_grade(b / 255.0) for b in befores]
    err = np.mean([np.abs(o / 255.0 - e).mean() for o, e in zip(outputs, exact)])
    identity = np.mean([np.abs(b / 255.0 - e).mean() for b, e in zip(befores, exact)])
    return float(err), float(identity)


def _invoke(*args: str) -> None:
    result = CliRunner().invoke(app, list(args))
    assert result.exit_code == 0, result.output


def test_registered_with_default_weights(sample_host):
    cls = sample_host.translators["tone"]
    assert cls.capabilities.training and cls.capabilities.paired
    (spec,) = [s for s in sample_host.known_weight_specs() if s.plugin == "tone"]
    assert spec.name == "tone.warm" and spec.default and spec.package == "imgtrans_sketch"


def test_hook_and_translator_modules_do_not_import_torch():
    code = ("import sys, imgtrans_sketch, imgtrans_sketch.sketch, imgtrans_sketch.tone, imgtrans_sketch.options\n"
            "imgtrans_sketch.register_translators(lambda cls: None)\n"
            "print(sorted(m for m in sys.modules if m.split('.')[0] in ('torch', 'kornia'))[:3])")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(SAMPLE), *sys.path])}
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env,
                          timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"


def test_bundled_weights_reproduce_the_warm_grade(sample_host):
    """No --weights: the bundled tone.warm, within 2/255 of the exact grade on images it
    never saw, where doing nothing is off by about 20/255."""
    tone = imgtrans.load("tone", device="cpu")
    assert tone.weight_spec.name == "tone.warm"
    befores = [to_uint8(rgb) for rgb in smooth_images(6, 48, seed=2024)]
    err, identity = _errors(tone(befores), befores)
    assert err < 2 * LEVEL, err * 255
    assert identity > 10 * LEVEL, identity * 255


def test_fast_mode_errs_no_more_than_declared(sample_host):
    """The figures of ToneTranslator.fast_mode_error (`imgtrans info tone`) come from these
    inputs, with the bundled weights at the default strength."""
    images = [sample_image(64, 64, seed=seed) for seed in range(4)]
    measured = measure_fast_mode("tone", images)
    assert measured.dtype == "bf16"
    assert measured.mean <= 0.1 and measured.max <= 1, measured


def test_recognises_only_tone_state_dicts(sample_host):
    from imgtrans_sketch.tone import ToneTranslator

    state = load_state_dict(SAMPLE / "imgtrans_sketch/weights/tone_warm/net.safetensors")
    assert ToneTranslator.recognises(state)
    assert ToneTranslator.recognises({"state_dict": {f"module.{k}": v for k, v in state.items()}})
    assert not ToneTranslator.recognises({**state, "extra.weight": torch.zeros(1)})
    assert not ToneTranslator.recognises({"tone_hidden.weight": torch.zeros(16, 4, 1, 1)})


def test_corrupted_bundle_is_refused(sample_host, tmp_path, monkeypatch):
    """A copy of the bundle in another package, one byte flipped: the sha256 check stops it."""
    from imgtrans.weights.cache import sha256_path
    from imgtrans_sketch.tone import ToneTranslator

    package = tmp_path / "tone_copy"
    shutil.copytree(SAMPLE / "imgtrans_sketch" / "weights", package / "weights")
    (package / "__init__.py").write_text("")
    monkeypatch.syspath_prepend(str(tmp_path))
    (spec,) = ToneTranslator.known_weights
    assert sha256_path(package / spec.file) == spec.sha256  # the copy is faithful...
    weights = package / spec.file / "net.safetensors"
    data = bytearray(weights.read_bytes())
    data[-1] ^= 0x01  # ...until one bit of a weight changes
    weights.write_bytes(bytes(data))
    monkeypatch.setattr(ToneTranslator, "known_weights",
                        (dataclasses.replace(spec, package="tone_copy"),))
    write_image(tmp_path / "a.png", np.full((8, 8, 3), 128, np.uint8))
    result = CliRunner().invoke(app, ["convert", str(tmp_path / "a.png"), str(tmp_path / "b.png"),
                                      "--plugin", "tone"])
    assert result.exit_code == 5, result.output
    assert "corrupt" in result.output and spec.sha256 in result.output
    assert not (tmp_path / "b.png").exists()


def test_training_learns_and_checkpoints_load_without_plugin(sample_host, tmp_path):
    _write_pairs(tmp_path / "data" / "train", count=16, size=32, seed=7)
    heldout = _write_pairs(tmp_path / "heldout", count=4, size=32, seed=8)
    losses: list[float] = []
    imgtrans.train("tone", tmp_path / "data", tmp_path / "run", options={"load_size": 32},
                   max_steps=40, batch_size=4, device="cpu",
                   on_progress=lambda p: losses.append(p.losses["rms"]))
    assert len(losses) == 40
    assert np.mean(losses[-5:]) < 0.5 * np.mean(losses[:5]), losses

    # The run folder names its translator: no --plugin needed.
    _invoke("convert", str(tmp_path / "heldout" / "A"), str(tmp_path / "out"),
            "--weights", str(tmp_path / "run"), "--device", "cpu")
    outputs = [read_image(tmp_path / "out" / f"{i:02d}.png").pixels for i in range(len(heldout))]
    err, identity = _errors(outputs, heldout)
    assert err < 0.5 * identity, (err * 255, identity * 255)

    # A bare weights file is recognised by its keys: no --plugin either, same result.
    shutil.copyfile(tmp_path / "run" / "checkpoints" / "latest" / "net.safetensors",
                    tmp_path / "tone.safetensors")
    _invoke("convert", str(tmp_path / "heldout" / "A"), str(tmp_path / "out-file"),
            "--weights", str(tmp_path / "tone.safetensors"), "--device", "cpu")
    for i in range(len(heldout)):
        assert np.array_equal(read_image(tmp_path / "out-file" / f"{i:02d}.png").pixels, outputs[i])


def test_resume_continues_exactly(sample_host, tmp_path):
    """Stopped mid-epoch and resumed, a run ends with the weights of one that never stopped."""
    _write_pairs(tmp_path / "data", count=16, size=32, seed=9)
    data, stopped, straight = (str(tmp_path / name) for name in ("data", "stopped", "straight"))
    settings = ["--batch-size", "4", "--device", "cpu"]  # 4 batches per epoch
    _invoke("train", "tone", data, "--out", stopped, "--opt", "load_size=32", *settings,
            "--max-steps", "10")
    assert read_checkpoint(stopped).step == 10
    _invoke("train", "tone", data, "--out", stopped, "--resume", *settings, "--max-steps", "24")
    _invoke("train", "tone", data, "--out", straight, "--opt", "load_size=32", *settings,
            "--max-steps", "24")
    resumed, uninterrupted = read_checkpoint(stopped), read_checkpoint(straight)
    assert resumed.step == uninterrupted.step == 24
    for key, value in uninterrupted.state_dict("net").items():
        assert torch.equal(resumed.state_dict("net")[key], value), key
