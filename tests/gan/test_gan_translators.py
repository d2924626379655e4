"""pix2pix and CycleGAN through `imgtrans convert`: reference checkpoints load as they are and
give the reference test script's numbers; sizes, modes, seeds and batching behave."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest
import torch
from PIL import Image
from typer.testing import CliRunner

from imgtrans.cli import app
from imgtrans.core.runner import image_seed as seed_for
from imgtrans_gan.networks import GeneratorConfig, init_weights


def run(*args):
    return CliRunner().invoke(app, [str(a) for a in args])


def _photo(path: Path, h: int, w: int, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    small = rng.integers(0, 256, (max(2, h // 8), max(2, w // 8), 3), dtype=np.uint8)
    rgb = cv2.resize(small, (w, h), interpolation=cv2.INTER_CUBIC)
    path.parent.mkdir(parents=True, exist_ok=True)
    cv2.imwrite(str(path), cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR))
    return rgb


def _read(path: Path) -> np.ndarray:
    return cv2.cvtColor(cv2.imread(str(path)), cv2.COLOR_BGR2RGB)


def _checkpoint(path: Path, config: GeneratorConfig, seed: int = 0, prefix: str = "") -> torch.nn.Module:
    """A reference-style checkpoint: torch.save(state_dict) with random (but BN-realistic) weights."""
    torch.manual_seed(seed)
    net = config.build()
    init_weights(net, "normal", 0.05)
    for module in net.modules():  # cumulative BN statistics, as after training
        if isinstance(module, torch.nn.BatchNorm2d):
            module.momentum = None
    with torch.no_grad():
        net.train()
        for _ in range(4):
            net(torch.rand(2, config.input_nc, 64, 64) * 2 - 1)
    path.parent.mkdir(parents=True, exist_ok=True)
    torch.save({prefix + k: v for k, v in net.state_dict().items()}, path)
    return net


def _reference_test_script(net: torch.nn.Module, image_path: Path, load_size: int, *,
                           train_mode: bool, seed: int | None = None) -> np.ndarray:
    """What the reference test.py writes: PIL bicubic resize to a square, ToTensor, Normalize(0.5),
    forward, tensor2im (truncation to uint8)."""
    img = Image.open(image_path).convert("RGB").resize((load_size, load_size), Image.BICUBIC)
    x = torch.from_numpy(np.asarray(img).copy()).permute(2, 0, 1).contiguous().float().div(255.0)  # ToTensor
    x = (x - 0.5) / 0.5
    net = net.train(train_mode)
    if seed is not None:
        torch.manual_seed(seed)
    with torch.no_grad():
        y = net(x[None])[0]
    return ((y.permute(1, 2, 0).numpy() + 1) / 2.0 * 255.0).astype(np.uint8)


RESNET = GeneratorConfig(arch="resnet", ngf=8, n_blocks=6, norm="instance")
UNET = GeneratorConfig(arch="unet", ngf=8, num_downs=6, norm="batch", use_dropout=True)


@pytest.mark.parametrize("prefix", ["", "module."])
def test_cyclegan_matches_the_reference_test_script(host, tmp_path, prefix):
    net = _checkpoint(tmp_path / "latest_net_G.pth", RESNET, prefix=prefix)
    _photo(tmp_path / "in" / "a.png", 90, 120)
    result = run("convert", tmp_path / "in", tmp_path / "out", "--plugin", "cyclegan",
                 "--weights", tmp_path / "latest_net_G.pth", "--opt", "preprocess=resize_and_crop",
                 "--opt", "load_size=64")
    assert result.exit_code == 0, result.output
    ours = _read(tmp_path / "out" / "a.png").astype(int)
    reference = _reference_test_script(net, tmp_path / "in" / "a.png", 64, train_mode=True).astype(int)
    assert ours.shape == reference.shape == (64, 64, 3)
    assert np.abs(ours - reference).max() <= 1


def test_pix2pix_eval_mode_matches_reference_eval(host, tmp_path):
    net = _checkpoint(tmp_path / "g.pth", UNET)
    _photo(tmp_path / "in" / "a.png", 100, 80)
    assert run("convert", tmp_path / "in", tmp_path / "out", "--plugin", "pix2pix", "--weights",
               tmp_path / "g.pth", "--opt", "preprocess=resize_and_crop", "--opt", "load_size=64",
               "--opt", "eval=true").exit_code == 0
    reference = _reference_test_script(net, tmp_path / "in" / "a.png", 64, train_mode=False)
    assert np.abs(_read(tmp_path / "out" / "a.png").astype(int) - reference.astype(int)).max() <= 1


def test_pix2pix_default_mode_is_the_reference_train_mode_with_seeded_dropout(host, tmp_path):
    net = _checkpoint(tmp_path / "g.pth", UNET)
    saved = {k: v.clone() for k, v in net.state_dict().items()}
    _photo(tmp_path / "in" / "a.png", 64, 64)
    args = ["--plugin", "pix2pix", "--weights", tmp_path / "g.pth", "--opt", "preprocess=resize_and_crop",
            "--opt", "load_size=64", "--seed", "5"]
    assert run("convert", tmp_path / "in", tmp_path / "out", *args).exit_code == 0
    reference = _reference_test_script(net, tmp_path / "in" / "a.png", 64, train_mode=True,
                                       seed=seed_for(5, "a.png"))
    assert np.abs(_read(tmp_path / "out" / "a.png").astype(int) - reference.astype(int)).max() <= 1
    # batch-statistics inference leaves the loaded model's buffers alone (the reference's
    # train-mode test updates them); a second image gets the same result as the first would
    import imgtrans

    loaded = imgtrans.load("pix2pix", tmp_path / "g.pth")
    loaded(np.zeros((64, 64, 3), np.uint8))
    state = loaded.translator.net.state_dict()
    assert all(torch.equal(state[k], v) for k, v in saved.items())


def test_pix2pix_seeds_and_batching(host, tmp_path):
    _checkpoint(tmp_path / "g.pth", UNET)
    for i in range(5):
        _photo(tmp_path / "in" / f"{i}.png", 64, 64, seed=i)
    base = ["--plugin", "pix2pix", "--weights", tmp_path / "g.pth"]
    for name, extra in (("s1", ["--seed", "1"]), ("s1b", ["--seed", "1", "--batch-size", "3"]),
                        ("s2", ["--seed", "2"]), ("e1", ["--seed", "1", "--opt", "eval=true"]),
                        ("e2", ["--seed", "2", "--opt", "eval=true", "--batch-size", "5"])):
        assert run("convert", tmp_path / "in", tmp_path / name, *base, *extra).exit_code == 0
    images = {n: [_read(tmp_path / n / f"{i}.png") for i in range(5)] for n in ("s1", "s1b", "s2", "e1", "e2")}
    assert all(np.abs(a.astype(int) - b.astype(int)).max() <= 1 for a, b in zip(images["s1"], images["s1b"]))  # batching
    assert not all(np.array_equal(a, b) for a, b in zip(images["s1"], images["s2"]))  # dropout noise
    assert all(np.abs(a.astype(int) - b.astype(int)).max() <= 1 for a, b in zip(images["e1"], images["e2"]))  # eval: deterministic


@pytest.mark.parametrize("config", [RESNET, UNET], ids=["resnet", "unet"])
def test_native_size_for_odd_non_square_inputs(host, tmp_path, config):
    _checkpoint(tmp_path / "g.pth", config)
    _photo(tmp_path / "in" / "odd.png", 37, 53)
    plugin = "cyclegan" if config.arch == "resnet" else "pix2pix"
    result = run("convert", tmp_path / "in", tmp_path / "out", "--plugin", plugin, "--weights", tmp_path / "g.pth")
    assert result.exit_code == 0, result.output
    assert _read(tmp_path / "out" / "odd.png").shape == (37, 53, 3)


def test_preprocess_none_rounds_to_multiples_of_four_half_to_even(host, tmp_path):
    _checkpoint(tmp_path / "g.pth", RESNET)
    _photo(tmp_path / "in" / "a.png", 202, 298)
    assert run("convert", tmp_path / "in", tmp_path / "out", "--plugin", "cyclegan", "--weights",
               tmp_path / "g.pth", "--opt", "preprocess=none").exit_code == 0
    assert _read(tmp_path / "out" / "a.png").shape == (200, 296, 3)


def test_aligned_input_uses_the_half_named_by_direction(host, tmp_path):
    net = _checkpoint(tmp_path / "g.pth", RESNET)
    left = _photo(tmp_path / "l.png", 64, 64, seed=1)
    right = _photo(tmp_path / "r.png", 64, 64, seed=2)
    pair = np.concatenate([left, right], axis=1)
    (tmp_path / "in").mkdir()
    cv2.imwrite(str(tmp_path / "in" / "p.png"), cv2.cvtColor(pair, cv2.COLOR_RGB2BGR))
    for direction, half in (("AtoB", tmp_path / "l.png"), ("BtoA", tmp_path / "r.png")):
        out = tmp_path / direction
        assert run("convert", tmp_path / "in", out, "--plugin", "cyclegan", "--weights", tmp_path / "g.pth",
                   "--opt", "aligned=true", "--opt", f"direction={direction}").exit_code == 0
        reference = _reference_test_script(net, half, 64, train_mode=False)
        assert np.abs(_read(out / "p.png").astype(int) - reference.astype(int)).max() <= 1


def test_cyclegan_reference_folder_direction_picks_the_generator(host, tmp_path):
    net_a = _checkpoint(tmp_path / "ck" / "latest_net_G_A.pth", RESNET, seed=1)
    net_b = _checkpoint(tmp_path / "ck" / "latest_net_G_B.pth", RESNET, seed=2)
    _photo(tmp_path / "in" / "a.png", 64, 64)
    for direction, net in (("AtoB", net_a), ("BtoA", net_b)):
        assert run("convert", tmp_path / "in", tmp_path / direction, "--plugin", "cyclegan", "--weights",
                   tmp_path / "ck", "--opt", f"direction={direction}").exit_code == 0
        reference = _reference_test_script(net, tmp_path / "in" / "a.png", 64, train_mode=False)
        assert np.abs(_read(tmp_path / direction / "a.png").astype(int) - reference.astype(int)).max() <= 1


def test_a_checkpoint_that_fits_nothing_is_a_clear_error(host, tmp_path):
    torch.save({"conv_first.weight": torch.zeros(64, 3, 3, 3)}, tmp_path / "sr.pth")
    _photo(tmp_path / "in" / "a.png", 32, 32)
    result = run("convert", tmp_path / "in", tmp_path / "out", "--plugin", "cyclegan", "--weights", tmp_path / "sr.pth")
    assert result.exit_code == 5
    assert "conv_first.weight" in result.output and "Traceback" not in result.output
