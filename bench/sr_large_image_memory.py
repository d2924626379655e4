"""Peak memory of converting one large image at x4 with tiling (Real-ESRGAN's out-of-memory
complaint), and without tiling for comparison on a smaller image.

    python bench/sr_large_image_memory.py [--size 4096] [--tile 256]

A small random-weight SRVGGNetCompact x4 stands in for a real model (memory does not depend
on the weights; a bigger model only adds its own size). Each conversion runs in its own
process; the peak resident set size of that process is printed.
"""

from __future__ import annotations

import argparse
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import cv2
import numpy as np
import torch


def peak_rss_of(args: list[str]) -> tuple[float, float]:
    """(peak RSS in GiB, seconds) of ``python -m imgtrans *args`` in a fresh process."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    start = time.perf_counter()
    subprocess.run([sys.executable, "-m", "imgtrans", *args], check=True, capture_output=True)
    after = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return max(after, before) / 2**20, time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=4096)
    parser.add_argument("--tile", type=int, default=256)
    args = parser.parse_args()
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "plugins"))
    from imgtrans_srgan.archs import SRVGGNetCompact

    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        torch.manual_seed(0)
        torch.save(SRVGGNetCompact(3, 3, num_feat=16, num_conv=4, upscale=4).state_dict(), root / "m.pth")
        rng = np.random.default_rng(0)
        small = rng.integers(0, 256, (args.size // 16, args.size // 16, 3), dtype=np.uint8)
        cv2.imwrite(str(root / "big.png"), cv2.resize(small, (args.size, args.size), interpolation=cv2.INTER_CUBIC))
        common = ["--plugin", "srgan", "--weights", str(root / "m.pth"), "--progress", "none",
                  "--max-pixels", str(16 * args.size * args.size)]  # the limit holds results too
        rss, secs = peak_rss_of(["convert", str(root / "big.png"), str(root / "out.png"), *common,
                                 "--tile", str(args.tile), "--tile-pad", "10"])
        out = cv2.imread(str(root / "out.png"), cv2.IMREAD_REDUCED_COLOR_8)
        print(f"{args.size}x{args.size} -> x4 with --tile {args.tile}: peak RSS {rss:.2f} GiB, {secs:.0f} s "
              f"(output {out.shape[1] * 8}x{out.shape[0] * 8})")


if __name__ == "__main__":
    main()
