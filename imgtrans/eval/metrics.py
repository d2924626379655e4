"""Full-reference image quality metrics: L1, PSNR and SSIM, plus the usual evaluation steps
(luma channel, border crop) used to report them for translation and super-resolution.

Conventions shared by every function here:

- Inputs are float tensors of shape (B, C, H, W) with values in [0, 1] (``data_range`` says
  otherwise for PSNR and SSIM); both images of a pair must have the same shape.
- Metrics return one value per image: a float64 tensor of shape (B,). Each value is the mean
  over channels and pixels; average over images yourself (the mean of per-image PSNRs is the
  usual dataset figure, not the PSNR of the pooled MSE).
- Computation is done in float64, so results do not depend on the input precision.

The standard super-resolution protocol (e.g. BasicSR ``calculate_psnr(..., crop_border,
test_y_channel=True)``) is ``psnr(crop_border(rgb_to_y(a), s), crop_border(rgb_to_y(b), s))``
with ``s`` the scale factor; the same for SSIM.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

SSIM_WINDOW = 11
SSIM_SIGMA = 1.5
SSIM_K1 = 0.01
SSIM_K2 = 0.03

# ITU-R BT.601 luma for [0, 1] RGB, scaled to the studio range [16, 235] as MATLAB's rgb2ycbcr.
_Y_WEIGHTS = (65.481, 128.553, 24.966)
_Y_OFFSET = 16.0


def _check_pair(a: torch.Tensor, b: torch.Tensor) -> None:
    if a.dim() != 4 or b.dim() != 4:
        raise ValueError(f"expected (B, C, H, W) tensors, got {tuple(a.shape)} and {tuple(b.shape)}")
    if a.shape != b.shape:
        raise ValueError(f"shapes differ: {tuple(a.shape)} vs {tuple(b.shape)}")


def l1(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """Mean absolute difference per image, (B,), in the inputs' units (so in [0, 1] for
    [0, 1] images)."""
    _check_pair(a, b)
    diff = (a.double() - b.double()).abs()
    return diff.flatten(1).mean(dim=1)


def mse(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """Mean squared difference per image, (B,)."""
    _check_pair(a, b)
    diff = a.double() - b.double()
    return (diff * diff).flatten(1).mean(dim=1)


def psnr(a: torch.Tensor, b: torch.Tensor, data_range: float = 1.0) -> torch.Tensor:
    """Peak signal-to-noise ratio in dB per image, (B,): ``10 log10(data_range² / MSE)``.

    ``data_range`` is the peak value (1.0 for [0, 1] images, 255 for 8-bit levels). Identical
    images give ``inf``. No clipping or rounding is applied to the inputs; quantise them first
    if you want 8-bit-level results.
    """
    error = mse(a, b)
    return 10.0 * torch.log10(float(data_range) ** 2 / error)  # error 0 -> +inf


def gaussian_window(size: int = SSIM_WINDOW, sigma: float = SSIM_SIGMA) -> torch.Tensor:
    """Normalised 1-D Gaussian (float64, ``size`` taps, centred), as MATLAB's
    ``fspecial('gaussian')`` and OpenCV's ``getGaussianKernel`` build it; the 2-D window is
    its outer product with itself."""
    centre = (size - 1) / 2.0
    x = torch.arange(size, dtype=torch.float64) - centre
    g = torch.exp(-(x * x) / (2.0 * sigma * sigma))
    return g / g.sum()


def _filter_valid(x: torch.Tensor, window: torch.Tensor) -> torch.Tensor:
    """Separable per-channel filtering without padding: (B, C, H, W) -> (B, C, H-k+1, W-k+1)."""
    channels, k = x.shape[1], window.numel()
    rows = window.view(1, 1, k, 1).expand(channels, 1, k, 1)
    cols = window.view(1, 1, 1, k).expand(channels, 1, 1, k)
    x = F.conv2d(x, rows, groups=channels)
    return F.conv2d(x, cols, groups=channels)


def ssim_map(a: torch.Tensor, b: torch.Tensor, data_range: float = 1.0) -> torch.Tensor:
    """The local SSIM map, (B, C, H-10, W-10), float64; see :func:`ssim`."""
    _check_pair(a, b)
    height, width = a.shape[-2:]
    if height < SSIM_WINDOW or width < SSIM_WINDOW:
        raise ValueError(f"SSIM needs images of at least {SSIM_WINDOW}x{SSIM_WINDOW} pixels, "
                         f"got {width}x{height}")
    a, b = a.double(), b.double()
    window = gaussian_window().to(a.device)
    c1 = (SSIM_K1 * data_range) ** 2
    c2 = (SSIM_K2 * data_range) ** 2
    mu_a = _filter_valid(a, window)
    mu_b = _filter_valid(b, window)
    mu_aa, mu_bb, mu_ab = mu_a * mu_a, mu_b * mu_b, mu_a * mu_b
    var_a = _filter_valid(a * a, window) - mu_aa
    var_b = _filter_valid(b * b, window) - mu_bb
    cov = _filter_valid(a * b, window) - mu_ab
    return ((2.0 * mu_ab + c1) * (2.0 * cov + c2)) / ((mu_aa + mu_bb + c1) * (var_a + var_b + c2))


def ssim(a: torch.Tensor, b: torch.Tensor, data_range: float = 1.0) -> torch.Tensor:
    """Structural similarity (Wang, Bovik, Sheikh & Simoncelli 2004) per image, (B,).

    The standard form: an 11×11 Gaussian window with σ = 1.5 (normalised), K1 = 0.01,
    K2 = 0.03, C1 = (K1·L)², C2 = (K2·L)² with L = ``data_range``, population (not sample)
    statistics, and 'valid' filtering — only positions where the whole window fits, so the
    map is 10 pixels smaller in each dimension. The result is the mean of the map over
    positions and channels (colour images: the mean of the per-channel SSIMs).

    This matches BasicSR's ``calculate_ssim``, skimage's ``structural_similarity`` with
    ``gaussian_weights=True, sigma=1.5, use_sample_covariance=False, data_range=L`` and the
    reference MATLAB ``ssim_index`` — except that MATLAB's later ``ssim.m`` first downsamples
    images larger than 256 pixels on the short side, which is not done here. Images must be
    at least 11×11.
    """
    return ssim_map(a, b, data_range).flatten(1).mean(dim=1)


def rgb_to_y(x: torch.Tensor) -> torch.Tensor:
    """The Y (luma) channel of YCbCr, ITU-R BT.601 as MATLAB's ``rgb2ycbcr``, for [0, 1] RGB.

    ``Y = 16 + 65.481 R + 128.553 G + 24.966 B`` (in 8-bit levels, studio range 16..235),
    returned divided by 255, so (B, 3, H, W) in [0, 1] -> (B, 1, H, W) in [16/255, 235/255].
    The value is not rounded to whole levels (BasicSR does not round either; MATLAB does for
    uint8 input). Only 3-channel input is accepted: convert gray or RGBA to RGB first.
    """
    if x.dim() != 4 or x.shape[1] != 3:
        raise ValueError(f"rgb_to_y expects (B, 3, H, W) RGB, got {tuple(x.shape)}")
    r, g, b = x[:, 0:1], x[:, 1:2], x[:, 2:3]
    wr, wg, wb = _Y_WEIGHTS
    return (_Y_OFFSET + wr * r + wg * g + wb * b) / 255.0


def crop_border(x: torch.Tensor, n: int) -> torch.Tensor:
    """Drop ``n`` pixels from every side of (…, H, W): (…, H-2n, W-2n). ``n = 0`` returns
    ``x`` unchanged. Raises ``ValueError`` when nothing would be left."""
    n = int(n)
    if n < 0:
        raise ValueError(f"crop_border: n must be >= 0, got {n}")
    if n == 0:
        return x
    height, width = x.shape[-2:]
    if height <= 2 * n or width <= 2 * n:
        raise ValueError(f"crop_border {n} leaves nothing of a {width}x{height} image")
    return x[..., n:height - n, n:width - n]

