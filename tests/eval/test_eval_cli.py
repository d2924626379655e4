"""``imgtrans eval``: the same paired figures as ``score``, set metrics with a real (tiny)
feature network, metrics that cannot run, outputs made first, HTML, the old SR form."""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch
from typer.testing import CliRunner

from imgtrans.cli import app
from imgtrans.eval import distribution
from imgtrans.eval.generate import bicubic_upscale, downscale
from imgtrans.eval.metrics import crop_border, psnr, rgb_to_y, ssim


def _write(path: Path, rgb: np.ndarray) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    assert cv2.imwrite(str(path), cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR))
    return path


def _smooth(seed: int, h: int = 48, w: int = 56) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return cv2.GaussianBlur(rng.integers(0, 256, (h, w, 3)).astype(np.uint8), (7, 7), 2)


def run(*args):
    return CliRunner().invoke(app, [str(a) for a in args])


def run_json(*args):
    result = run(*args, "--json")
    return result, (json.loads(result.stdout) if result.stdout.strip() else None)


class TinyFeatures(torch.nn.Module):
    """Channel means and spreads: a feature network small enough for tests, sensitive to
    brightness and contrast, so a shifted set moves away."""

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        x = images.double() / 255
        return torch.cat([x.mean((2, 3)), x.std((2, 3))], dim=1)


@pytest.fixture
def folders(tmp_path):
    """out/ and tgt/ with 6 noisy pairs, and shifted/ (the targets brightened)."""
    rng = np.random.default_rng(5)
    for i in range(6):
        target = _smooth(i)
        noisy = np.clip(target.astype(int) + rng.integers(-10, 11, target.shape), 0, 255).astype(np.uint8)
        _write(tmp_path / "tgt" / f"{i}.png", target)
        _write(tmp_path / "out" / f"{i}.png", noisy)
        _write(tmp_path / "shifted" / f"{i}.png", np.clip(target.astype(int) + 60, 0, 255).astype(np.uint8))
    return tmp_path


def test_eval_and_score_give_the_same_paired_figures(folders):
    _, evaluated = run_json("eval", folders / "out", folders / "tgt")
    _, scored = run_json("score", folders / "out", folders / "tgt")
    assert evaluated["mean"] == scored["mean"] and evaluated["files"] == scored["files"]
    assert evaluated["mean"]["psnr"] > 20


def test_fid_and_kid_run_for_real_with_a_feature_network(folders):
    from imgtrans.eval.run import evaluate

    same = evaluate(folders / "tgt", folders / "tgt", metrics=["fid", "kid"], features=TinyFeatures())
    shifted = evaluate(folders / "shifted", folders / "tgt", metrics=["fid", "kid"],
                       features=TinyFeatures())
    noisy = evaluate(folders / "out", folders / "tgt", metrics=["fid", "kid"], features=TinyFeatures())
    assert abs(same.sets["fid"]) < 1e-9  # KID's unbiased estimate only scatters around 0
    assert shifted.sets["fid"] > 0.01 and shifted.sets["kid"] > 100 * abs(same.sets["kid"])
    assert shifted.sets["fid"] > 10 * noisy.sets["fid"]
    assert not same.unavailable


def test_set_metrics_in_the_cli_use_the_feature_network(folders, monkeypatch):
    monkeypatch.setattr(distribution, "inception_features", lambda weights=None: TinyFeatures())
    result, data = run_json("eval", folders / "shifted", folders / "tgt", "--metrics", "psnr,fid,kid")
    assert result.exit_code == 0, result.output
    assert data["sets"]["fid"] > 0.01 and "kid_std" in data["sets"]
    assert data["mean"]["psnr"] < 20  # paired metrics still per file
    table = run("eval", folders / "shifted", folders / "tgt", "--metrics", "fid")
    assert "fid" in table.stdout and "mean" not in table.stdout


def test_fid_without_its_network_is_not_measured_and_says_what_to_get(folders, monkeypatch, tmp_path):
    monkeypatch.setattr(torch.hub, "get_dir", lambda: str(tmp_path / "hub"))
    result, data = run_json("eval", folders / "out", folders / "tgt", "--metrics", "ssim,fid")
    assert result.exit_code == 3
    reason = data["unavailable"]["fid"]
    assert "torch-fidelity" in reason or distribution.INCEPTION_FILE in reason
    assert data["mean"]["ssim"] > 0.5  # the rest was measured
    assert "not measured: fid" in result.stderr
    assert not (tmp_path / "hub").exists()  # nothing downloaded


