"""``imgtrans demo`` end to end on the shipped samples: one sheet row per translator, the
super-resolution PSNR it prints checked against an independent computation, and samples
found from any working directory (or a clear error naming ``--samples``)."""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
import tomllib
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch
import torch.nn.functional as F
from typer.testing import CliRunner

from imgtrans.cli import app
from imgtrans_testenv import ROOT, subprocess_env

BUILTIN = ["cyclegan", "layout2im", "pix2pix", "resize", "sdedit", "srgan"]
VIDEO_ROWS = 2 if importlib.util.find_spec("av") else 0  # the clip before and after (demo_video.py)


def _rgb(path) -> np.ndarray:
    return cv2.cvtColor(cv2.imread(str(path), cv2.IMREAD_COLOR), cv2.COLOR_BGR2RGB)


def _psnr_y(a: np.ndarray, b: np.ndarray, border: int) -> float:
    """Independent of imgtrans: MATLAB rgb2ycbcr Y in numpy float64, border cropped."""
    def y(rgb):
        rgb = rgb.astype(np.float64) / 255.0
        return 16.0 + 65.481 * rgb[..., 0] + 128.553 * rgb[..., 1] + 24.966 * rgb[..., 2]

    diff = (y(a) - y(b))[border:-border, border:-border]
    return float(10.0 * np.log10(255.0 ** 2 / np.mean(diff ** 2)))


@pytest.fixture(scope="module")
def demo_run(tmp_path_factory):
    """All built-in translators, one sample each (the tests share this run)."""
    out = tmp_path_factory.mktemp("demo")
    torch.set_num_threads(2)
    result = CliRunner().invoke(app, ["demo", "--output", str(out), "--limit", "1", "--device", "cpu",
                                      "--translators", ",".join(BUILTIN)])
    assert result.exit_code == 0, result.output
    return out, result.output, json.loads((out / "demo.json").read_text())


def test_contact_sheet_has_one_row_per_translator(demo_run):
    from imgtrans.core.contact_sheet import sheet_size

    out, _, facts = demo_run
    assert [t["name"] for t in facts["translators"]] == BUILTIN
    assert all(not t.get("error") and len(t["samples"]) == 1 for t in facts["translators"])
    sheet = _rgb(out / "contact_sheet.png")
    # srgan's row: input, bicubic, model, truth; rows are at least one line of each text high
    # (more where a description or caption wraps), at most a few lines more
    rows = len(BUILTIN) + VIDEO_ROWS
    smallest, widest = sheet_size(rows, 4)
    assert sheet.shape[1] == widest <= 1000  # readable without scaling on a 1000 px wide screen
    assert smallest <= sheet.shape[0] <= smallest + rows * 4 * 20
    for name in BUILTIN:
        one = _rgb(out / "sheets" / f"{name}.png")
        assert one.shape[1] == widest and sheet_size(1, 4)[0] <= one.shape[0] <= sheet_size(1, 4)[0] + 4 * 20
        assert Path(facts["translators"][BUILTIN.index(name)]["samples"][0]["output"]).is_file()


def test_layout_row_shows_the_layout_and_several_samples_of_it(demo_run):
    from imgtrans.cli.demo import LAYOUT_SAMPLES, LAYOUT_SCALE

    _, _, facts = demo_run
    (sample,) = facts["translators"][BUILTIN.index("layout2im")]["samples"]
    images = [_rgb(path) for path in sample["outputs"]]
    assert sample["output"] == sample["outputs"][0] and len(images) == LAYOUT_SAMPLES
    assert {image.shape for image in images} == {(64 * LAYOUT_SCALE, 64 * LAYOUT_SCALE, 3)}
    for a, b in zip(images, images[1:]):  # one layout, other codes: visibly other images
        assert np.abs(a.astype(int) - b.astype(int)).mean() > 4


