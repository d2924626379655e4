"""Training on two CPU processes with ``torchrun`` (gloo, loopback only): built-in
translators train, rank 0 alone writes, checkpoints convert with no --plugin, a 2-process run
resumes on one process, and a third-party translator with no code for it trains on the same
items per step as one process with twice the batch, resuming on two processes."""

from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch
from typer.testing import CliRunner

import imgtrans
from imgtrans.checkpoints import read_checkpoint
from imgtrans.cli import app
from imgtrans.training.distributed import Processes, epoch_batches
from imgtrans_testenv import ROOT, subprocess_env

sys.path.insert(0, str(ROOT / "samples"))
import make_gan_datasets  # noqa: E402
import make_sr_dataset  # noqa: E402

HERE = Path(__file__).resolve().parent
P2P = {"depth": 5, "ngf": 8, "ndf": 8, "load_size": 36, "crop_size": 32, "lr": 2e-3}
SR = {"num_feat": 8, "num_block": 2, "crop_size": 32, "lr": 2e-3}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def torchrun(args: list, processes: int = 2, timeout: float = 300) -> subprocess.CompletedProcess:
    """``torchrun --nproc-per-node N -m imgtrans ARGS`` on the loopback interface only."""
    env = subprocess_env(IMGTRANS_PLUGINS="imgtrans_tally", OMP_NUM_THREADS="1")
    env["PYTHONPATH"] = os.pathsep.join([str(HERE), env["PYTHONPATH"]])
    if Path("/sys/class/net/lo").exists():
        env["GLOO_SOCKET_IFNAME"] = "lo"
    command = [sys.executable, "-m", "torch.distributed.run", "--nproc-per-node", str(processes),
               "--master-addr", "127.0.0.1", "--master-port", str(_free_port()),
               "-m", "imgtrans", *map(str, args)]
    done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=timeout)
    assert done.returncode == 0, done.stderr[-3000:]
    return done


def _opts(options: dict) -> list[str]:
    return [arg for key, value in options.items() for arg in ("--opt", f"{key}={value}")]


def _first_and_last_losses(stderr: str, name: str) -> tuple[float, float]:
    """The loss of step 1 and the mean since the previous line, from the plain progress lines."""
    values = [float(v) for v in re.findall(rf"^step \d+/\d+ epoch \S+ .*\b{name} (\S+)", stderr, re.M)]
    assert len(values) >= 2, stderr
    return values[0], values[-1]


@pytest.fixture(scope="module")
def datasets(tmp_path_factory):
    root = tmp_path_factory.mktemp("data")
    make_gan_datasets.make_facades(root / "facades", 32, 8, 2, seed=0)
    rng = np.random.default_rng(0)
    (root / "hr").mkdir()
    for i in range(8):
        cv2.imwrite(str(root / "hr" / f"{i}.png"), make_sr_dataset.render(rng, 64))
    return root


def test_each_step_covers_the_items_of_one_process_with_the_whole_batch():
    for items, batch, world in ((10, 2, 2), (13, 1, 4), (9, 3, 3), (8, 4, 2)):
        for epoch in range(3):
            whole = epoch_batches(items, batch * world, Processes(), seed=5, epoch=epoch)
            shares = [epoch_batches(items, batch, Processes(rank, world), seed=5, epoch=epoch)
                      for rank in range(world)]
            assert len(whole) == items // (batch * world)
            for step, items_of_step in enumerate(whole):
                parts = [share[step] for share in shares]
                assert all(len(part) == batch for part in parts)
                assert sorted(i for part in parts for i in part) == sorted(items_of_step)


@pytest.mark.parametrize("plugin, data, options, loss", [("pix2pix", "facades", P2P, "G_L1"),
                                                         ("srgan", "hr", SR, "mse")])
def test_two_processes_train_write_once_convert_and_resume_on_one(host, datasets, tmp_path,
                                                                   plugin, data, options, loss):
    run = tmp_path / "run"
    done = torchrun(["train", plugin, datasets / data, "--out", run, "--max-steps", 12,
                     "--device", "cpu", *_opts(options)])
    first, later = _first_and_last_losses(done.stderr, loss)
    assert later < 0.8 * first, done.stderr
    assert done.stdout.count("checkpoint:") == 1 and "Traceback" not in done.stderr
    record = json.loads((run / "run.json").read_text())
    assert record["world_size"] == 2 and record["settings"]["batch_size"] == 1
    assert record["translator"] == plugin and record["options"]["crop_size"] == 32
    names = sorted(p.relative_to(run).as_posix() for p in run.rglob("*"))
    assert not [n for n in names if "/." in n or n.startswith(".")], names  # no staging leftovers
    assert (run / "samples" / "epoch_0001.png").is_file()  # 8 items, 2 a step: 4 steps an epoch
    assert cv2.imread(str(run / "samples" / "epoch_0003.png")) is not None
    assert read_checkpoint(run, plugin).step == 12

    test = tmp_path / "in"
    test.mkdir()
    cv2.imwrite(str(test / "x.png"), np.full((32, 32, 3), 90, np.uint8))
    converted = CliRunner().invoke(app, ["convert", str(test), str(tmp_path / "out"), "--weights", str(run)])
    assert converted.exit_code == 0, converted.output
    assert (tmp_path / "out" / "x.png").is_file()

    # one process takes over with the batch of both (2 items a step)
    imgtrans.train(plugin, None, run, resume=True, max_steps=14, device="cpu")
    record = json.loads((run / "run.json").read_text())
    assert record["world_size"] == 1 and record["settings"]["batch_size"] == 2
    assert read_checkpoint(run, plugin).step == 14


def test_a_third_party_translator_sees_the_items_and_gets_the_weights_of_one_process(
        register_plugin, tmp_path):
    import imgtrans_tally

    register_plugin(imgtrans_tally, "imgtrans_tally")
    (tmp_path / "two").mkdir()
    (tmp_path / "one").mkdir()
    split = ["train", "tally", tmp_path, "--out", tmp_path / "run2", "--device", "cpu",
             "--batch-size", 2, "--opt", f"record={tmp_path / 'two'}"]
    torchrun([*split, "--max-steps", 3])  # 10 items, 4 a step: stops inside epoch 2
    torchrun(["train", "tally", "--out", tmp_path / "run2", "--resume", "--max-steps", 5])
    imgtrans.train("tally", tmp_path, tmp_path / "run1", batch_size=4, max_steps=5, device="cpu",
                   options={"record": str(tmp_path / "one")})

    def steps(folder: Path, rank: int) -> list[list[int]]:
        return [json.loads(line)["items"] for line in (folder / f"rank{rank}.jsonl").read_text().splitlines()]

    alone, rank0, rank1 = steps(tmp_path / "one", 0), steps(tmp_path / "two", 0), steps(tmp_path / "two", 1)
    assert len(alone) == len(rank0) == len(rank1) == 5
    for step in range(5):
        assert sorted(rank0[step] + rank1[step]) == alone[step], step
        assert len(rank0[step]) == len(rank1[step]) == 2
    two, one = read_checkpoint(tmp_path / "run2"), read_checkpoint(tmp_path / "run1")
    assert two.step == one.step == 5
    for key, value in one.state_dict("net").items():
        torch.testing.assert_close(two.state_dict("net")[key], value, rtol=1e-5, atol=1e-6)
