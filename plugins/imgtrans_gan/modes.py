"""pix2pix's test modes and batches that behave as separate images.

The reference tests pix2pix with its nets in train mode by default (dropout on, BatchNorm on
the statistics of the current batch), so a result depends on the other images of its batch.
``PerImageBatchNorm2d`` and ``PerImageDropout`` (what :mod:`imgtrans_gan.networks` builds;
same parameters and state-dict keys as torch's layers) give each image, inside
:func:`per_image`, exactly what it gets alone. :func:`set_pix2pix_test_mode` chooses between
that mode and ``--eval`` without ever changing the model.
"""

from __future__ import annotations

from contextlib import contextmanager
from typing import Iterator, Sequence

import torch
import torch.nn.functional as F
from torch import nn


class PerImageBatchNorm2d(nn.BatchNorm2d):
    """``nn.BatchNorm2d`` (same parameters and state-dict keys) that, inside
    :func:`per_image`, normalises each image of a batch with its own statistics whenever it
    would use batch statistics (pix2pix's default test mode), so a batch gives every image
    what it gets alone."""

    per_image = False

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not (self.per_image and self.training and not self.track_running_stats):
            return super().forward(x)
        # The images side by side as the channels of one image: the same kernel and the same
        # per-channel reduction as a batch of one, so the result is bit for bit the same.
        b, c = x.shape[:2]
        weight = None if self.weight is None else self.weight.repeat(b)
        bias = None if self.bias is None else self.bias.repeat(b)
        y = F.batch_norm(x.reshape(1, b * c, *x.shape[2:]), None, None, weight, bias,
                         True, 0.0, self.eps)
        return y.view_as(x)


class PerImageDropout(nn.Dropout):
    """``nn.Dropout`` that, inside :func:`per_image`, draws image ``i``'s mask from
    ``generators[i]`` (the same draw ``F.dropout`` makes on the CPU from a global generator in
    that state), so a batch gives every image what it gets alone."""

    generators: Sequence[torch.Generator] | None = None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.generators is None or not self.training or not 0.0 < self.p < 1.0:
            return super().forward(x)
        if len(self.generators) != x.shape[0]:
            raise ValueError(f"{len(self.generators)} generators for a batch of {x.shape[0]}")
        noise = torch.empty_like(x)
        for image_noise, generator in zip(noise, self.generators):
            image_noise.bernoulli_(1.0 - self.p, generator=generator)
        return x * noise.div_(1.0 - self.p)


@contextmanager
def per_image(net: nn.Module, generators: Sequence[torch.Generator]) -> Iterator[nn.Module]:
    """Within the block, ``net`` treats a batch as separate images: batch statistics are
    computed per image and dropout masks come from ``generators[i]`` for image ``i``.
    Refuses nets with BatchNorm or Dropout layers of other classes, which would mix images."""
    layers = [m for m in net.modules() if isinstance(m, (nn.modules.batchnorm._BatchNorm, nn.Dropout))]
    foreign = {type(m).__name__ for m in layers if not isinstance(m, (PerImageBatchNorm2d, PerImageDropout))}
    if foreign:
        raise TypeError(f"cannot run {', '.join(sorted(foreign))} layers per image; build the "
                        f"network with imgtrans_gan.networks")
    try:
        for m in layers:
            if isinstance(m, PerImageBatchNorm2d):
                m.per_image = True
            else:
                m.generators = list(generators)
        yield net
    finally:
        for m in layers:
            if isinstance(m, PerImageBatchNorm2d):
                m.per_image = False
            else:
                m.generators = None


def set_pix2pix_test_mode(net: nn.Module, eval_mode: bool) -> nn.Module:
    """Choose the test behaviour. ``eval_mode=True`` is the reference ``--eval``: running BN
    statistics, no dropout. ``False`` is the reference default (nets left in train mode):
    dropout is active and BatchNorm normalises with the statistics of the current batch.

    Unlike ``net.train()``, this never changes the model: BatchNorm layers get
    ``track_running_stats=False`` while in this mode, so they use batch statistics without
    updating running_mean/var or num_batches_tracked (momentum=0 would still bump
    num_batches_tracked). Batch statistics mix the images of a batch; run the net inside
    :func:`per_image` to get the reference (and batching-independent) result.
    """
    net.train(not eval_mode)
    for module in net.modules():
        if isinstance(module, nn.modules.batchnorm._BatchNorm):
            if not hasattr(module, "_imgtrans_tracks"):
                module._imgtrans_tracks = module.track_running_stats  # type: ignore[assignment]
            module.track_running_stats = bool(module._imgtrans_tracks) if eval_mode else False
    return net


def restore_train_mode(net: nn.Module) -> nn.Module:
    """``net.train()`` with BatchNorm running-stat tracking restored; use it before training a
    net that went through ``set_pix2pix_test_mode(net, False)``, or its BN would stop tracking."""
    set_pix2pix_test_mode(net, True)
    return net.train()