def test_missing_inception_weights_name_the_file_and_the_place(tmp_path, monkeypatch):
    class FakeFid:
        _TORCH_FIDELITY_AVAILABLE = True

    monkeypatch.setattr(distribution, "_torchmetrics_image", lambda module, what: FakeFid)
    monkeypatch.setattr(torch.hub, "get_dir", lambda: str(tmp_path / "hub"))
    with pytest.raises(distribution.MetricUnavailable) as exc:
        distribution.inception_features()
    assert distribution.INCEPTION_URL in str(exc.value)
    assert str(tmp_path / "hub" / "checkpoints" / distribution.INCEPTION_FILE) in str(exc.value)
    bad = tmp_path / "bad.pth"
    bad.write_bytes(b"not torch")
    with pytest.raises(distribution.MetricUnavailable, match="not a plain weights file"):
        distribution.inception_features(bad)


def test_lpips_is_skipped_with_a_reason_when_torchvision_does_not_import(folders):
    if distribution._torchvision_error() is None:
        pytest.skip("torchvision imports here: LPIPS may run")
    result, data = run_json("eval", folders / "out", folders / "tgt", "--metrics", "psnr,lpips")
    assert result.exit_code == 3 and "torchvision" in data["unavailable"]["lpips"]
    assert data["mean"]["psnr"] > 20 and "lpips" not in data["mean"]


def test_lpips_values_land_per_file_when_the_network_loads(folders, monkeypatch):
    monkeypatch.setattr(distribution, "lpips_network",
                        lambda device="cpu": lambda a, b: float((a - b).abs().mean()) * 2)
    result, data = run_json("eval", folders / "out", folders / "tgt", "--metrics", "l1,lpips")
    assert result.exit_code == 0, result.output
    for f in data["files"]:
        assert f["lpips"] == pytest.approx(2 * f["l1"])


def test_html_report_has_figures_a_histogram_and_example_pairs(folders):
    report = folders / "report.html"
    result = run("eval", folders / "out", folders / "tgt", "--html", report)
    assert result.exit_code == 0, result.output
    page = report.read_text()
    assert page.count("data:image/png;base64,") == 8  # 4 examples: output and target each
    assert "<svg" in page and "PSNR per file" in page and "<td>5</td>" in page


def test_super_resolution_outputs_made_first_and_compared_with_bicubic(folders):
    """The resize translator is bicubic upscaling itself: its figures equal the baseline's,
    computed here independently of the command."""
    out = folders / "sr"
    result, data = run_json("eval", out, folders / "tgt", "--plugin", "resize",
                            "--metrics", "psnr,ssim,bicubic")
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in out.iterdir()) == [f"{i}.png" for i in range(6)]
    assert data["settings"]["downscale"] == 4 and data["settings"]["y_channel"] is True
    assert data["settings"]["crop_border"] == 4
    expected = []
    for i in range(6):
        hr = _smooth(i)
        hr_t = torch.from_numpy(hr).permute(2, 0, 1)[None].double() / 255
        bic = bicubic_upscale(downscale(hr, 4), hr.shape[:2])
        a, b = crop_border(rgb_to_y(bic), 4), crop_border(rgb_to_y(hr_t), 4)
        expected.append((psnr(a, b).item(), ssim(a, b).item()))
    assert data["measures"]["bicubic_psnr"] == pytest.approx(np.mean([e[0] for e in expected]))
    assert data["measures"]["bicubic_ssim"] == pytest.approx(np.mean([e[1] for e in expected]))
    assert data["mean"]["psnr"] == pytest.approx(data["measures"]["bicubic_psnr"], abs=0.05)
    assert data["files"][0]["bicubic_psnr"] == pytest.approx(expected[0][0])


def test_bicubic_needs_the_downscale_factor(folders):
    result, data = run_json("eval", folders / "out", folders / "tgt", "--metrics", "psnr,bicubic")
    assert result.exit_code == 3 and "--downscale" in data["unavailable"]["bicubic"]


def test_outputs_from_the_other_half_of_aligned_pairs(tmp_path):
    a = _smooth(1, 32, 32)
    _write(tmp_path / "test" / "x.png", np.concatenate([a, a], axis=1))
    result, data = run_json("eval", tmp_path / "out", tmp_path / "test", "--plugin", "resize",
                            "--opt", "scale=1", "--half", "right")
    assert result.exit_code == 0, result.output
    assert data["files"][0]["l1"] == 0.0 and data["files"][0]["psnr"] is None  # identical


def test_the_old_super_resolution_form_gets_a_pointer(folders):
    result = run("eval", "resize", folders / "tgt")
    assert result.exit_code == 4 and "--plugin resize" in result.stderr


def test_unknown_metric_lists_the_available_ones(folders):
    result = run("eval", folders / "out", folders / "tgt", "--metrics", "psnr,sharpness")
    assert result.exit_code == 2 and "sharpness" in result.stderr and "fid" in result.stderr
    assert "bicubic" in result.stderr  # srgan's measure


def test_paired_metrics_need_targets(folders):
    result = run("eval", folders / "out")
    assert result.exit_code == 2 and "TARGETS" in result.stderr
