"""Convert throughput: imgtrans's batch pipeline vs a plain per-image loop, side by side.

    python bench/convert_throughput.py --plugin sketch --images 48 --size 512 --batch-size 4

Both paths use the same loaded translator on the same generated PNGs. The plain loop reads,
preprocesses, runs the model and writes one image at a time (what the reference test
scripts do); imgtrans reads and writes in threads and batches equal-size images. The script
checks that both wrote identical pixels, then prints images/s for each and their ratio.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import cv2
import numpy as np
import torch

import imgtrans
from bench_images import make_images
from imgtrans.core.preprocess import finish, prepare, quantize, to_float_batch
from imgtrans.translators.base import TranslateContext


def plain_loop(loaded, src: Path, dst: Path) -> float:
    """Read, preprocess, forward, write: one image at a time, on the calling thread."""
    dst.mkdir(parents=True)
    translator, prep, device = loaded.translator, loaded.runner.prep, loaded.runner.device
    start = time.perf_counter()
    for path in sorted(src.glob("*.png")):
        rgb = cv2.cvtColor(cv2.imread(str(path)), cv2.COLOR_BGR2RGB)
        prepared = prepare(to_float_batch([rgb], 8, device), prep, 255)
        context = TranslateContext(device=device, names=[path.name],
                                   generators=[loaded.runner._generator(path.name)])
        with torch.inference_mode():
            out = finish(translator.translate(prepared.images, context), prepared, prep)
        pixels = quantize(out, 8)[0]
        pixels = pixels[..., 0] if pixels.shape[-1] == 1 else cv2.cvtColor(pixels, cv2.COLOR_RGB2BGR)
        cv2.imwrite(str(dst / path.name), pixels)
    return time.perf_counter() - start


def pipeline(args, src: Path, dst: Path) -> float:
    start = time.perf_counter()
    report = imgtrans.convert(src, dst, plugin=args.plugin, batch_size=args.batch_size,
                              workers=args.workers, device=args.device, seed=0)
    assert report.count("done") == args.images, report.summary()
    return time.perf_counter() - start


def same_outputs(a: Path, b: Path) -> bool:
    return all(np.array_equal(cv2.imread(str(p), cv2.IMREAD_UNCHANGED),
                              cv2.imread(str(b / p.name), cv2.IMREAD_UNCHANGED))
               for p in sorted(a.glob("*.png")))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--plugin", default="sketch")
    parser.add_argument("--images", type=int, default=48)
    parser.add_argument("--size", type=int, default=512)
    parser.add_argument("--batch-size", type=int, default=4)
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--device", default="auto")
    parser.add_argument("--repeats", type=int, default=3, help="alternating runs; best of each is kept")
    args = parser.parse_args()
    loaded = imgtrans.load(args.plugin, device=args.device, seed=0)
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        make_images(root / "in", args.images, args.size)
        plain_times, pipe_times = [], []
        for r in range(args.repeats):
            plain_times.append(plain_loop(loaded, root / "in", root / f"plain{r}"))
            pipe_times.append(pipeline(args, root / "in", root / f"pipe{r}"))
        identical = same_outputs(root / "plain0", root / "pipe0")
    plain_rate, pipe_rate = args.images / min(plain_times), args.images / min(pipe_times)
    print(f"plugin {args.plugin}, {args.images} images {args.size}x{args.size}, "
          f"torch threads {torch.get_num_threads()}, best of {args.repeats}")
    print(f"plain per-image loop : {plain_rate:8.2f} images/s")
    print(f"imgtrans convert     : {pipe_rate:8.2f} images/s  (batch {args.batch_size}, "
          f"{args.workers} I/O threads)")
    print(f"ratio                : {pipe_rate / plain_rate:8.2f}x   identical outputs: {identical}")


if __name__ == "__main__":
    main()
