"""The srgan translator beyond Real-ESRGAN parity: tiling, naming equivalence through the
CLI, training (loss falls, resume, convert), evaluation against bicubic."""

from __future__ import annotations

import json
import sys

import cv2
import numpy as np
import torch
from typer.testing import CliRunner

import imgtrans
from imgtrans.cli import app
from imgtrans.checkpoints import read_checkpoint
from imgtrans_srgan.archs import RRDBNet, SRVGGNetCompact
from imgtrans_testenv import ROOT

sys.path.insert(0, str(ROOT / "samples"))
import make_sr_dataset  # noqa: E402


def run(*args):
    return CliRunner().invoke(app, [str(a) for a in args])


def _image(path, h, w, seed=0):
    rng = np.random.default_rng(seed)
    img = cv2.resize(rng.integers(0, 256, (h // 3, w // 3, 3), dtype=np.uint8), (w, h),
                     interpolation=cv2.INTER_CUBIC)
    path.parent.mkdir(parents=True, exist_ok=True)
    cv2.imwrite(str(path), img)


def test_tiled_equals_untiled_when_the_pad_covers_the_receptive_field(host, tmp_path):
    torch.manual_seed(0)
    net = SRVGGNetCompact(3, 3, num_feat=8, num_conv=2, upscale=4)  # 4 convs: receptive radius 4
    torch.save({"params": net.state_dict()}, tmp_path / "m.pth")
    _image(tmp_path / "in" / "a.png", 45, 61)
    common = ["--plugin", "srgan", "--weights", tmp_path / "m.pth"]
    assert run("convert", tmp_path / "in", tmp_path / "whole", *common).exit_code == 0
    assert run("convert", tmp_path / "in", tmp_path / "tiled", *common, "--tile", 16, "--tile-pad", 4).exit_code == 0
    assert run("convert", tmp_path / "in", tmp_path / "seams", *common, "--tile", 16, "--tile-pad", 0).exit_code == 0
    whole, tiled, seams = (cv2.imread(str(tmp_path / d / "a.png")) for d in ("whole", "tiled", "seams"))
    assert whole.shape == (180, 244, 3)
    assert np.array_equal(whole, tiled)
    assert not np.array_equal(whole, seams)  # like Real-ESRGAN's tiles without context


def test_old_and_new_esrgan_naming_give_identical_files(host, tmp_path):
    torch.manual_seed(1)
    net = RRDBNet(3, 3, scale=4, num_feat=8, num_block=2, num_grow_ch=4)
    new = net.state_dict()
    old = {}
    for key, value in new.items():  # basicsr -> original ESRGAN "model.N" naming
        parts = key.split(".")
        if parts[0] == "body":
            old[f"model.1.sub.{parts[1]}.RDB{parts[2][3:]}.{parts[3]}.0.{parts[4]}"] = value
        else:
            index = {"conv_first": 0, "conv_body": None, "conv_up1": 3, "conv_up2": 6, "conv_hr": 8, "conv_last": 10}[parts[0]]
            prefix = "model.1.sub.2" if index is None else f"model.{index}"
            old[f"{prefix}.{parts[1]}"] = value
    torch.save({"params_ema": new}, tmp_path / "new.pth")
    torch.save(old, tmp_path / "old.pth")
    _image(tmp_path / "in" / "a.png", 20, 24)
    for name in ("new", "old"):
        assert run("convert", tmp_path / "in", tmp_path / name, "--plugin", "srgan", "--weights",
                   tmp_path / f"{name}.pth").exit_code == 0
    assert np.array_equal(cv2.imread(str(tmp_path / "new" / "a.png")), cv2.imread(str(tmp_path / "old" / "a.png")))


def test_training_lowers_the_loss_resumes_and_converts(host, tmp_path):
    data = tmp_path / "hr"
    rng = np.random.default_rng(0)
    data.mkdir()
    for i in range(6):
        cv2.imwrite(str(data / f"{i}.png"), make_sr_dataset.render(rng, 64))
    options = {"num_feat": 8, "num_block": 2, "crop_size": 32, "lr": 2e-3, "n_epochs": 20}
    losses = []
    imgtrans.train("srgan", data, tmp_path / "run", options=options, batch_size=3, max_steps=20,
                   on_progress=lambda p: losses.append(p.losses["mse"]))
    assert np.mean(losses[-4:]) < 0.7 * np.mean(losses[:2])
    imgtrans.train("srgan", data, tmp_path / "split", options=options, batch_size=3, max_steps=7)
    imgtrans.train("srgan", data, tmp_path / "split", batch_size=3, max_steps=20, resume=True)
    a = read_checkpoint(tmp_path / "run", "srgan").state_dict("G")
    b = read_checkpoint(tmp_path / "split", "srgan").state_dict("G")
    assert all(torch.equal(a[k], b[k]) for k in a)
    _image(tmp_path / "in" / "x.png", 16, 20)
    assert run("convert", tmp_path / "in", tmp_path / "out", "--plugin", "srgan", "--weights", tmp_path / "run").exit_code == 0
    assert cv2.imread(str(tmp_path / "out" / "x.png")).shape == (64, 80, 3)


def test_gan_phase_runs_from_an_mse_run_with_the_documented_fallback_loss(host, tmp_path, caplog):
    data = tmp_path / "hr"
    data.mkdir()
    rng = np.random.default_rng(1)
    for i in range(4):
        cv2.imwrite(str(data / f"{i}.png"), make_sr_dataset.render(rng, 64))
    base = {"num_feat": 8, "num_block": 1, "crop_size": 64, "n_epochs": 2}
    imgtrans.train("srgan", data, tmp_path / "mse", options=base, batch_size=2, max_steps=2)
    with caplog.at_level("WARNING"):
        last = imgtrans.train("srgan", data, tmp_path / "gan", batch_size=2, max_steps=2,
                              options={**base, "phase": "gan", "init": str(tmp_path / "mse")})
    assert "falls back to pixel MSE" in caplog.text
    saved = read_checkpoint(last, "srgan")
    assert saved.networks["D"] == {} and saved.networks["G"]["num_block"] == 1
    assert saved.options["phase"] == "gan"


def test_eval_reports_model_and_bicubic(host, tmp_path):
    torch.manual_seed(0)
    net = SRVGGNetCompact(3, 3, num_feat=8, num_conv=1, upscale=4)
    for p in net.parameters():
        p.data.zero_()  # the global residual alone: nearest-neighbour upscaling
    torch.save(net.state_dict(), tmp_path / "nearest.pth")
    rng = np.random.default_rng(2)
    (tmp_path / "hr").mkdir()
    for i in range(2):
        cv2.imwrite(str(tmp_path / "hr" / f"{i}.png"), make_sr_dataset.render(rng, 64))
    result = run("eval", tmp_path / "sr", tmp_path / "hr", "--plugin", "srgan", "--weights",
                 tmp_path / "nearest.pth", "--metrics", "psnr,bicubic", "--json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["settings"]["downscale"] == 4  # the model's scale
    assert 10 < data["mean"]["psnr"] < data["measures"]["bicubic_psnr"] < 60  # nearest loses to bicubic
