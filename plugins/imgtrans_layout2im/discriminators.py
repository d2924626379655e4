"""The two layout2im discriminators (image and object), as the reference builds them,
with spectral normalisation."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


def add_spectral_norm(module: nn.Module) -> nn.Module:
    """Spectral norm (``torch.nn.utils.spectral_norm``: ``weight_orig``/``weight_u``/
    ``weight_v`` keys, as the reference's ``add_sn``) on every Conv2d, ConvTranspose2d, Linear
    and Embedding inside ``module``."""
    for name, child in module.named_children():
        module.add_module(name, add_spectral_norm(child))
    if isinstance(module, (nn.Conv2d, nn.ConvTranspose2d, nn.Linear, nn.Embedding)):
        return nn.utils.spectral_norm(module)
    return module


class OptimizedBlock(nn.Module):
    """First D block: conv3x3-ReLU-conv3x3 (+ avg-pool) plus a 1x1 shortcut on the (pooled)
    input. Keys ``resi.0``, ``resi.2``, ``sc``."""

    def __init__(self, dim_in: int, dim_out: int, downsample: bool = False) -> None:
        super().__init__()
        self.downsample = downsample
        self.resi = nn.Sequential(nn.Conv2d(dim_in, dim_out, 3, 1, 1), nn.ReLU(),
                                  nn.Conv2d(dim_out, dim_out, 3, 1, 1))
        self.sc = nn.Conv2d(dim_in, dim_out, 1) if dim_in != dim_out or downsample else None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.resi(x)
        if self.downsample:
            h, x = F.avg_pool2d(h, 2), F.avg_pool2d(x, 2)
        return h + (self.sc(x) if self.sc is not None else x)


class DiscriminatorResidualBlock(nn.Module):
    """ReLU-conv3x3(in->in)-ReLU-conv3x3(in->out) (+ avg-pool) plus a 1x1 shortcut (+ pool).
    Keys ``resi.1``, ``resi.3``, ``sc``.

    Reference quirk kept: its first ReLU is in-place on the block input, which the shortcut
    reads afterwards, so the shortcut sees relu(x), not x."""

    def __init__(self, dim_in: int, dim_out: int, downsample: bool = False) -> None:
        super().__init__()
        self.downsample = downsample
        self.resi = nn.Sequential(nn.ReLU(), nn.Conv2d(dim_in, dim_in, 3, 1, 1), nn.ReLU(),
                                  nn.Conv2d(dim_in, dim_out, 3, 1, 1))
        self.sc = nn.Conv2d(dim_in, dim_out, 1) if dim_in != dim_out or downsample else None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = F.relu(x)
        h = self.resi(x)
        s = self.sc(x) if self.sc is not None else x
        if self.downsample:
            h, s = F.avg_pool2d(h, 2), F.avg_pool2d(s, 2)
        return h + s


def _trunk(conv_dim: int, downsample_first: bool) -> nn.Sequential:
    c = conv_dim
    return nn.Sequential(OptimizedBlock(3, c, downsample_first),
                         DiscriminatorResidualBlock(c, 2 * c, True),
                         DiscriminatorResidualBlock(2 * c, 4 * c, True),
                         DiscriminatorResidualBlock(4 * c, 8 * c, True),
                         DiscriminatorResidualBlock(8 * c, 16 * c, True))


class ImageDiscriminator(nn.Module):
    """SN-ResNet on whole 64x64 images (64 -> 2 px), ReLU, sum-pool, linear without bias;
    returns one logit per image, (N,)."""

    def __init__(self, conv_dim: int = 64, spectral_norm: bool = True) -> None:
        super().__init__()
        self.main = _trunk(conv_dim, downsample_first=True)
        self.classifier = nn.Linear(16 * conv_dim, 1, bias=False)
        if spectral_norm:
            add_spectral_norm(self)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        h = F.relu(self.main(images)).sum(dim=(2, 3))
        return self.classifier(h).view(-1)


class ObjectDiscriminator(nn.Module):
    """SN-ResNet on 32x32 object crops (first block keeps the size), ReLU, sum-pool, and two
    heads: ``classifier_src`` (real/fake logit, (O,)) and ``classifier_cls`` (AC-GAN class
    logits, (O, vocab_size))."""

    def __init__(self, vocab_size: int, conv_dim: int = 64, downsample_first: bool = False,
                 spectral_norm: bool = True) -> None:
        super().__init__()
        self.main = _trunk(conv_dim, downsample_first)
        self.classifier_src = nn.Linear(16 * conv_dim, 1)
        self.classifier_cls = nn.Linear(16 * conv_dim, vocab_size)
        if spectral_norm:
            add_spectral_norm(self)

    def forward(self, crops: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        h = F.relu(self.main(crops)).sum(dim=(2, 3))
        return self.classifier_src(h).view(-1), self.classifier_cls(h)


