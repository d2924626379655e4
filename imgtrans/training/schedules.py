"""Learning-rate schedules, stepped once per epoch like the reference."""

from __future__ import annotations

from typing import Callable


def linear_decay(n_epochs: int, n_epochs_decay: int, epoch_count: int = 1) -> Callable[[int], float]:
    """Constant for ``n_epochs``, then linearly to zero over ``n_epochs_decay``: the factor
    for epoch e (0-based) is ``1 - max(0, e + epoch_count - n_epochs) / (n_epochs_decay + 1)``."""

    def factor(epoch: int) -> float:
        return 1.0 - max(0, epoch + epoch_count - n_epochs) / float(n_epochs_decay + 1)

    return factor
