"""Channel, size and range preparation, and its exact inverse."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image

from imgtrans.core.preprocess import (convert_channels, finish, pad_to_multiple, prepare, quantize,
                                      resize, to_float_batch)
from imgtrans.translators.base import Preprocessing


def _rand(b=2, c=3, h=37, w=53, seed=0):
    return torch.rand(b, c, h, w, generator=torch.Generator().manual_seed(seed))


def test_round_trip_is_identity_for_every_policy():
    x = _rand()
    for prep, padded in ((Preprocessing(size_multiple=16, value_range=(-1.0, 1.0)), (48, 64)),
                         (Preprocessing(size_multiple=4, pad_mode="replicate"), (40, 56))):
        p = prepare(x, prep)
        assert p.images.shape[-2:] == padded
        assert p.images.min() >= -1.0 and p.images.max() <= 1.0
        assert torch.allclose(finish(p.images, p, prep), x, atol=1e-6)


def test_resize_policy_goes_to_nearest_multiple_and_back():
    prep = Preprocessing(size_multiple=16, resize="resize")
    p = prepare(_rand(), prep)
    assert p.images.shape[-2:] == (32, 48)
    assert finish(p.images, p, prep).shape[-2:] == (37, 53)
    prep = Preprocessing(resize="fixed", fixed_size=(64, 64))
    p = prepare(_rand(), prep)
    assert p.images.shape[-2:] == (64, 64)
    assert finish(p.images, p, prep).shape[-2:] == (37, 53)


def test_pad_to_multiple_reflects_then_replicates_when_image_is_tiny():
    x = torch.arange(6.0).view(1, 1, 2, 3)
    out = pad_to_multiple(x, 8)
    assert out.shape == (1, 1, 8, 8)
    assert torch.equal(out[..., :2, :3], x)
    assert out[0, 0, 0, 3] == x[0, 0, 0, 1]  # reflected first


def test_alpha_is_split_and_reattached():
    x = _rand(c=4)
    prep = Preprocessing(channels=3, scale=1)
    p = prepare(x, prep)
    assert p.images.shape[1] == 3
    out = finish(p.images, p, prep)
    assert out.shape[1] == 4 and torch.allclose(out[:, 3:], x[:, 3:])


def test_alpha_pass_gives_four_channels_and_adds_opaque_alpha():
    prep = Preprocessing(channels=4, alpha="pass")
    assert prepare(_rand(c=4), prep).images.shape[1] == 4
    rgb = prepare(_rand(c=3), prep).images
    assert torch.all(rgb[:, 3] == 1.0)


def test_gray_input_to_rgb_translator_and_keep_gray():
    gray = _rand(c=1)
    prep = Preprocessing(channels=3, keep_gray=True)
    p = prepare(gray, prep)
    assert p.images.shape[1] == 3
    assert finish(p.images, p, prep).shape[1] == 1
    assert torch.allclose(finish(p.images, p, prep), gray, atol=1e-6)


def test_rgb_to_gray_uses_bt601_weights():
    x = torch.tensor([1.0, 0.0, 0.0]).view(1, 3, 1, 1)
    assert convert_channels(x, 1).item() == pytest.approx(0.299)


@pytest.mark.parametrize("mode, pil_mode", [("bicubic", Image.BICUBIC), ("bilinear", Image.BILINEAR)])
@pytest.mark.parametrize("size", [(80, 100), (256, 256), (300, 200), (600, 700), (37, 524)])
def test_resize_matches_pil(mode, pil_mode, size):
    rng = np.random.default_rng(0)
    img = (rng.random((97, 131, 3)) * 255).astype(np.uint8)
    img = np.ascontiguousarray(np.kron(img, np.ones((4, 4, 1), np.uint8)))  # 388x524, hard edges
    ref = np.asarray(Image.fromarray(img).resize(size[::-1], pil_mode)).astype(int)
    batch = to_float_batch([img], 8, torch.device("cpu"))
    ours = quantize(resize(batch, size, mode, levels=255), 8)[0].astype(int)
    assert np.array_equal(ours, ref)  # bit-exact on 8-bit data



def test_quantize_rounds_and_handles_16_bit():
    x = torch.tensor([0.0, 0.5 / 255, 0.6 / 255, 1.0]).view(1, 1, 1, 4)
    assert quantize(x, 8).ravel().tolist() == [0, 0, 1, 255]
    arr16 = np.array([[0, 1000, 65535]], np.uint16)
    back = quantize(to_float_batch([arr16], 16, torch.device("cpu")), 16)
    assert back.dtype == np.uint16 and back.ravel().tolist() == [0, 1000, 65535]
