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


def test_tiles_report_their_progress():
    heard = []
    run_tiled(lambda x: x, torch.zeros(1, 3, 70, 50), tile=32, tile_pad=4, scale=1,
              on_tile=lambda done, total: heard.append((done, total)))
    assert heard == [(k, 6) for k in range(1, 7)]


def test_runner_reports_tiles_of_a_batch_by_name(host):
    import numpy as np

    from imgtrans.core.runner import TranslatorRunner
    from imgtrans.plugins import manager

    translator = manager.get_translator("resize")(manager.get_translator("resize").Options(), torch.device("cpu"))
    runner = TranslatorRunner(translator, torch.device("cpu"), tile=16)
    heard = []
    runner.on_tiles = lambda names, done, total: heard.append((names, done, total))
    runner.run_arrays([np.zeros((40, 20, 3), np.uint8)] * 2, 8, ["a.png", "b.png"])
    assert heard == [(["a.png", "b.png"], k, 6) for k in range(1, 7)]
