"""Recipe for the pix2pix and CycleGAN demo weights trained on real photographs
(``pix2pix.photos_stylize``, ``cyclegan.photos_stylize``): photo -> OpenCV's edge-preserving
stylization, an effect with an exact ground truth. CPU, one thread per training, about
40 minutes each on the shared 2-core machine (pretrained/RESULTS.md).

    pip install scikit-image          # recipe-time only: the photographs ship in its wheel
    python pretrained/recipes/train_gan_photos.py [WORK_DIR] [--samples samples]

The photographs are those of ``train_sr_photos.py`` (read from the scikit-image wheel,
nothing downloaded; licences in ``pretrained/README.md``), with the same held-out photos.
The effect is :func:`stylize` applied to the whole photograph, so every target is exact;
training tiles are cut at the same places from the photo and its effect, colour ones in
their 3 cyclic channel orders (see :func:`photo_effect_tiles`).

* pix2pix (aligned A|B files): ``pix2pix/train/`` photo|effect tiles of the 10 training
  photos; ``pix2pix/test/`` the 3 held-out photos, whole.
* CycleGAN (unpaired): ``cyclegan/trainA`` photo tiles of half the training photos,
  ``cyclegan/trainB`` effect tiles of the other half (so no pair exists);
  ``testA``/``testB`` the held-out photos and their effects.

Both trainings run at once with one thread each; the final checkpoints are bundled with
``bundle_checkpoint.py`` and scored with ``score_gan_photos.py``. With ``--samples`` it also
writes the demo's samples (crops of held-out photos) to ``<samples>/pix2pix``.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path

import cv2
import numpy as np

import train_sr_photos as photos  # the photo lists and tiling the SR recipe uses

ROOT = Path(__file__).resolve().parents[2]
RECIPES = Path(__file__).resolve().parent
SIGMA_S, SIGMA_R = 60, 0.45  # OpenCV's defaults: flat colour regions, dark outlines
TILE, STRIDE = 144, 112  # training crops of 128 px are cut from these tiles
# CycleGAN's two domains come from disjoint photos, each half with colour and gray ones and
# about as many tiles and as bright (the dark Hubble field balances the bright ihc), so
# brightness is no cue for its discriminators.
CYCLE_PHOTOS = ("astronaut.png", "hubble_deep_field.jpg", "camera.png", "grass.png", "text.png")
CYCLE_EFFECTS = ("coffee.png", "ihc.png", "retina.jpg", "brick.png", "gravel.png")
# The demo's samples: 256 x 256 crops of held-out photos, (file, (top, left)).
DEMO_SAMPLES = (("chelsea.png", (20, 95)), ("rocket.jpg", (170, 230)), ("coins.png", (40, 120)))
DEMO_SIZE = 256
# The demo runs default weights only: cyclegan.photos_stylize is not the default (it does not
# beat the input copy, pretrained/RESULTS.md), so samples/cyclegan keeps its synthetic scenes.
DEMO_TRANSLATORS = ("pix2pix",)


def stylize(bgr: np.ndarray) -> np.ndarray:
    """The target effect: ``cv2.stylization`` with fixed sigmas. (H, W, 3) uint8 in and out,
    either channel order (the filter treats the channels alike); deterministic."""
    return cv2.stylization(np.ascontiguousarray(bgr), sigma_s=SIGMA_S, sigma_r=SIGMA_R)


def photo_effect_tiles(name: str) -> list[tuple[str, np.ndarray, np.ndarray]]:
    """(name suffix, photo tile, effect tile) of a training photo, cut at the same places.

    Colour tiles come in their 3 cyclic channel orders: :func:`stylize` treats the channels
    alike, so ``stylize(roll(x)) == roll(stylize(x))`` exactly and the shifted pairs are exact
    too. Ten photos have few colours (no blue sky at all); the shifts teach the models that
    the effect keeps colours, whatever they are, instead of pulling them towards the
    training photos' browns."""
    image = photos.training_photo(name)
    stacked = np.concatenate([image, stylize(image)], axis=-1)
    gray = bool((image[..., 0] == image[..., 1]).all() and (image[..., 1] == image[..., 2]).all())
    found = []
    for i, tile in enumerate(photos.tiles(stacked, TILE, STRIDE)):
        photo, effect = tile[..., :3], tile[..., 3:]
        for shift in (0,) if gray else (0, 1, 2):
            found.append((f"{i:03d}_c{shift}", np.roll(photo, shift, -1), np.roll(effect, shift, -1)))
    return found


def held_out() -> list[tuple[str, np.ndarray, np.ndarray]]:
    """(stem, photo, effect) of each held-out photo, whole."""
    found = []
    for name in photos.HELD_OUT:
        image = photos.read_bgr(photos.skimage_data_dir() / name)
        found.append((Path(name).stem, image, stylize(image)))
    return found


def _write(path: Path, image: np.ndarray) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    if not cv2.imwrite(str(path), image):
        raise OSError(f"could not write {path}")


