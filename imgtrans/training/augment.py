"""Jitter and flip on the training device with Kornia.

For aligned pairs the same sampled crop and flip must hit A and B, or the pair stops being
a pair; Kornia's ``AugmentationSequential`` with two ``input`` data keys applies one set of
sampled parameters to both tensors. Unaligned domains are augmented independently.
"""

from __future__ import annotations

import torch


class Jitter:
    """Random ``crop_size`` crop (after the dataset's resize to ``load_size``) and, unless
    ``flip`` is False, a random horizontal flip. Call as ``jitter(a)`` or ``jitter(a, b)``;
    tensors are float (B, C, H, W). Randomness comes from torch's global generator, which the
    training loop seeds and checkpoints."""

    def __init__(self, crop_size: int, flip: bool = True) -> None:
        import kornia.augmentation as K

        steps = [K.RandomCrop((crop_size, crop_size))]
        if flip:
            steps.append(K.RandomHorizontalFlip())
        self.single = K.AugmentationSequential(*steps, data_keys=["input"])
        self.paired = K.AugmentationSequential(*steps, data_keys=["input", "input"])

    def __call__(self, a: torch.Tensor, b: torch.Tensor | None = None):
        if b is None:
            return self.single(a)
        out_a, out_b = self.paired(a, b)
        return out_a, out_b
