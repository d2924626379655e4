"""The one A|B split, 16 -> 8-bit reduction and RGB -> gray that everything uses."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from imgtrans.core.preprocess import convert_channels, pair_half
from imgtrans.core.writers import to_8bit


def test_pair_half_splits_at_w_div_2_on_any_width_axis():
    hwc = np.arange(2 * 5 * 3).reshape(2, 5, 3)  # odd width: B gets the extra column
    assert pair_half(hwc, "left", axis=1).tolist() == hwc[:, :2].tolist()
    assert pair_half(hwc, "right", axis=1).tolist() == hwc[:, 2:].tolist()
    bchw = torch.arange(2 * 3 * 4 * 7).reshape(2, 3, 4, 7)
    assert torch.equal(pair_half(bchw, "left"), bchw[..., :3])
    assert torch.equal(pair_half(bchw, "right"), bchw[..., 3:])
    assert pair_half(bchw, "right").data_ptr() == bchw[..., 3:].data_ptr()  # a view


def test_pair_half_refuses_too_narrow_images_and_unknown_halves():
    with pytest.raises(ValueError, match="1-pixel-wide"):
        pair_half(np.zeros((4, 1, 3)), "left", axis=1)
    with pytest.raises(ValueError, match="'left' or 'right'"):
        pair_half(np.zeros((4, 4, 3)), "middle", axis=1)


def test_to_8bit_inverts_the_exact_widening_and_rounds_to_nearest():
    levels = np.arange(256, dtype=np.uint8)
    assert np.array_equal(to_8bit(levels.astype(np.uint16) * 257), levels)
    every = np.arange(65536, dtype=np.uint16)
    reduced = to_8bit(every)
    assert reduced.dtype == np.uint8
    # nearest level: integer arithmetic, no float involved (no x / 257 lies on a half)
    assert np.array_equal(reduced, ((every.astype(np.int64) * 2 + 257) // 514).astype(np.uint8))
    assert to_8bit(np.array([128, 129], np.uint16)).tolist() == [0, 1]


def test_to_8bit_keeps_uint8_and_refuses_other_types():
    pixels = np.full((2, 2), 7, np.uint8)
    assert to_8bit(pixels) is pixels
    with pytest.raises(ValueError, match="float32"):
        to_8bit(np.zeros((2, 2), np.float32))


def test_gray_is_bt601_summed_in_order():
    rgb = torch.rand(2, 3, 5, 6, generator=torch.Generator().manual_seed(0))
    expected = 0.299 * rgb[:, 0:1] + 0.587 * rgb[:, 1:2] + 0.114 * rgb[:, 2:3]
    assert torch.equal(convert_channels(rgb, 1), expected)  # bit for bit: SR alpha parity
    assert torch.equal(convert_channels(torch.ones(1, 3, 1, 1), 1), torch.ones(1, 1, 1, 1))
