"""Inputs smaller than a network can process are padded up to ``Preprocessing.min_size``
(reflect while the pad is smaller than the side, replicate beyond) and cropped back."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from imgtrans.core.preprocess import finish, prepare
from imgtrans.translators.base import Preprocessing


def _rand(h, w, c=3, seed=0):
    return torch.rand(1, c, h, w, generator=torch.Generator().manual_seed(seed))


def test_padded_size_is_min_size_rounded_up_to_the_multiple():
    def padded_size(height, width, multiple=1, min_size=(1, 1)):
        return Preprocessing(size_multiple=multiple, min_size=min_size).fitted_size(height, width)

    assert padded_size(1, 1) == (1, 1)
    assert padded_size(1, 1, 4, (8, 8)) == (8, 8)
    assert padded_size(3, 5, 4, (8, 8)) == (8, 8)
    assert padded_size(9, 1200, 4, (8, 8)) == (12, 1200)
    assert padded_size(3, 5, 4, (6, 1)) == (8, 8)  # 6 -> next multiple of 4
    assert padded_size(2, 2, 1, (5, 3)) == (5, 3)


def test_min_size_validation_and_pair_form():
    assert Preprocessing().min_hw == (1, 1)
    assert Preprocessing(min_size=(8, 16)).min_hw == (8, 16)
    with pytest.raises(ValueError, match="min_size"):
        Preprocessing(min_size=0)


def test_one_pixel_is_replicated_and_cropped_back_exactly():
    prep = Preprocessing(min_size=8, size_multiple=4, value_range=(-1.0, 1.0))
    x = _rand(1, 1)
    p = prepare(x, prep)
    assert p.images.shape[-2:] == (8, 8)
    assert torch.equal(p.images, (x * 2 - 1).expand(1, 3, 8, 8))  # nothing to reflect: replicate
    assert torch.allclose(finish(p.images, p, prep), x, atol=1e-6)


def test_small_pad_reflects_and_large_pad_reflects_repeatedly():
    x = _rand(3, 5)
    prep = Preprocessing(min_size=(5, 7))
    p = prepare(x, prep)
    assert p.images.shape[-2:] == (5, 7)
    # pads of 2 < side: one reflection, as F.pad(mode="reflect")
    assert torch.equal(p.images, torch.nn.functional.pad(x, (0, 2, 0, 2), mode="reflect"))
    big = prepare(x, Preprocessing(min_size=(9, 5)))
    assert big.images.shape[-2:] == (9, 5)
    assert torch.equal(big.images[..., :3, :], x) and torch.equal(big.images[..., 3:5, :], x.flip(-2)[..., 1:, :])


@pytest.mark.parametrize("size", [(1, 1), (3, 5), (8, 1200), (17, 9)])
def test_crop_back_is_exact_with_scale(size):
    """An identity "network" with scale 2: the cropped result is the input, upscaled."""
    prep = Preprocessing(min_size=8, size_multiple=4, scale=2)
    x = _rand(*size)
    p = prepare(x, prep)
    assert p.images.shape[-2] >= 8 and p.images.shape[-2] % 4 == 0
    assert torch.equal(p.images[..., :size[0], :size[1]], x)
    out = finish(p.images.repeat_interleave(2, -2).repeat_interleave(2, -1), p, prep)
    assert torch.equal(out, x.repeat_interleave(2, -2).repeat_interleave(2, -1))


def test_resize_policy_enlarges_to_min_size():
    prep = Preprocessing(resize="resize", size_multiple=4, min_size=8)
    p = prepare(_rand(3, 5), prep)
    assert p.images.shape[-2:] == (8, 8)
    assert finish(p.images, p, prep).shape[-2:] == (3, 5)


# --- every built-in image translator with its default weights, on tiny and thin inputs ---

_TINY = [(1, 1), (3, 5), (8, 1200)]
_OPTIONS = {"sdedit": {"steps": 4}}  # keep the diffusion short


def _cases():
    for name in ("pix2pix", "cyclegan", "srgan", "sdedit", "resize"):
        for size in _TINY:
            yield pytest.param(name, size, id=f"{name}-{size[0]}x{size[1]}")


@pytest.fixture(scope="module")
def loaded():
    import imgtrans

    cache = {}

    def get(name):
        if name not in cache:
            cache[name] = imgtrans.load(name, device="cpu", options=_OPTIONS.get(name))
        return cache[name]
    return get


@pytest.mark.parametrize("name, size", list(_cases()))
def test_builtin_translator_handles_tiny_inputs(loaded, name, size):
    image = np.random.default_rng(0).integers(0, 256, (*size, 3), dtype=np.uint8)
    translator = loaded(name)
    out = translator(image)
    scale = translator.runner.prep.scale
    assert out.shape[:2] == (size[0] * scale, size[1] * scale)
