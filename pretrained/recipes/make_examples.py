"""The example images the registry's bundled demo weights point to (``"examples"``): the
first training images of each, made by the same generators with the same seeds as the
recipes that trained them. The web app shows them beside its weights menu.

    python pretrained/recipes/make_examples.py        # from the repository's root
"""

from __future__ import annotations

import shutil
import sys
import tempfile
from pathlib import Path

import cv2
import numpy as np

ROOT = Path(__file__).resolve().parents[2]
OUT = ROOT / "pretrained" / "examples"
COUNT = 4


def _write(folder: Path, images: list[np.ndarray]) -> None:
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    for i, rgb in enumerate(images):
        cv2.imwrite(str(folder / f"{i}.png"), cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR),
                    [cv2.IMWRITE_PNG_COMPRESSION, 9])


def sdedit_facades() -> list[np.ndarray]:
    """As train_sdedit_demo.sh: ``make_sdedit_dataset.py --seed 0``, its first renderings."""
    sys.path.insert(0, str(ROOT / "samples"))
    from make_gan_datasets import random_scene, render

    rng = np.random.default_rng(0 + 7)
    return [render(random_scene(rng, 64), rng) for _ in range(COUNT)]


def layout2im_shapes() -> list[np.ndarray]:
    """As train_layout2im_demo.sh: ``make_dataset(..., seed=0)``, its first images."""
    sys.path.insert(0, str(ROOT / "plugins"))
    from imgtrans_layout2im.synthetic import make_dataset

    with tempfile.TemporaryDirectory() as tmp:
        make_dataset(Path(tmp), COUNT, 0)
        files = sorted((Path(tmp) / "images").glob("*.png"))
        return [cv2.cvtColor(cv2.imread(str(f)), cv2.COLOR_BGR2RGB) for f in files]


def main() -> None:
    _write(OUT / "sdedit_facades_synth", sdedit_facades())
    _write(OUT / "layout2im_shapes_synth", layout2im_shapes())


if __name__ == "__main__":
    main()
