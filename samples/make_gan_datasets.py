"""Synthetic datasets for the bundled pix2pix and CycleGAN demo models (procedural, so no
licence questions and the true answer is known for every held-out input).

* ``facades_synth`` (aligned, pix2pix): A = label map of a building front (wall material,
  windows, door, sky) in flat label colours; B = its rendering: material texture (brick
  courses, stone blocks, plaster noise), window frames and glass, shading. The label map
  does not contain the frames or the texture: the model has to draw them.
* ``day2night_synth`` (unaligned, CycleGAN): A = day renderings, B = night renderings of
  *other* scenes (dark sky, dim blue walls, lit windows). For the test split, testA/x.png
  and testB/x.png are the same scene, so a model trained without pairs can be scored.

    python samples/make_gan_datasets.py OUT_DIR [--size 64] [--train 400] [--test 50] [--seed 0]
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

# Label colours (RGB) for the label maps.
LABEL_SKY = (0, 0, 255)
LABEL_WALLS = ((255, 0, 0), (0, 255, 0), (255, 255, 0))  # brick, stone, plaster
LABEL_WINDOW = (0, 255, 255)
LABEL_DOOR = (255, 0, 255)
WALL_DAY = ((170, 80, 60), (150, 150, 145), (225, 205, 165))


@dataclass
class Scene:
    size: int
    wall: int
    sky_rows: int
    windows: list[tuple[int, int, int, int]]
    door: tuple[int, int, int, int]


def random_scene(rng: np.random.Generator, size: int) -> Scene:
    sky = int(rng.integers(size // 10, size // 4))
    rows, cols = int(rng.integers(2, 5)), int(rng.integers(2, 5))
    win_w = int(rng.integers(size // 12, size // (cols + 1)))
    win_h = int(rng.integers(size // 12, (size - sky) // (rows + 2)))
    windows = []
    for r in range(rows):
        for c in range(cols):
            x = int((c + 0.5) * size / cols - win_w / 2)
            y = int(sky + (r + 0.6) * (size - sky - size // 5) / rows - win_h / 2)
            windows.append((x, y, win_w, win_h))
    door_w = int(rng.integers(size // 10, size // 5))
    door_x = int(rng.integers(size // 8, size - size // 8 - door_w))
    door = (door_x, size - size // 5, door_w, size // 5)
    return Scene(size, int(rng.integers(0, 3)), sky, windows, door)


def label_map(scene: Scene) -> np.ndarray:
    img = np.zeros((scene.size, scene.size, 3), np.uint8)
    img[:] = LABEL_WALLS[scene.wall]
    img[: scene.sky_rows] = LABEL_SKY
    for x, y, w, h in scene.windows:
        img[y:y + h, x:x + w] = LABEL_WINDOW
    x, y, w, h = scene.door
    img[y:y + h, x:x + w] = LABEL_DOOR
    return img


def _wall_texture(scene: Scene, rng: np.random.Generator) -> np.ndarray:
    s = scene.size
    yy, xx = np.mgrid[0:s, 0:s]
    base = np.array(WALL_DAY[scene.wall], np.float32)
    tex = np.ones((s, s), np.float32)
    if scene.wall == 0:  # brick courses: mortar lines every 4 px, staggered joints
        course = yy // 4
        tex[(yy % 4) == 0] = 1.35
        tex[((xx + 4 * (course % 2)) % 8) == 0] = 1.35
    elif scene.wall == 1:  # stone blocks
        tex[(yy % 8) == 0] = 0.75
        tex[((xx + 6 * ((yy // 8) % 2)) % 12) == 0] = 0.75
    tex = tex * (1.0 + rng.normal(0, 0.04, (s, s)).astype(np.float32))
    return base[None, None, :] * tex[..., None]


def render(scene: Scene, rng: np.random.Generator, night: bool = False) -> np.ndarray:
    s = scene.size
    img = _wall_texture(scene, rng)
    shade = np.linspace(1.05, 0.85, s, dtype=np.float32)[:, None, None]
    img = img * shade
    sky = np.linspace(0, 1, max(scene.sky_rows, 1), dtype=np.float32)[:, None, None]
    sky_day = (120 + 80 * sky) * np.array([0.75, 0.9, 1.0], np.float32)
    sky_night = (15 + 25 * sky) * np.array([0.5, 0.6, 1.0], np.float32)
    img[: scene.sky_rows] = sky_night if night else sky_day
    if night:
        img = img * np.array([0.25, 0.28, 0.45], np.float32)
        img[: scene.sky_rows] = sky_night
    for x, y, w, h in scene.windows:
        img[y - 1:y + h + 1, x - 1:x + w + 1] = (40, 40, 40) if night else (245, 245, 240)
        glass = (255, 210, 90) if night else (70, 100, 140)
        img[y:y + h, x:x + w] = glass
        img[y:y + max(1, h // 3), x:x + w] = (255, 235, 150) if night else (120, 160, 200)
    x, y, w, h = scene.door
    img[y:y + h, x:x + w] = (30, 20, 15) if night else (100, 60, 35)
    img = img + rng.normal(0, 3, img.shape)
    return np.clip(img, 0, 255).round().astype(np.uint8)


def _save(path: Path, rgb: np.ndarray) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    cv2.imwrite(str(path), cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR))


def make_facades(out: Path, size: int, n_train: int, n_test: int, seed: int) -> None:
    rng = np.random.default_rng(seed)
    for split, count in (("train", n_train), ("test", n_test)):
        for i in range(count):
            scene = random_scene(rng, size)
            _save(out / split / f"{i:04d}.png", np.concatenate([label_map(scene), render(scene, rng)], 1))


def make_day2night(out: Path, size: int, n_train: int, n_test: int, seed: int) -> None:
    rng = np.random.default_rng(seed + 1)
    for i in range(n_train):
        _save(out / "trainA" / f"{i:04d}.png", render(random_scene(rng, size), rng))
        _save(out / "trainB" / f"{i:04d}.png", render(random_scene(rng, size), rng, night=True))
    for i in range(n_test):
        scene = random_scene(rng, size)
        state = rng.bit_generator.state
        _save(out / "testA" / f"{i:04d}.png", render(scene, rng))
        rng.bit_generator.state = state  # same texture noise for the paired night view
        _save(out / "testB" / f"{i:04d}.png", render(scene, rng, night=True))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", type=Path)
    parser.add_argument("--size", type=int, default=64)
    parser.add_argument("--train", type=int, default=400)
    parser.add_argument("--test", type=int, default=50)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    make_facades(args.out / "facades_synth", args.size, args.train, args.test, args.seed)
    make_day2night(args.out / "day2night_synth", args.size, args.train, args.test, args.seed)


if __name__ == "__main__":
    main()
