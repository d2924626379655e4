"""Recipe for the bundled x4 super-resolution model trained on real photographs
(``srgan.photos_x4``): MSRResNet F32 B8, MSE loss, CPU.

    pip install scikit-image          # recipe-time only: the photographs ship in its wheel
    python pretrained/recipes/train_sr_photos.py [WORK_DIR] [--max-steps 1500] [--threads 1]

The photographs are read straight from the files bundled in the scikit-image wheel
(``skimage/data/``), never through ``skimage.data``'s downloader, so nothing is fetched.
Training photos are cut into overlapping 192 px tiles (flat tiles dropped); the held-out
photos stay whole and are only used for scoring. Licences: ``pretrained/README.md``.
With ``--samples samples/srgan`` it also writes the demo's SR samples: crops of held-out
photos, downscaled x4, with the HR crops as ground truth in ``truth/``.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import cv2
import numpy as np

ROOT = Path(__file__).resolve().parents[2]
# Bundled in the wheel with a clear licence (see pretrained/README.md).
TRAIN = ("astronaut.png", "coffee.png", "hubble_deep_field.jpg", "ihc.png", "retina.jpg",
         "camera.png", "brick.png", "grass.png", "gravel.png", "text.png")
HELD_OUT = ("chelsea.png", "rocket.jpg", "coins.png")
TILE, STRIDE, MIN_STD = 192, 128, 6.0
# Large, soft photos are halved first (sharper HR, and retina would otherwise outnumber the rest).
HALVED = ("retina.jpg",)
# The demo's SR samples: 256 x 256 crops (HR truth) of held-out photos: (file, (top, left)).
DEMO_SAMPLES = (("rocket.jpg", (100, 140)), ("chelsea.png", (20, 100)))
DEMO_SIZE = 256


def skimage_data_dir() -> Path:
    import skimage  # recipe-time dependency only
    return Path(skimage.__file__).parent / "data"


def read_bgr(path: Path) -> np.ndarray:
    """Gray photos become 3 equal channels (the model is RGB)."""
    image = cv2.imread(str(path), cv2.IMREAD_COLOR)
    if image is None:
        raise FileNotFoundError(path)
    return image


def training_photo(name: str) -> np.ndarray:
    """A training photo as BGR uint8, at the size the recipes tile it (HALVED ones halved)."""
    image = read_bgr(skimage_data_dir() / name)
    if name in HALVED:
        image = cv2.resize(image, None, fx=0.5, fy=0.5, interpolation=cv2.INTER_AREA)
    return image


def tiles(image: np.ndarray, size: int = TILE, stride: int = STRIDE) -> list[np.ndarray]:
    """Overlapping ``size`` x ``size`` tiles (the whole side when shorter) covering the image,
    the last row and column flush with the border; nearly flat tiles (std < MIN_STD levels)
    teach nothing and are dropped. Also used by ``train_gan_photos.py``."""
    height, width = image.shape[:2]
    tile_h, tile_w = min(size, height), min(size, width)  # text.png is only 172 px high
    tops = sorted({*range(0, height - tile_h + 1, stride), height - tile_h})
    lefts = sorted({*range(0, width - tile_w + 1, stride), width - tile_w})
    found = [image[t:t + tile_h, l:l + tile_w] for t in tops for l in lefts]
    return [t for t in found if t.std() >= MIN_STD]


def build_dataset(out: Path) -> None:
    src = skimage_data_dir()
    (out / "train").mkdir(parents=True, exist_ok=True)
    (out / "test").mkdir(parents=True, exist_ok=True)
    count = 0
    for name in TRAIN:
        for i, tile in enumerate(tiles(training_photo(name))):
            cv2.imwrite(str(out / "train" / f"{Path(name).stem}_{i:03d}.png"), tile)
            count += 1
    for name in HELD_OUT:
        cv2.imwrite(str(out / "test" / f"{Path(name).stem}.png"), read_bgr(src / name))
    print(f"dataset: {count} training tiles from {len(TRAIN)} photos, {len(HELD_OUT)} held-out photos")


def write_demo_samples(samples: Path) -> None:
    """HR truth crops + their x4 inputs, downscaled exactly as ``imgtrans eval`` does."""
    from imgtrans.eval.generate import downscale

    (samples / "truth").mkdir(parents=True, exist_ok=True)
    for name, (top, left) in DEMO_SAMPLES:
        hr = read_bgr(skimage_data_dir() / name)[top:top + DEMO_SIZE, left:left + DEMO_SIZE]
        lr = downscale(np.ascontiguousarray(hr[..., ::-1]), 4)[..., ::-1]
        stem = f"{Path(name).stem}_x4"
        cv2.imwrite(str(samples / f"{stem}.png"), lr)
        cv2.imwrite(str(samples / "truth" / f"{stem}.png"), hr)
        print(f"demo sample: {samples / stem}.png ({DEMO_SIZE // 4} px) and truth/{stem}.png")


def bundle(checkpoint: Path, out: Path) -> None:
    """The checkpoint as it is (weights + imgtrans.json), without the optimizer state."""
    out.mkdir(parents=True, exist_ok=True)
    for path in checkpoint.iterdir():
        if path.is_file() and path.name != "trainer_state.pt":
            shutil.copyfile(path, out / path.name)
    print(f"bundled {checkpoint} into {out}")


def run(*args: str, log: Path | None = None, threads: int = 1) -> None:
    env = {**os.environ, "OMP_NUM_THREADS": str(threads)}
    print("$", " ".join(args), flush=True)
    if log is None:
        subprocess.run(args, check=True, env=env, cwd=ROOT)
        return
    with open(log, "w") as sink:
        subprocess.run(args, check=True, env=env, cwd=ROOT, stdout=sink, stderr=subprocess.STDOUT)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("work", type=Path, nargs="?", default=Path("/tmp/imgtrans-sr-photos"))
    parser.add_argument("--max-steps", type=int, default=1500)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--out", type=Path, default=ROOT / "pretrained" / "srgan_photos_x4")
    parser.add_argument("--samples", type=Path, default=None,
                        help="also write the demo's SR samples here (e.g. samples/srgan)")
    parser.add_argument("--skip-train", action="store_true", help="bundle and score an existing run")
    parser.add_argument("--checkpoint", type=Path, default=None,
                        help="bundle this checkpoint folder instead of the run's latest")
    args = parser.parse_args()
    bin_dir = Path(sys.executable).parent
    data, run_dir = args.work / "data", args.work / "run"
    if not args.skip_train:
        build_dataset(data)
        start = time.time()
        run(str(bin_dir / "imgtrans"), "train", "srgan", str(data), "--out", str(run_dir),
            "--opt", "arch=msrresnet", "--opt", "num_feat=32", "--opt", "num_block=8",
            "--opt", "crop_size=96", "--opt", "lr=3e-4", "--opt", "n_epochs=1000",
            "--max-steps", str(args.max_steps), "--batch-size", "16",
            "--seed", "0", log=args.work / "train.log", threads=args.threads)
        print(f"trained {args.max_steps} steps in {time.time() - start:.0f} s")
    bundle(args.checkpoint or run_dir / "checkpoints" / "latest", args.out)
    run(str(bin_dir / "imgtrans"), "eval", str(args.work / "eval"), str(data / "test"), "--plugin", "srgan",
        "--weights", str(args.out), "--metrics", "psnr,ssim,bicubic", threads=args.threads)
    if args.samples:
        write_demo_samples(args.samples)


if __name__ == "__main__":
    main()
