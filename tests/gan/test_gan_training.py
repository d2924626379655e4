"""pix2pix and CycleGAN training on tiny generated data: the loss falls, a run resumes
exactly, checkpoints load in convert and export to the reference layout, bad data is caught."""

from __future__ import annotations

import sys

import cv2
import numpy as np
import pytest
import torch
from typer.testing import CliRunner

import imgtrans
from imgtrans.cli import app
from imgtrans.checkpoints import find_checkpoint, read_checkpoint
from imgtrans.errors import UsageError
from imgtrans_testenv import ROOT

sys.path.insert(0, str(ROOT / "samples"))
import make_gan_datasets  # noqa: E402

TINY_P2P = {"depth": 5, "ngf": 8, "ndf": 8, "load_size": 36, "crop_size": 32,
            "n_epochs": 2, "n_epochs_decay": 2}
TINY_CG = {"n_blocks": 2, "ngf": 8, "ndf": 8, "load_size": 36, "crop_size": 32,
           "n_epochs": 2, "n_epochs_decay": 2, "pool_size": 3}


@pytest.fixture(scope="module")
def datasets(tmp_path_factory):
    root = tmp_path_factory.mktemp("data")
    make_gan_datasets.make_facades(root / "facades", 32, 6, 2, seed=0)
    make_gan_datasets.make_day2night(root / "day2night", 32, 4, 2, seed=0)
    return root


def _weights(run):
    checkpoint = read_checkpoint(run)
    return {name: checkpoint.state_dict(name) for name in checkpoint.networks}


def test_pix2pix_loss_falls(host, datasets, tmp_path):
    losses = []
    imgtrans.train("pix2pix", datasets / "facades", tmp_path / "run",
                   options={**TINY_P2P, "lr": 2e-3, "n_epochs": 10, "n_epochs_decay": 0},
                   max_steps=36, batch_size=2, on_progress=lambda p: losses.append(p.losses["G_L1"]))
    assert len(losses) == 30  # 3 batches per epoch x 10 epochs
    assert np.mean(losses[-6:]) < 0.8 * np.mean(losses[:3])


@pytest.mark.parametrize("plugin, data, options", [("pix2pix", "facades", TINY_P2P),
                                                   ("cyclegan", "day2night", TINY_CG)])
def test_resume_continues_exactly(host, datasets, tmp_path, plugin, data, options):
    imgtrans.train(plugin, datasets / data, tmp_path / "straight", options=options, max_steps=7, seed=3)
    imgtrans.train(plugin, datasets / data, tmp_path / "split", options=options, max_steps=3, seed=3)
    imgtrans.train(plugin, datasets / data, tmp_path / "split", max_steps=7, seed=3, resume=True)
    straight, split = _weights(tmp_path / "straight"), _weights(tmp_path / "split")
    assert straight.keys() == split.keys()
    for name in straight:
        assert all(torch.equal(straight[name][k], split[name][k]) for k in straight[name]), name
    saved = read_checkpoint(tmp_path / "split", plugin)
    assert saved.step == 7 and saved.format_version == 2
    assert saved.options == {**saved.options, **options}
    expected = ["G", "D"] if plugin == "pix2pix" else ["G_A", "G_B", "D_A", "D_B"]
    assert list(saved.networks) == expected and all(saved.networks.values())


def test_trained_checkpoint_converts_and_exports_to_the_reference_layout(host, datasets, tmp_path):
    run = tmp_path / "run"
    result = CliRunner().invoke(app, ["train", "pix2pix", str(datasets / "facades"), "--out", str(run),
                                      "--max-steps", "2", *sum((["--opt", f"{k}={v}"] for k, v in TINY_P2P.items()), [])])
    assert result.exit_code == 0, result.output
    assert (run / "run.json").is_file() and (run / "checkpoints" / "latest" / "imgtrans.json").is_file()
    test_dir = datasets / "facades" / "test"
    common = ["--plugin", "pix2pix", "--opt", "aligned=true", "--opt", "eval=true"]
    assert CliRunner().invoke(app, ["convert", str(test_dir), str(tmp_path / "a"), "--weights", str(run), *common]).exit_code == 0
    exported = CliRunner().invoke(app, ["export", "pix2pix", str(run), str(tmp_path / "ref")])
    assert exported.exit_code == 0, exported.output
    assert sorted(p.name for p in (tmp_path / "ref").iterdir()) == ["latest_net_D.pth", "latest_net_G.pth"]
    assert CliRunner().invoke(app, ["convert", str(test_dir), str(tmp_path / "b"), "--weights",
                                    str(tmp_path / "ref" / "latest_net_G.pth"), *common]).exit_code == 0
    for name in ("0000.png", "0001.png"):
        a, b = cv2.imread(str(tmp_path / "a" / name)), cv2.imread(str(tmp_path / "b" / name))
        assert a.shape == (32, 32, 3) and np.array_equal(a, b)


def test_cyclegan_run_folder_serves_both_directions(host, datasets, tmp_path):
    imgtrans.train("cyclegan", datasets / "day2night", tmp_path / "run", options=TINY_CG, max_steps=2)
    image = cv2.cvtColor(cv2.imread(str(datasets / "day2night" / "testA" / "0000.png")), cv2.COLOR_BGR2RGB)
    a = imgtrans.load("cyclegan", tmp_path / "run", options={"direction": "AtoB"})(image)
    b = imgtrans.load("cyclegan", tmp_path / "run", options={"direction": "BtoA"})(image)
    assert a.shape == b.shape == image.shape and not np.array_equal(a, b)


def test_bad_training_data_stops_or_is_skipped(host, tmp_path):
    data = tmp_path / "pairs"
    for side in ("A", "B"):
        (data / side).mkdir(parents=True)
    for name in ("x", "y"):
        for side in ("A", "B"):
            cv2.imwrite(str(data / side / f"{name}.png"), np.full((32, 32, 3), 100, np.uint8))
    cv2.imwrite(str(data / "A" / "lonely.png"), np.zeros((32, 32, 3), np.uint8))
    (data / "B" / "broken.png").write_bytes(b"not a png")
    cv2.imwrite(str(data / "A" / "broken.png"), np.zeros((32, 32, 3), np.uint8))
    cv2.imwrite(str(data / "A" / "big.png"), np.zeros((40, 40, 3), np.uint8))
    cv2.imwrite(str(data / "B" / "big.png"), np.zeros((32, 32, 3), np.uint8))
    with pytest.raises(UsageError) as exc:
        imgtrans.train("pix2pix", data, tmp_path / "stop", options=TINY_P2P, max_steps=1)
    message = str(exc.value)
    assert "lonely.png: no matching file" in message and "broken.png" in message and "differs" in message
    assert not (tmp_path / "stop" / "checkpoints").exists()
    last = imgtrans.train("pix2pix", data, tmp_path / "skip", options=TINY_P2P, max_steps=1, on_bad_data="skip")
    assert find_checkpoint(last) == last
    result = CliRunner().invoke(app, ["train", "pix2pix", str(data), "--out", str(tmp_path / "cli"), "--max-steps", "1"])
    assert result.exit_code == 3 and "lonely.png" in result.output  # data errors exit 3