def test_main_sheet_features_the_busiest_layout(tmp_path):
    result = CliRunner().invoke(app, ["demo", "--output", str(tmp_path), "--device", "cpu",
                                      "--translators", "layout2im"])
    assert result.exit_code == 0, result.output
    (facts,) = json.loads((tmp_path / "demo.json").read_text())["translators"]
    counts = [len(json.loads(Path(s["input"]).read_text())["objects"]) for s in facts["samples"]]
    assert len(counts) > 1 and counts == [s["objects"] for s in facts["samples"]]
    assert counts[facts["featured"]] == max(counts) > min(counts)


def test_sr_psnr_matches_an_independent_computation(demo_run):
    _, output, facts = demo_run
    sr = facts["translators"][BUILTIN.index("srgan")]
    sample = sr["samples"][0]
    scores = sample["psnr"]
    truth = _rgb(scores["truth"])
    lr = _rgb(sample["input"])
    model = _rgb(sample["output"])
    assert model.shape == truth.shape == (lr.shape[0] * 4, lr.shape[1] * 4, 3)
    lr_t = torch.from_numpy(lr).permute(2, 0, 1)[None].double() / 255.0
    bicubic = F.interpolate(lr_t, size=truth.shape[:2], mode="bicubic", align_corners=False).clamp(0, 1)
    bicubic = (bicubic * 255).round()[0].permute(1, 2, 0).numpy().astype(np.uint8)
    assert scores["bicubic"] == pytest.approx(_psnr_y(bicubic, truth, 4), abs=0.02)
    assert scores["model"] == pytest.approx(_psnr_y(model, truth, 4), abs=1e-6)
    assert (f"bicubic {scores['bicubic']:.2f} dB, {sr['weights']} {scores['model']:.2f} dB"
            in " ".join(output.split()))


def test_demo_runs_from_another_directory(tmp_path):
    result = subprocess.run([sys.executable, "-m", "imgtrans", "demo", "-t", "srgan", "--limit", "1",
                             "--device", "cpu", "--output", "out"], cwd=tmp_path, env=subprocess_env(),
                            capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr
    assert "PSNR (Y, border 4)" in result.stdout
    facts = json.loads((tmp_path / "out" / "demo.json").read_text())
    assert Path(facts["samples"]) == ROOT / "samples"
    assert (tmp_path / "out" / "contact_sheet.png").is_file()


def test_missing_samples_suggest_the_option(tmp_path, monkeypatch):
    import imgtrans
    from imgtrans.cli.demo import find_samples
    from imgtrans.errors import UsageError

    fake = tmp_path / "site" / "imgtrans"
    fake.mkdir(parents=True)
    monkeypatch.setattr(imgtrans, "__file__", str(fake / "__init__.py"))
    with pytest.raises(UsageError, match="--samples"):
        find_samples(None)
    (fake / "_samples" / "images").mkdir(parents=True)  # a wheel's copy wins
    assert find_samples(None) == fake / "_samples"
    result = CliRunner().invoke(app, ["demo", "--samples", str(tmp_path / "nowhere"), "-o", str(tmp_path / "o")])
    assert result.exit_code != 0 and "--samples" in result.output


def test_unknown_translator_is_a_usage_error(tmp_path):
    result = CliRunner().invoke(app, ["demo", "-t", "nosuch", "-o", str(tmp_path)])
    assert result.exit_code != 0 and "nosuch" in result.output


def test_wheel_ships_every_sample_folder():
    """pyproject force-includes each sample folder the demo reads into imgtrans/_samples."""
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())
    shipped = config["tool"]["hatch"]["build"]["targets"]["wheel"]["force-include"]
    needed = {p.name for p in (ROOT / "samples").iterdir()
              if p.is_dir() and (p.name in ("images", "video") or p.name in BUILTIN)}
    assert {f"samples/{n}": f"imgtrans/_samples/{n}" for n in sorted(needed)}.items() <= shipped.items()
