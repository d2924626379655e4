"""Data for the bundled SDEdit demo model: rendered facades (the "real" images the diffusion
model learns) and stroke paintings of other facades (flat colour blocks, what a user paints)
that SDEdit turns into renderings. Procedural, from the same scene family as the GAN demos.

    python samples/make_sdedit_dataset.py OUT_DIR [--train 600] [--strokes 40] [--seed 0]

Writes OUT_DIR/train/*.png (renderings) and OUT_DIR/strokes/*.png (paintings, with the
rendering of the same scene in OUT_DIR/strokes_truth/ for reference).
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from make_gan_datasets import WALL_DAY, Scene, _save, random_scene, render


def stroke_painting(scene: Scene) -> np.ndarray:
    """The scene as a painter would block it in: one flat colour per region, no texture,
    no window frames, no shading."""
    s = scene.size
    img = np.zeros((s, s, 3), np.uint8)
    img[:] = WALL_DAY[scene.wall]
    img[: scene.sky_rows] = (150, 175, 200)
    for x, y, w, h in scene.windows:
        img[y:y + h, x:x + w] = (80, 115, 155)
    x, y, w, h = scene.door
    img[y:y + h, x:x + w] = (100, 60, 35)
    return img


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", type=Path)
    parser.add_argument("--train", type=int, default=600)
    parser.add_argument("--strokes", type=int, default=40)
    parser.add_argument("--size", type=int, default=64)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    rng = np.random.default_rng(args.seed + 7)
    for i in range(args.train):
        _save(args.out / "train" / f"{i:04d}.png", render(random_scene(rng, args.size), rng))
    for i in range(args.strokes):
        scene = random_scene(rng, args.size)
        _save(args.out / "strokes" / f"{i:04d}.png", stroke_painting(scene))
        _save(args.out / "strokes_truth" / f"{i:04d}.png", render(scene, rng))


if __name__ == "__main__":
    main()
