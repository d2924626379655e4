"""L1, PSNR, SSIM, Y channel and border crop, checked against known values and against
independent implementations written here (numpy, and OpenCV the way BasicSR computes it)."""

from __future__ import annotations

import math

import cv2
import numpy as np
import pytest
import torch

from imgtrans.eval.metrics import crop_border, gaussian_window, l1, psnr, rgb_to_y, ssim


def _rand(b=1, c=3, h=48, w=40, seed=0):
    return torch.rand(b, c, h, w, generator=torch.Generator().manual_seed(seed), dtype=torch.float64)


def _noisy(x, sigma, seed=1):
    noise = torch.randn(x.shape, generator=torch.Generator().manual_seed(seed), dtype=x.dtype)
    return (x + sigma * noise).clamp(0.0, 1.0)


# --- numpy reference SSIM: direct 2-D window sums over every position where it fits -------

def _np_window(size=11, sigma=1.5):
    ax = np.arange(size) - (size - 1) / 2
    xx, yy = np.meshgrid(ax, ax)
    w = np.exp(-(xx ** 2 + yy ** 2) / (2 * sigma ** 2))
    return w / w.sum()


def _np_filter_valid(img, window):
    k = window.shape[0]
    h, w = img.shape
    out = np.empty((h - k + 1, w - k + 1))
    for i in range(out.shape[0]):
        for j in range(out.shape[1]):
            out[i, j] = np.sum(img[i:i + k, j:j + k] * window)
    return out


def _np_ssim_channel(a, b, data_range=1.0):
    win = _np_window()
    c1, c2 = (0.01 * data_range) ** 2, (0.03 * data_range) ** 2
    mu_a, mu_b = _np_filter_valid(a, win), _np_filter_valid(b, win)
    s_aa = _np_filter_valid(a * a, win) - mu_a ** 2
    s_bb = _np_filter_valid(b * b, win) - mu_b ** 2
    s_ab = _np_filter_valid(a * b, win) - mu_a * mu_b
    num = (2 * mu_a * mu_b + c1) * (2 * s_ab + c2)
    den = (mu_a ** 2 + mu_b ** 2 + c1) * (s_aa + s_bb + c2)
    return float(np.mean(num / den))


def _np_ssim(a, b, data_range=1.0):
    """(C, H, W) arrays: mean of the per-channel SSIMs."""
    return float(np.mean([_np_ssim_channel(a[c], b[c], data_range) for c in range(a.shape[0])]))


def _cv2_ssim_255(a, b):
    """BasicSR's recipe: 8-bit-range float64, cv2 Gaussian filter, then crop 5 pixels."""
    c1, c2 = (0.01 * 255) ** 2, (0.03 * 255) ** 2
    k = cv2.getGaussianKernel(11, 1.5)
    window = np.outer(k, k.transpose())
    mu1 = cv2.filter2D(a, -1, window)[5:-5, 5:-5]
    mu2 = cv2.filter2D(b, -1, window)[5:-5, 5:-5]
    s1 = cv2.filter2D(a ** 2, -1, window)[5:-5, 5:-5] - mu1 ** 2
    s2 = cv2.filter2D(b ** 2, -1, window)[5:-5, 5:-5] - mu2 ** 2
    s12 = cv2.filter2D(a * b, -1, window)[5:-5, 5:-5] - mu1 * mu2
    m = ((2 * mu1 * mu2 + c1) * (2 * s12 + c2)) / ((mu1 ** 2 + mu2 ** 2 + c1) * (s1 + s2 + c2))
    return float(m.mean())


# --- L1 and PSNR ----------------------------------------------------------------------------

def test_psnr_of_a_constant_offset_is_20_db():
    a = torch.full((1, 3, 16, 16), 0.3)
    b = a + 0.1  # MSE 0.01 -> 10 log10(1 / 0.01) = 20 dB
    assert psnr(a, b).item() == pytest.approx(20.0, abs=1e-5)
    assert psnr(a * 255, b * 255, data_range=255).item() == pytest.approx(20.0, abs=1e-5)
    assert l1(a, b).item() == pytest.approx(0.1, abs=1e-6)


def test_psnr_known_mse_and_identical_images():
    a = torch.zeros(1, 1, 10, 10, dtype=torch.float64)
    b = a.clone()
    b[0, 0, :5] = 0.2  # half the pixels off by 0.2: MSE 0.02
    assert psnr(a, b).item() == pytest.approx(10 * math.log10(1 / 0.02), abs=1e-9)
    assert l1(a, b).item() == pytest.approx(0.1)
    assert math.isinf(psnr(a, a).item()) and psnr(a, a).item() > 0
    assert l1(a, a).item() == 0.0


def test_metrics_are_per_image_and_shapes_are_checked():
    a, b = _rand(b=3), _noisy(_rand(b=3), 0.05)
    for fn in (l1, psnr, ssim):
        values = fn(a, b)
        assert values.shape == (3,) and values.dtype == torch.float64
        assert values[1].item() == pytest.approx(fn(a[1:2], b[1:2]).item(), rel=1e-12)
    with pytest.raises(ValueError, match="shapes differ"):
        psnr(a, b[..., :-1])
    with pytest.raises(ValueError, match="at least 11x11"):
        ssim(a[..., :10, :], b[..., :10, :])


