"""The stand-ins bench/reference_stubs.py gives the reference implementations
(bench/reference_*.py): they must do what the modules they replace document, or the
reference side of those benchmarks would preprocess differently from the real code."""

from __future__ import annotations

import importlib
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "bench"))
import reference_stubs as stubs  # noqa: E402

STUBBED = ("torchvision", "torchvision.transforms", "torchvision.utils", "dominate", "dominate.tags",
           "basicsr", "basicsr.utils", "basicsr.utils.download_util", "basicsr.utils.registry",
           "basicsr.archs", "basicsr.archs.rrdbnet_arch", "wandb")


@pytest.fixture
def clean_modules():
    """Whatever the test installs leaves sys.modules afterwards (diffusers, imported later by
    other tests, probes for torchvision)."""
    saved = {name: sys.modules.get(name) for name in STUBBED}
    yield
    for name, module in saved.items():
        if module is None:
            sys.modules.pop(name, None)
        else:
            sys.modules[name] = module


def rgb(height: int, width: int, seed: int = 0) -> Image.Image:
    return Image.fromarray(np.random.default_rng(seed).integers(0, 256, (height, width, 3), dtype=np.uint8))


def test_resize_gives_pil_resize_to_height_width():
    image = rgb(30, 50)
    out = stubs.Resize([20, 40], Image.BICUBIC)(image)
    assert out.size == (40, 20)
    assert np.array_equal(np.asarray(out), np.asarray(image.resize((40, 20), Image.BICUBIC)))


def test_resize_takes_interpolation_modes_as_the_reference_passes_them_since_2021():
    image = rgb(30, 50)
    for mode, pil in ((stubs.InterpolationMode.BICUBIC, Image.BICUBIC),
                      (stubs.InterpolationMode.NEAREST, Image.NEAREST)):
        out = stubs.Resize([20, 40], mode)(image)
        assert np.array_equal(np.asarray(out), np.asarray(image.resize((40, 20), pil)))


def test_resize_int_matches_the_shorter_edge_and_keeps_a_fitting_image():
    assert stubs.Resize(10)(rgb(20, 45)).size == (22, 10)  # int(10 * 45 / 20) = 22
    assert stubs.Resize(10)(rgb(45, 20)).size == (10, 22)
    image = rgb(16, 16)
    assert stubs.Resize([16, 16], Image.BICUBIC)(image) is image


def test_to_tensor_and_normalize_by_hand():
    pixels = np.array([[[0, 51, 255], [128, 1, 254]]], dtype=np.uint8)  # (1, 2, 3) HWC
    tensor = stubs.ToTensor()(Image.fromarray(pixels))
    assert tensor.shape == (3, 1, 2) and tensor.dtype == torch.float32
    assert tensor[:, 0, 0].tolist() == pytest.approx([0.0, 0.2, 1.0])
    assert tensor[:, 0, 1].tolist() == pytest.approx([128 / 255, 1 / 255, 254 / 255])
    normalized = stubs.Normalize((0.5, 0.5, 0.5), (0.5, 0.5, 0.5))(tensor)
    assert normalized[:, 0, 0].tolist() == pytest.approx([-1.0, -0.6, 1.0])
    assert tensor[0, 0, 0] == 0.0  # not in place
    gray = stubs.ToTensor()(Image.fromarray(pixels[..., 0]))
    assert gray.shape == (1, 1, 2) and gray[0, 0, 1] == pytest.approx(128 / 255)


def test_the_reference_test_transform_equals_the_formula():
    """get_transform at test time: Resize(256, bicubic), RandomCrop(256), ToTensor, Normalize."""
    image = rgb(40, 60)
    chain = stubs.Compose([stubs.Resize([32, 32], Image.BICUBIC), stubs.RandomCrop(32), stubs.ToTensor(),
                           stubs.Normalize((0.5, 0.5, 0.5), (0.5, 0.5, 0.5))])
    expected = np.asarray(image.resize((32, 32), Image.BICUBIC)).astype(np.float32) / 255
    expected = (expected - 0.5) / 0.5
    assert torch.allclose(chain(image), torch.from_numpy(expected).permute(2, 0, 1), atol=1e-6)


def test_random_crop_draws_top_then_left_with_torch():
    image = rgb(10, 12)
    torch.manual_seed(3)
    top, left = (int(torch.randint(0, n, (1,)).item()) for n in (10 - 4 + 1, 12 - 5 + 1))
    torch.manual_seed(3)
    out = stubs.RandomCrop((4, 5))(image)
    assert np.array_equal(np.asarray(out), np.asarray(image)[top:top + 4, left:left + 5])
    with pytest.raises(ValueError):
        stubs.RandomCrop(11)(image)


def test_save_image_writes_the_grid_rounded(tmp_path):
    batch = torch.zeros(2, 3, 2, 2)
    batch[1] = 0.5
    batch[0, 0, 0, 0] = 1.7  # clamped
    stubs.save_image(batch, tmp_path / "grid.png")
    grid = np.asarray(Image.open(tmp_path / "grid.png"))
    assert grid.shape == (6, 10, 3)  # 1 row, 2 columns of 2x2 with 2 px padding
    assert grid[2, 2, 0] == 255 and grid[2, 3, 0] == 0
    assert (grid[2:4, 6:8] == 128).all()  # 0.5 * 255 + 0.5 = 128.0
    assert grid[0].max() == 0 and grid[:, 4:6].max() == 0  # padding


def test_installed_modules_import_and_basicsr_downloads_refuse(clean_modules):
    stubs.install_torchvision()
    stubs.install_dominate()
    stubs.install_basicsr(torch.nn.Identity)
    transforms = importlib.import_module("torchvision.transforms")
    assert transforms.ToTensor is stubs.ToTensor
    assert transforms.InterpolationMode is stubs.InterpolationMode
    assert importlib.util.find_spec("torchvision") is not None
    assert importlib.import_module("dominate.tags").h3 is stubs._Element
    from basicsr.archs.rrdbnet_arch import RRDBNet
    from basicsr.utils.download_util import load_file_from_url
    from basicsr.utils.registry import ARCH_REGISTRY

    assert RRDBNet is torch.nn.Identity
    stubs.install_wandb()
    import wandb

    assert getattr(wandb, "__file__", None) is None  # probes see a module without the attribute
    with pytest.raises(RuntimeError, match="does not log"):
        wandb.init()
    with pytest.raises(RuntimeError, match="no downloads"):
        load_file_from_url("https://example.invalid/w.pth")
    registered = ARCH_REGISTRY.register()(type("Net", (), {}))
    assert ARCH_REGISTRY.get("Net") is registered
