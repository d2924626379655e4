"""Learning-rate schedules, stepped once per epoch, after the epoch's steps (the training
loop), as junyanz/pytorch-CycleGAN-and-pix2pix's train.py does today.

That train.py called ``model.update_learning_rate()`` after each epoch until 2020-07-19
(fd29199), before each epoch from then until 2025-07-30 (cb0ebe9), and after again since.
Stepped after, epoch e (1-based) trains at ``lr * factor(e - 1)``: with 100 + 100 epochs,
epoch 100 at 2e-4, 101 at 1.98e-4, 200 at 1.98e-6. The 2020-2025 scripts were one epoch
ahead (``factor(e)``: epoch 100 at 1.98e-4, 200 at 0). bench/reference_train.py compares.
"""

from __future__ import annotations

from typing import Callable


def linear_decay(n_epochs: int, n_epochs_decay: int, epoch_count: int = 1) -> Callable[[int], float]:
    """Constant for ``n_epochs``, then linearly towards zero over ``n_epochs_decay``: the
    factor for epoch e (0-based, the scheduler's count of steps) is
    ``1 - max(0, e + epoch_count - n_epochs) / (n_epochs_decay + 1)``, the reference's
    ``lambda_rule``."""

    def factor(epoch: int) -> float:
        return 1.0 - max(0, epoch + epoch_count - n_epochs) / float(n_epochs_decay + 1)

    return factor
