"""Score the bundled photo models (``pix2pix.photos_stylize``, ``cyclegan.photos_stylize``) on
the held-out photographs against the exact effect, next to trivial baselines, and print
Markdown tables (recorded in pretrained/RESULTS.md).

    python pretrained/recipes/score_gan_photos.py DATA_DIR [--seed 0]

DATA_DIR is what train_gan_photos.py wrote. Targets are ``stylize(photo)`` of the whole
held-out photos (``pix2pix/test`` right halves = ``cyclegan/testB``). Baselines: the photo
itself (input copy) and the mean training target (pixel-wise mean of the training effect
tiles, resized to each photo). Models are loaded by registry name, with the options their
entries set, as users get them; the synthetic models are scored too, for comparison.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import cv2
import numpy as np

import imgtrans
from imgtrans.core.readers import read_image
from imgtrans.training.datasets import list_images, load_rgb8
from score_gan_demos import image_scores, scores, table_row


def held_out(data: Path) -> tuple[list[str], list[np.ndarray], list[np.ndarray]]:
    """(names, photos, exact effects) of the held-out photos, RGB uint8 (H, W, 3)."""
    names, photos, effects = [], [], []
    for path in list_images(data / "cyclegan" / "testA"):
        names.append(path.stem)
        photos.append(load_rgb8(path))
        effects.append(load_rgb8(data / "cyclegan" / "testB" / path.name))
    pairs = [read_image(p).pixels for p in list_images(data / "pix2pix" / "test")]
    assert len(pairs) == len(photos) and all(
        np.array_equal(p[:, p.shape[1] // 2:, :3], e) for p, e in zip(pairs, effects))
    return names, photos, effects


def mean_targets(folder: Path, photos: list[np.ndarray]) -> list[np.ndarray]:
    """The pixel-wise mean of the training targets in ``folder`` (side-by-side pairs: their
    right halves), resized to the size of each of ``photos``."""
    images = [load_rgb8(p) for p in list_images(folder)]
    if folder.name == "train":
        images = [i[:, i.shape[1] // 2:] for i in images]
    mean = np.mean([i.astype(np.float32) for i in images], axis=0)
    return [cv2.resize(mean, (p.shape[1], p.shape[0]), interpolation=cv2.INTER_LINEAR)
            .round().astype(np.uint8) for p in photos]


def table(title: str, rows: list[tuple[str, list[np.ndarray]]], effects: list[np.ndarray],
          names: list[str]) -> list[str]:
    lines = [title, "", "| model | L1 | PSNR (dB) | SSIM |", "|---|---|---|---|"]
    lines += [table_row(label, scores(outputs, effects)) for label, outputs in rows]
    lines += ["", "L1 per photo (" + ", ".join(names) + "):"]
    for label, outputs in rows:
        each = [image_scores(o, e)[0] for o, e in zip(outputs, effects)]
        lines.append(f"- {label}: " + " / ".join(f"{v:.4f}" for v in each))
    return lines


def score_pix2pix(data: Path, seed: int) -> list[str]:
    names, photos, effects = held_out(data)
    rows = []
    for label, weights, options in (
            ("pix2pix.photos_stylize (as registered: eval=true)", "pix2pix.photos_stylize", {}),
            ("same weights, eval=false (per-image statistics, dropout)", "pix2pix.photos_stylize",
             {"eval": False}),
            ("pix2pix.facades_synth (for comparison)", "pix2pix.facades_synth", {})):
        model = imgtrans.load("pix2pix", weights, options=options, seed=seed)
        rows.append((label, model(photos, names=names)))
    rows += [("baseline: input copy", photos),
             ("baseline: mean training target", mean_targets(data / "pix2pix" / "train", photos))]
    return table(f"pix2pix, {len(photos)} held-out photos (photo -> stylization)", rows, effects, names)


def score_cyclegan(data: Path, seed: int) -> list[str]:
    names, photos, effects = held_out(data)
    rows = []
    for label, weights in (("cyclegan.photos_stylize G_A", "cyclegan.photos_stylize"),
                           ("cyclegan.day2night_synth G_A (for comparison)", "cyclegan.day2night_synth")):
        model = imgtrans.load("cyclegan", weights, options={"direction": "AtoB"}, seed=seed)
        rows.append((label, model(photos, names=names)))
    rows += [("baseline: input copy", photos),
             ("baseline: mean training target (trainB)", mean_targets(data / "cyclegan" / "trainB", photos))]
    return table(f"CycleGAN, {len(photos)} held-out photos (photo -> stylization, trained unpaired)",
                 rows, effects, names)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("data", type=Path)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--only", choices=["pix2pix", "cyclegan"])
    args = parser.parse_args()
    for name, fn in (("pix2pix", score_pix2pix), ("cyclegan", score_cyclegan)):
        if args.only in (None, name):
            print("\n" + "\n".join(fn(args.data, args.seed)))


if __name__ == "__main__":
    main()
