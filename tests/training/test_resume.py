"""``--resume`` continues a run as it was started (limits, batch, seed, options, data from
run.json), a finished run says so, a failed start leaves nothing behind, and progress knows
its totals before the first step."""

from __future__ import annotations

import json
import sys

import pytest
import torch
from typer.testing import CliRunner

import imgtrans
from imgtrans.checkpoints import read_checkpoint
from imgtrans.cli import app
from imgtrans.errors import UsageError
from imgtrans_testenv import ROOT

sys.path.insert(0, str(ROOT / "samples"))
import make_gan_datasets  # noqa: E402

P2P = {"depth": 5, "ngf": 8, "ndf": 8, "load_size": 36, "crop_size": 32}


@pytest.fixture
def tally(register_plugin):
    import imgtrans_tally

    register_plugin(imgtrans_tally, "imgtrans_tally")


def _cli(*args):
    return CliRunner().invoke(app, [str(a) for a in args])


def _stop_after(steps: int):
    seen = []
    return {"on_progress": seen.append, "should_stop": lambda: len(seen) >= steps}


def _same_weights(a, b):
    first, second = read_checkpoint(a), read_checkpoint(b)
    for name in first.networks:
        for key, value in first.state_dict(name).items():
            assert torch.equal(second.state_dict(name)[key], value), (name, key)


def test_an_interrupted_run_resumes_to_its_own_limit_with_the_same_weights(host, tmp_path):
    data = tmp_path / "facades"
    make_gan_datasets.make_facades(data, 32, 4, 1, seed=0)
    common = {"options": P2P, "max_steps": 6, "batch_size": 2, "seed": 4}
    imgtrans.train("pix2pix", data, tmp_path / "straight", **common)
    imgtrans.train("pix2pix", data, tmp_path / "split", **common, **_stop_after(3))
    assert read_checkpoint(tmp_path / "split").step == 3
    result = _cli("train", "pix2pix", "--out", tmp_path / "split", "--resume")  # no other flag
    assert result.exit_code == 0, result.output
    assert "step 6/6" in result.output and read_checkpoint(tmp_path / "split").step == 6
    _same_weights(tmp_path / "straight", tmp_path / "split")


def test_a_resumed_run_keeps_its_epochs_batch_seed_and_options(tally, tmp_path):
    run = tmp_path / "run"  # 10 items, batch 2: 5 steps an epoch
    imgtrans.train("tally", tmp_path, run, epochs=2, batch_size=2, seed=3, options={"lr": 0.05},
                   **_stop_after(3))
    starts = []
    imgtrans.train("tally", None, run, resume=True, on_start=starts.append)
    assert (starts[0].step, starts[0].total_steps, starts[0].epochs) == (3, 10, 2)
    assert read_checkpoint(run).step == 10  # not the translator's 3 epochs

    result = _cli("train", "tally", tmp_path / "elsewhere", "--out", run, "--resume", "--batch-size", 4,
                  "--seed", 1, "--opt", "lr=0.2", "--opt", "items=10", "--max-steps", 12)
    assert result.exit_code == 2
    for expected in ("--batch-size 4: this run was started with --batch-size 2",
                     "--seed 1: this run was started with --seed 3", "lr=0.05",
                     "DATA", "this run trains on"):
        assert expected in result.output, result.output
    assert "items=10" not in result.output  # the same value again is fine
    assert "Traceback" not in result.output

    result = _cli("train", "tally", tmp_path, "--out", run, "--resume", "--batch-size", 2,
                  "--seed", 3, "--opt", "lr=0.05", "--epochs", 3)  # the same values, one more epoch
    assert result.exit_code == 0, result.output
    assert "resuming with --epochs 3" in result.output
    assert read_checkpoint(run).step == 15
    assert json.loads((run / "run.json").read_text())["settings"]["epochs"] == 3


def test_resuming_a_finished_run_says_so_and_changes_nothing(tally, tmp_path):
    last = imgtrans.train("tally", tmp_path, tmp_path / "run", max_steps=4)
    before = {p: p.stat().st_mtime_ns for p in (tmp_path / "run").rglob("*")}
    result = _cli("train", "tally", "--out", tmp_path / "run", "--resume")
    assert result.exit_code == 0, result.output
    assert "already finished" in result.output and f"checkpoint: {last}" in result.output
    assert {p: p.stat().st_mtime_ns for p in (tmp_path / "run").rglob("*")} == before


def test_a_failed_start_leaves_no_run_and_trying_again_works(tally, tmp_path, monkeypatch):
    import imgtrans_tally

    def crash(self, batch):
        raise RuntimeError("out of memory, say")

    run = tmp_path / "run"
    with monkeypatch.context() as patch:
        patch.setattr(imgtrans_tally.TallyTask, "train_step", crash)
        with pytest.raises(RuntimeError):
            imgtrans.train("tally", tmp_path, run, max_steps=2)
    assert not run.exists()
    with pytest.raises(UsageError, match="no run here"):
        imgtrans.train("tally", tmp_path, run, resume=True)
    assert imgtrans.train("tally", tmp_path, run, max_steps=2) == run / "checkpoints" / "latest"

    # a folder an older imgtrans left after a failed start: run.json but no checkpoint
    old = tmp_path / "old"
    old.mkdir()
    (old / "run.json").write_text(json.dumps({"translator": "tally", "settings": {}}))
    result = _cli("train", "tally", "--out", old, "--resume")
    assert result.exit_code == 2 and "start it again without --resume" in result.output
    assert _cli("train", "tally", tmp_path, "--out", old, "--max-steps", 1).exit_code == 0


def test_progress_has_its_totals_before_the_first_step(tally, tmp_path):
    starts, steps = [], []
    imgtrans.train("tally", tmp_path, tmp_path / "run", max_steps=12, batch_size=2,
                   on_start=starts.append, on_progress=steps.append)
    assert [(p.step, p.total_steps, p.epoch, p.epochs) for p in starts] == [(0, 12, 1, 3)]
    assert [(p.step, p.epoch) for p in steps][-3:] == [(10, 2), (11, 3), (12, 3)]
    assert all(p.total_steps == 12 and p.epochs == 3 for p in steps)
