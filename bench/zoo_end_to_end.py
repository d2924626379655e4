"""Zoo models end to end: ``imgtrans convert`` against a plain spandrel script, each a fresh
process, per image with start-up and loading taken out.

``bench/zoo.py`` calls both sides in one process, alternating, where each call pays for the
heap the other left; this is how a user runs them. For each architecture (bench/zoo.py's
published sizes, random weights, saved as .safetensors) and each side, a folder of N PNG
images and a folder of 1 are converted in fresh processes; per image = (wall(N) -
wall(1)) / (N - 1), so start-up, imports and loading cancel out, and reading and writing the
PNGs count on both sides.

* spandrel: ``python -c SCRIPT``: ``ModelLoader().load_from_file``, then per file: cv2
  read, RGB float tensor, ``descriptor(x)``, uint8, cv2 write (the script a user writes);
* imgtrans: ``imgtrans convert IN OUT --weights FILE --progress none``.

Rounds alternate the sides (ABBA); the median per-image time of each is kept; the ratio is
spandrel's / imgtrans's (>= 1.0: imgtrans is not slower).

    OMP_WAIT_POLICY=PASSIVE .venv-zoo/bin/python bench/zoo_end_to_end.py --size 128 --images 5 --only OmniSR,DAT-light,RCAN
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import cv2
import numpy as np
import torch
from safetensors.torch import save_file

sys.path.insert(0, str(Path(__file__).resolve().parent))
from zoo import builders  # noqa: E402  (bench/ is not a package)

SPANDREL_SCRIPT = """
import sys, cv2, numpy as np, torch
from pathlib import Path
from spandrel import ModelLoader
weights, src, dst = sys.argv[1:]
descriptor = ModelLoader().load_from_file(weights).eval()
Path(dst).mkdir()
for path in sorted(Path(src).glob("*.png")):
    rgb = cv2.cvtColor(cv2.imread(str(path)), cv2.COLOR_BGR2RGB)
    x = torch.from_numpy(rgb).permute(2, 0, 1)[None].float().div(255)
    y = descriptor(x)[0].permute(1, 2, 0)
    out = (y * 255).round().clamp(0, 255).byte().numpy()
    cv2.imwrite(str(Path(dst) / path.name), cv2.cvtColor(out, cv2.COLOR_RGB2BGR))
"""


def images(folder: Path, count: int, size: int) -> Path:
    """``count`` smooth random PNGs of ``size``x``size``."""
    folder.mkdir()
    rng = np.random.default_rng(0)
    for i in range(count):
        small = rng.integers(0, 256, (size // 8, size // 8, 3), dtype=np.uint8)
        cv2.imwrite(str(folder / f"{i}.png"), cv2.resize(small, (size, size), interpolation=cv2.INTER_CUBIC))
    return folder


def wall(command: list[str]) -> float:
    start = time.perf_counter()
    subprocess.run(command, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size", type=int, default=128)
    parser.add_argument("--images", type=int, default=5)
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--only", default="", help="comma-separated architectures (default: all)")
    args = parser.parse_args()
    imgtrans_cli = str(Path(sys.executable).with_name("imgtrans"))
    print("load average before: %.2f %.2f %.2f" % os.getloadavg())
    print(f"{args.images} vs 1 image(s) {args.size}x{args.size}, fresh processes, torch {torch.__version__}, "
          f"median of {args.repeats} rounds")
    print(f"{'architecture':<15} {'spandrel s/img':>14} {'imgtrans s/img':>14} {'ratio':>6}  max diff")
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        many, one = images(root / "many", args.images, args.size), images(root / "one", 1, args.size)
        for name, make in builders().items():
            if args.only and name.split()[0] not in args.only.split(","):
                continue
            torch.manual_seed(0)
            weights = root / f"{name.split()[0]}.safetensors"
            save_file({k: v.contiguous() for k, v in make().eval().state_dict().items()}, str(weights))
            sides = {"spandrel": lambda src, dst: [sys.executable, "-c", SPANDREL_SCRIPT, str(weights), str(src), str(dst)],
                     "imgtrans": lambda src, dst: [imgtrans_cli, "convert", str(src), str(dst), "--weights",
                                                   str(weights), "--progress", "none", "--device", "cpu"]}
            per_image: dict[str, list[float]] = {side: [] for side in sides}
            for turn in range(args.repeats * 2):
                order = list(sides) if turn % 2 == 0 else list(sides)[::-1]
                for side in order:
                    tag = f"{name.split()[0]}-{side}-{turn}"
                    t_many = wall(sides[side](many, root / f"{tag}-many"))
                    t_one = wall(sides[side](one, root / f"{tag}-one"))
                    per_image[side].append((t_many - t_one) / (args.images - 1))
            s, i = (float(np.median(per_image[k])) for k in ("spandrel", "imgtrans"))
            a = cv2.imread(str(root / f"{name.split()[0]}-spandrel-0-many" / "0.png"))
            b = cv2.imread(str(root / f"{name.split()[0]}-imgtrans-0-many" / "0.png"))
            diff = int(np.abs(a.astype(int) - b.astype(int)).max())
            print(f"{name:<15} {s:>14.3f} {i:>14.3f} {s / i:>6.2f}  {diff}", flush=True)
    print("load average after: %.2f %.2f %.2f" % os.getloadavg())


if __name__ == "__main__":
    main()
