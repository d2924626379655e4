"""Tiled execution equals whole-image execution for local operators."""

from __future__ import annotations

import torch
import torch.nn.functional as F

from imgtrans.core.tiling import run_tiled


def _blur_up(x, scale=2):
    kernel = torch.ones(x.shape[1], 1, 5, 5) / 25
    y = F.conv2d(F.pad(x, (2, 2, 2, 2), mode="reflect"), kernel, groups=x.shape[1])
    return y.repeat_interleave(scale, -1).repeat_interleave(scale, -2)


def test_tiled_equals_untiled_when_pad_covers_receptive_field():
    x = torch.rand(2, 3, 45, 70, generator=torch.Generator().manual_seed(1))
    whole = _blur_up(x)
    tiled = run_tiled(_blur_up, x, tile=16, tile_pad=2, scale=2)
    assert torch.allclose(tiled, whole, atol=1e-6)


def test_small_pad_shows_seams_like_the_reference():
    x = torch.rand(1, 1, 40, 40, generator=torch.Generator().manual_seed(2))
    tiled = run_tiled(_blur_up, x, tile=16, tile_pad=0, scale=2)
    assert not torch.allclose(tiled, _blur_up(x), atol=1e-4)


def test_tiles_are_padded_to_the_multiple():
    seen = []

    def fn(x):
        seen.append(tuple(x.shape[-2:]))
        return x

    x = torch.rand(1, 3, 30, 30)
    out = run_tiled(fn, x, tile=12, tile_pad=3, scale=1, multiple=8)
    assert torch.equal(out, x)
    assert all(h % 8 == 0 and w % 8 == 0 for h, w in seen)
