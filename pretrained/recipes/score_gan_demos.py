"""Score the bundled pix2pix and CycleGAN demo models on held-out synthetic data against
trivial baselines, and print a Markdown table (recorded in pretrained/RESULTS.md).

    python pretrained/recipes/score_gan_demos.py DATA_DIR [--seed 0]

DATA_DIR is what samples/make_gan_datasets.py wrote. pix2pix: labels -> facade on the aligned
test split (target = right half); baselines: the label map itself (input copy) and the mean
training photo. CycleGAN (trained unpaired): day testA -> night, scored against the true
night rendering testB of the same scene; baselines: input copy and the mean night image.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

import imgtrans
from imgtrans.core.readers import read_image
from imgtrans.eval.paired import mean_rows, score_arrays
from imgtrans.training.datasets import list_images

ROOT = Path(__file__).resolve().parents[2]


def image_scores(output: np.ndarray, target: np.ndarray) -> tuple[float, float, float]:
    """(L1, PSNR in dB, SSIM) of one uint8 (H, W, C) image against its target, in [0, 1]
    units: ``imgtrans eval``'s paired metrics."""
    row = score_arrays([output], [target])[0]
    return row["l1"], row["psnr"], row["ssim"]


def scores(outputs: list[np.ndarray], targets: list[np.ndarray]) -> tuple[float, float, float]:
    """Means over the images of :func:`image_scores` (the images may differ in size)."""
    mean = mean_rows(score_arrays(outputs, targets))
    return mean["l1"], mean["psnr"], mean["ssim"]


def table_row(name: str, values: tuple[float, float, float]) -> str:
    return f"| {name} | {values[0]:.4f} | {values[1]:.2f} | {values[2]:.4f} |"


def score_pix2pix(data: Path, seed: int) -> list[str]:
    model = imgtrans.load("pix2pix", ROOT / "pretrained" / "pix2pix_facades_synth", seed=seed)
    pairs = [read_image(p).pixels for p in list_images(data / "facades_synth" / "test")]
    labels = [p[:, : p.shape[1] // 2] for p in pairs]
    photos = [p[:, p.shape[1] // 2:] for p in pairs]
    train = [read_image(p).pixels for p in list_images(data / "facades_synth" / "train")]
    mean_photo = np.mean([p[:, p.shape[1] // 2:] for p in train], axis=0).round().astype(np.uint8)
    outputs = model(labels, names=[f"{i}" for i in range(len(labels))])
    return [f"pix2pix facades_synth, {len(pairs)} held-out pairs (labels -> photo)",
            table_row("pix2pix (bundled)", scores(outputs, photos)),
            table_row("baseline: input copy", scores(labels, photos)),
            table_row("baseline: mean training photo", scores([mean_photo] * len(photos), photos))]


def score_cyclegan(data: Path, seed: int) -> list[str]:
    model = imgtrans.load("cyclegan", ROOT / "pretrained" / "cyclegan_day2night_synth",
                          options={"direction": "AtoB"}, seed=seed)
    days = [read_image(p).pixels for p in list_images(data / "day2night_synth" / "testA")]
    nights = [read_image(p).pixels for p in list_images(data / "day2night_synth" / "testB")]
    train_b = [read_image(p).pixels for p in list_images(data / "day2night_synth" / "trainB")]
    mean_night = np.mean(train_b, axis=0).round().astype(np.uint8)
    outputs = model(days, names=[f"{i}" for i in range(len(days))])
    return [f"CycleGAN day2night_synth, {len(days)} held-out scenes (day -> night, trained unpaired)",
            table_row("CycleGAN G_A (bundled)", scores(outputs, nights)),
            table_row("baseline: input copy", scores(days, nights)),
            table_row("baseline: mean training night image", scores([mean_night] * len(nights), nights))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("data", type=Path)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--only", choices=["pix2pix", "cyclegan"])
    args = parser.parse_args()
    for name, fn in (("pix2pix", score_pix2pix), ("cyclegan", score_cyclegan)):
        if args.only in (None, name):
            lines = fn(args.data, args.seed)
            print(f"\n{lines[0]}\n\n| model | L1 | PSNR (dB) | SSIM |\n|---|---|---|---|")
            print("\n".join(lines[1:]))


if __name__ == "__main__":
    main()