def build_datasets(out: Path) -> None:
    assert not set(CYCLE_PHOTOS) & set(CYCLE_EFFECTS)
    assert set(CYCLE_PHOTOS) | set(CYCLE_EFFECTS) == set(photos.TRAIN)
    counts = {"pix2pix": 0, "trainA": 0, "trainB": 0}
    for name in photos.TRAIN:
        stem = Path(name).stem
        for suffix, photo, effect in photo_effect_tiles(name):
            _write(out / "pix2pix" / "train" / f"{stem}_{suffix}.png", np.concatenate([photo, effect], 1))
            counts["pix2pix"] += 1
            domain = "trainA" if name in CYCLE_PHOTOS else "trainB"
            _write(out / "cyclegan" / domain / f"{stem}_{suffix}.png",
                   photo if domain == "trainA" else effect)
            counts[domain] += 1
    for stem, photo, effect in held_out():
        _write(out / "pix2pix" / "test" / f"{stem}.png", np.concatenate([photo, effect], 1))
        _write(out / "cyclegan" / "testA" / f"{stem}.png", photo)
        _write(out / "cyclegan" / "testB" / f"{stem}.png", effect)
    print(f"datasets in {out}: pix2pix {counts['pix2pix']} training pairs; CycleGAN "
          f"{counts['trainA']} photo tiles / {counts['trainB']} effect tiles; "
          f"{len(photos.HELD_OUT)} held-out photos")


def write_demo_samples(samples: Path, translators: tuple[str, ...] = DEMO_TRANSLATORS) -> None:
    """DEMO_SIZE crops of held-out photos for each of ``translators`` (their targets are
    ``stylize(crop)``; tests/gan/test_gan_photos.py recomputes them)."""
    for name, (top, left) in DEMO_SAMPLES:
        crop = photos.read_bgr(photos.skimage_data_dir() / name)[top:top + DEMO_SIZE, left:left + DEMO_SIZE]
        for translator in translators:
            path = samples / translator / f"{Path(name).stem}.png"
            _write(path, crop)
            print(f"demo sample: {path} ({path.stat().st_size // 1024} KB)")


# The two training commands (run from the repository root); DATA and RUN are filled in.
PIX2PIX = ("train", "pix2pix", "{data}/pix2pix", "--out", "{run}/pix2pix",
           "--opt", "depth=6", "--opt", "ngf=16", "--opt", "ndf=32",
           "--opt", "load_size=144", "--opt", "crop_size=128",
           "--opt", "n_epochs=6", "--opt", "n_epochs_decay=7",
           "--batch-size", "4", "--max-steps", "2249", "--seed", "0")  # 693 pairs // 4 = 173 steps/epoch
CYCLEGAN = ("train", "cyclegan", "{data}/cyclegan", "--out", "{run}/cyclegan",
            "--opt", "n_blocks=6", "--opt", "ngf=16", "--opt", "ndf=32",
            "--opt", "load_size=144", "--opt", "crop_size=96",
            "--opt", "n_epochs=3", "--opt", "n_epochs_decay=3",
            "--batch-size", "1", "--max-steps", "2094", "--seed", "0")  # 349 items/epoch


def train_both(data: Path, run: Path, logs: Path, threads: int) -> None:
    """Both trainings at once, ``threads`` threads each; prints each one's wall time."""
    imgtrans = str(Path(sys.executable).parent / "imgtrans")
    env = {**os.environ, "OMP_NUM_THREADS": str(threads)}
    jobs = {}
    for name, template in (("pix2pix", PIX2PIX), ("cyclegan", CYCLEGAN)):
        args = [imgtrans, *(a.format(data=data, run=run) for a in template)]
        print("$", f"OMP_NUM_THREADS={threads}", " ".join(args), flush=True)
        sink = open(logs / f"{name}.log", "w")
        jobs[name] = (subprocess.Popen(args, env=env, cwd=ROOT, stdout=sink, stderr=subprocess.STDOUT),
                      sink, time.time())
    while jobs:
        for name, (process, sink, start) in list(jobs.items()):
            if process.poll() is None:
                continue
            sink.close()
            del jobs[name]
            if process.returncode:
                raise SystemExit(f"{name} training failed; see {logs / name}.log")
            print(f"{name}: trained in {time.time() - start:.0f} s", flush=True)
        time.sleep(5)


def run_script(script: str, *args: str) -> None:
    command = [sys.executable, str(RECIPES / script), *args]
    print("$", " ".join(command), flush=True)
    subprocess.run(command, check=True, cwd=ROOT)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("work", type=Path, nargs="?", default=Path("/tmp/imgtrans-gan-photos"))
    parser.add_argument("--threads", type=int, default=1, help="threads per training")
    parser.add_argument("--samples", type=Path, default=None,
                        help="also write the demo's samples under this folder (e.g. samples)")
    parser.add_argument("--skip-train", action="store_true", help="bundle and score an existing run")
    args = parser.parse_args()
    data, run = args.work / "data", args.work / "runs"
    if not args.skip_train:
        build_datasets(data)
        run.mkdir(parents=True, exist_ok=True)
        train_both(data, run, args.work, args.threads)
    pretrained = ROOT / "pretrained"
    run_script("bundle_checkpoint.py", str(run / "pix2pix"), str(pretrained / "pix2pix_photos_stylize"), "G")
    run_script("bundle_checkpoint.py", str(run / "cyclegan"), str(pretrained / "cyclegan_photos_stylize"),
               "G_A", "G_B")
    run_script("score_gan_photos.py", str(data))
    if args.samples:
        write_demo_samples(args.samples)


if __name__ == "__main__":
    main()
