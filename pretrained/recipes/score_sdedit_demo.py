"""Faithfulness and realism of the bundled SDEdit demo model against t0 (strength), the
trade-off the SDEdit paper plots, on stroke paintings the model never saw.

    python pretrained/recipes/score_sdedit_demo.py DATA_DIR [--weights W] [--steps 50]

DATA_DIR is what samples/make_sdedit_dataset.py wrote. For each strength:
- faithfulness: RMS distance (0..1) between the output and the stroke guide (lower = more faithful);
- realism: Frechet distance between simple image statistics (colour means/deviations, gradient
  energy, high-frequency energy) of the outputs and of the training renderings (lower = more
  like the training images);
- truth: L1 to the true rendering of the painted scene (lower is better; not used by SDEdit).
Strength 0 returns the strokes themselves: that row is the baseline. The metrics are
``imgtrans eval``'s (``pip install 'imgtrans[eval]'`` for the Frechet distance, torchmetrics).
"""

from __future__ import annotations

import argparse
from pathlib import Path

import cv2
import numpy as np
import torch

import imgtrans
from imgtrans.core.readers import read_image
from imgtrans.eval.distribution import ArrayFeatures, set_distances
from imgtrans.eval.metrics import mse
from imgtrans.eval.paired import mean_rows, score_arrays
from imgtrans.eval.pairs import array_to_tensor
from imgtrans.training.datasets import list_images

ROOT = Path(__file__).resolve().parents[2]


def statistics(image: np.ndarray) -> np.ndarray:
    """A small feature vector of what distinguishes renderings from flat paintings."""
    x = image.astype(np.float64) / 255.0
    gray = cv2.cvtColor(image, cv2.COLOR_RGB2GRAY).astype(np.float64) / 255.0
    gx, gy = cv2.Sobel(gray, cv2.CV_64F, 1, 0), cv2.Sobel(gray, cv2.CV_64F, 0, 1)
    grad = np.hypot(gx, gy)
    lap = cv2.Laplacian(gray, cv2.CV_64F)
    return np.array([*x.mean((0, 1)), *x.std((0, 1)), grad.mean(), np.percentile(grad, 90), lap.var()])


def frechet(images: list[np.ndarray], reference: list[np.ndarray]) -> float:
    """``imgtrans eval``'s FID, in the feature space of :func:`statistics` instead of
    InceptionV3's (uint8 (H, W, 3) RGB images)."""
    def batch(arrays: list[np.ndarray]):
        return (torch.from_numpy(np.ascontiguousarray(a[..., :3])).permute(2, 0, 1)[None] for a in arrays)

    return set_distances(batch(images), batch(reference), ArrayFeatures(statistics), ["fid"])["fid"]


def rms(a: np.ndarray, b: np.ndarray) -> float:
    """Root mean squared difference in [0, 1] units."""
    return float(mse(array_to_tensor(a)[0], array_to_tensor(b)[0])[0]) ** 0.5


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("data", type=Path)
    parser.add_argument("--weights", default=str(ROOT / "pretrained" / "sdedit_facades_synth"))
    parser.add_argument("--steps", type=int, default=50)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    strokes = [read_image(p).pixels for p in list_images(args.data / "strokes")]
    truths = [read_image(p).pixels for p in list_images(args.data / "strokes_truth")]
    train = [read_image(p).pixels for p in list_images(args.data / "train")]
    names = [f"{i}" for i in range(len(strokes))]
    print(f"SDEdit on {len(strokes)} held-out stroke paintings, DDIM {args.steps} steps, seed {args.seed}\n")
    print("| strength (t0) | faithfulness: RMS to strokes | realism: Frechet distance of statistics | L1 to true rendering |")
    print("|---|---|---|---|")
    for strength in (0.0, 0.2, 0.4, 0.5, 0.6, 0.8, 1.0):
        model = imgtrans.load("sdedit", args.weights, options={"strength": strength, "steps": args.steps},
                              seed=args.seed)
        outputs = model(strokes, names=names)
        faithfulness = np.mean([rms(o, s) for o, s in zip(outputs, strokes)])
        l1 = mean_rows(score_arrays(outputs, truths, names=("l1",)))["l1"]
        print(f"| {strength:.1f} | {faithfulness:.4f} | {frechet(outputs, train):.4f} | {l1:.4f} |")


if __name__ == "__main__":
    main()
