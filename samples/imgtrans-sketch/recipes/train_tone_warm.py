"""Train the bundled ``tone.warm`` weights from scratch and measure them on held-out images.

    pip install -e samples/imgtrans-sketch
    python samples/imgtrans-sketch/recipes/train_tone_warm.py [WORK_DIR]

1. makes 64 training pairs and 16 held-out images (random smooth colour images; B is the
   exact warm grade of ``imgtrans_sketch.grades``, saved as 8-bit PNG);
2. runs ``imgtrans train tone`` (30 epochs of 8 batches of 8, on the CPU);
3. copies the final checkpoint, without its optimizer state, into
   ``imgtrans_sketch/weights/tone_warm``;
4. converts the held-out images with that folder (``imgtrans convert --weights``) and prints
   the error against the exact grade, and the sha256 to put in ``tone.py``.

The same seed gives the same weights on the same torch version.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
from importlib import metadata
from pathlib import Path

import numpy as np

from imgtrans.plugin import read_image, sha256_path, write_image
from imgtrans_sketch.grades import smooth_images, to_uint8, warm_grade

PACKAGE = Path(__file__).resolve().parents[1] / "imgtrans_sketch"
BUNDLE = PACKAGE / "weights" / "tone_warm"


def imgtrans(*args: str) -> None:
    command = [sys.executable, "-m", "imgtrans", *args]
    print("$ imgtrans " + " ".join(args), flush=True)
    subprocess.run(command, check=True)


def write_pairs(folder: Path, count: int, seed: int, with_b: bool = True) -> None:
    for i, rgb in enumerate(smooth_images(count, 64, seed)):
        before = to_uint8(rgb)
        write_image(folder / "A" / f"{i:03d}.png", before)
        if with_b:
            write_image(folder / "B" / f"{i:03d}.png", to_uint8(warm_grade(before / 255.0)))


def main() -> None:
    try:
        metadata.distribution("imgtrans-sketch")
    except metadata.PackageNotFoundError:
        sys.exit("install the sample first: pip install -e samples/imgtrans-sketch")
    work = Path(sys.argv[1]) if len(sys.argv) > 1 else Path(tempfile.mkdtemp(prefix="tone-warm-"))
    shutil.rmtree(work / "run", ignore_errors=True)
    write_pairs(work / "data" / "train", 64, seed=0)
    write_pairs(work / "heldout", 16, seed=1, with_b=False)
    imgtrans("train", "tone", str(work / "data"), "--out", str(work / "run"),
             "--batch-size", "8", "--seed", "0", "--device", "cpu")

    shutil.rmtree(BUNDLE, ignore_errors=True)
    BUNDLE.mkdir(parents=True)
    latest = work / "run" / "checkpoints" / "latest"
    for name in ("imgtrans.json", "net.safetensors"):  # trainer_state.pt is for --resume only
        shutil.copyfile(latest / name, BUNDLE / name)

    out = work / "heldout-out"
    shutil.rmtree(out, ignore_errors=True)
    imgtrans("convert", str(work / "heldout" / "A"), str(out), "--weights", str(BUNDLE),
             "--device", "cpu", "--progress", "none")
    errors, identity = [], []
    for path in sorted((work / "heldout" / "A").glob("*.png")):
        before = read_image(path).pixels.astype(np.float64)
        exact = warm_grade(before / 255.0) * 255.0
        errors.append(np.abs(read_image(out / path.name).pixels - exact))
        identity.append(np.abs(before - exact))
    print(f"held-out mean abs error: {np.mean(errors):.3f}/255 (max {np.max(errors):.2f}/255); "
          f"identity: {np.mean(identity):.2f}/255")
    print(f'sha256 of {BUNDLE.relative_to(PACKAGE)}: put sha256="{sha256_path(BUNDLE)}" in tone.py')


if __name__ == "__main__":
    main()
