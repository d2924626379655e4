"""A known colour grade and random smooth colour images, for making ``tone`` training pairs.

The bundled ``tone.warm`` weights were trained on pairs made with these (see
``recipes/train_tone_warm.py``), and the tests check that the weights reproduce the grade on
fresh images. Numpy only.
"""

from __future__ import annotations

import numpy as np

# A warm look: more red, a little less blue, warm shadows. Rows give R', G', B'.
WARM_MATRIX = np.array([[1.10, 0.05, -0.03],
                        [0.02, 1.00, 0.00],
                        [-0.05, -0.03, 0.85]])
WARM_OFFSET = np.array([0.02, 0.01, -0.02])


def warm_grade(rgb: np.ndarray) -> np.ndarray:
    """The exact warm grade of float RGB (..., 3) in [0, 1], clipped to [0, 1]."""
    return np.clip(rgb @ WARM_MATRIX.T + WARM_OFFSET, 0.0, 1.0)


def smooth_images(count: int, size: int, seed: int) -> np.ndarray:
    """``count`` random smooth RGB images, float (count, size, size, 3) in [0, 1].

    Random colours on a coarse grid, bilinearly enlarged: smooth gradients that sweep through
    the whole colour cube, which is all a per-pixel model looks at.
    """
    rng = np.random.default_rng(seed)
    images = np.empty((count, size, size, 3))
    for i in range(count):
        cells = int(rng.integers(2, 7))
        grid = rng.random((cells, cells, 3))
        ramp = _linear_weights(size, cells)
        images[i] = np.einsum("yi,ijc,xj->yxc", ramp, grid, ramp)
    return images


def to_uint8(rgb: np.ndarray) -> np.ndarray:
    """Float [0, 1] to 8-bit, as the training PNGs store it."""
    return np.clip(np.round(rgb * 255.0), 0, 255).astype(np.uint8)


def _linear_weights(size: int, cells: int) -> np.ndarray:
    """(size, cells) weights that interpolate ``cells`` samples linearly across ``size``."""
    position = np.linspace(0.0, cells - 1.0, size)
    return np.clip(1.0 - np.abs(position[:, None] - np.arange(cells)[None, :]), 0.0, 1.0)
