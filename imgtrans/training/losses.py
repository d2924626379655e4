"""GAN objectives as in pix2pix/CycleGAN: lsgan (MSE), vanilla (BCE with logits), wgangp."""

from __future__ import annotations

import torch
import torch.nn.functional as F


def gan_loss(prediction: torch.Tensor, target_is_real: bool, mode: str) -> torch.Tensor:
    """Loss of discriminator output ``prediction`` (any shape, raw scores) against a real
    (1.0) or fake (0.0) label; ``wgangp`` uses the signed mean instead of labels."""
    if mode == "wgangp":
        return -prediction.mean() if target_is_real else prediction.mean()
    target = torch.full_like(prediction, 1.0 if target_is_real else 0.0)
    if mode == "lsgan":
        return F.mse_loss(prediction, target)
    if mode == "vanilla":
        return F.binary_cross_entropy_with_logits(prediction, target)
    raise ValueError(f"unknown GAN mode {mode!r}; use lsgan, vanilla or wgangp")


def discriminator_loss(real: torch.Tensor, fake: torch.Tensor, mode: str) -> torch.Tensor:
    """0.5 * (loss on real + loss on fake), the reference's weighting."""
    return 0.5 * (gan_loss(real, True, mode) + gan_loss(fake, False, mode))