# --- SSIM -----------------------------------------------------------------------------------

def test_ssim_of_identical_images_is_one():
    for x in (_rand(), torch.full((1, 3, 20, 20), 0.5, dtype=torch.float64), torch.zeros(1, 1, 11, 11)):
        assert ssim(x, x).item() == pytest.approx(1.0, abs=1e-12)


def test_window_is_the_normalised_gaussian():
    g = gaussian_window()
    assert g.numel() == 11 and g.sum().item() == pytest.approx(1.0)
    np.testing.assert_allclose(np.outer(g.numpy(), g.numpy()), _np_window(), atol=1e-15)
    np.testing.assert_allclose(g.numpy(), cv2.getGaussianKernel(11, 1.5)[:, 0], atol=1e-12)


def test_ssim_matches_numpy_reference():
    a = _rand(h=23, w=19, seed=3)
    b = _noisy(a, 0.1, seed=4)
    expected = _np_ssim(a[0].numpy(), b[0].numpy())
    assert ssim(a, b).item() == pytest.approx(expected, abs=1e-10)
    # a structured image (not just noise) and a gray one
    yy, xx = torch.meshgrid(torch.linspace(0, 1, 30, dtype=torch.float64),
                            torch.linspace(0, 1, 26, dtype=torch.float64), indexing="ij")
    c = torch.sin(8 * xx + 3 * yy)[None, None] * 0.4 + 0.5
    d = (c * 0.8 + 0.15).clamp(0, 1)
    assert ssim(c, d).item() == pytest.approx(_np_ssim(c[0].numpy(), d[0].numpy()), abs=1e-10)


def test_ssim_matches_opencv_recipe_on_8_bit_levels():
    a = (_rand(h=40, w=36, seed=5) * 255).round() / 255
    b = (_noisy(a, 0.08, seed=6) * 255).round() / 255
    expected = np.mean([_cv2_ssim_255(a[0, c].numpy() * 255, b[0, c].numpy() * 255) for c in range(3)])
    assert ssim(a, b).item() == pytest.approx(expected, abs=1e-9)
    # SSIM does not depend on the scale when data_range follows it
    assert ssim(a * 255, b * 255, data_range=255).item() == pytest.approx(ssim(a, b).item(), abs=1e-12)


def test_ssim_and_psnr_fall_as_noise_grows():
    x = _rand(h=64, w=64, seed=7)
    sigmas = (0.0, 0.01, 0.03, 0.1, 0.3)
    s = [ssim(x, _noisy(x, sigma)).item() for sigma in sigmas]
    p = [psnr(x, _noisy(x, sigma)).item() for sigma in sigmas]
    assert s[0] == pytest.approx(1.0)
    assert all(s1 > s2 for s1, s2 in zip(s, s[1:])), s
    assert all(p1 > p2 for p1, p2 in zip(p, p[1:])), p
    assert 0.0 < s[-1] < 0.8


def test_ssim_is_symmetric():
    a, b = _rand(seed=8), _rand(seed=9)
    assert ssim(a, b).item() == pytest.approx(ssim(b, a).item(), abs=1e-14)


# --- Y channel and border crop --------------------------------------------------------------

def test_rgb_to_y_matches_matlab_coefficients():
    colours = torch.tensor([[0, 0, 0], [1, 1, 1], [1, 0, 0], [0, 1, 0], [0, 0, 1], [0.2, 0.4, 0.6]],
                           dtype=torch.float64)
    x = colours.T.reshape(1, 3, 1, 6)
    y = rgb_to_y(x)
    assert y.shape == (1, 1, 1, 6)
    expected = [16, 235, 16 + 65.481, 16 + 128.553, 16 + 24.966,
                16 + 0.2 * 65.481 + 0.4 * 128.553 + 0.6 * 24.966]
    np.testing.assert_allclose(y.flatten().numpy() * 255, expected, atol=1e-9)
    with pytest.raises(ValueError, match="RGB"):
        rgb_to_y(torch.zeros(1, 1, 4, 4))


def test_crop_border():
    x = torch.arange(2 * 10 * 12, dtype=torch.float64).reshape(1, 2, 10, 12)
    assert crop_border(x, 0) is x
    c = crop_border(x, 3)
    assert c.shape == (1, 2, 4, 6) and torch.equal(c, x[..., 3:7, 3:9])
    with pytest.raises(ValueError, match="leaves nothing"):
        crop_border(x, 5)
    with pytest.raises(ValueError):
        crop_border(x, -1)


def test_sr_protocol_composes():
    a = _rand(h=40, w=40, seed=10)
    b = _noisy(a, 0.05, seed=11)
    ya, yb = crop_border(rgb_to_y(a), 4), crop_border(rgb_to_y(b), 4)
    assert ya.shape == (1, 1, 32, 32)
    expected_mse = float(((ya - yb) ** 2).mean())
    assert psnr(ya, yb).item() == pytest.approx(10 * math.log10(1 / expected_mse))
    assert ssim(ya, yb).item() == pytest.approx(_np_ssim(ya[0].numpy(), yb[0].numpy()), abs=1e-10)
