"""Local engine vs Ray engine on this machine: the same folder, side by side in one run.

    python bench/engines.py --plugin sketch --images 48 --size 512 --repeats 3

Runs alternate (local, Ray, local, Ray, ...) into fresh output folders and the best run of
each engine is kept. The private Ray instance (127.0.0.1, all CPUs) is started once before
the runs, and its start-up time is printed apart: the Ray figures include starting the actor
pool and loading the translator in it, as every ``--engine ray`` run does. The script checks
that both engines wrote the same pixels (within one level), then prints images/s for each
and their ratio.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

import cv2
import numpy as np

import imgtrans
from bench_images import make_images


def timed(args, engine: str, src: Path, dst: Path) -> float:
    start = time.perf_counter()
    report = imgtrans.convert(src, dst, plugin=args.plugin, weights=args.weights, engine=engine,
                              batch_size=args.batch_size, device=args.device, seed=0)
    assert report.count("done") == args.images, report.summary()
    return time.perf_counter() - start


def max_difference(a: Path, b: Path) -> int:
    return max(int(np.abs(cv2.imread(str(p), cv2.IMREAD_UNCHANGED).astype(int)
                          - cv2.imread(str(b / p.name), cv2.IMREAD_UNCHANGED).astype(int)).max())
               for p in sorted(a.glob("*.png")))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--plugin", default="sketch")
    parser.add_argument("--weights", default=None)
    parser.add_argument("--images", type=int, default=48)
    parser.add_argument("--size", type=int, default=512)
    parser.add_argument("--batch-size", default="auto")
    parser.add_argument("--device", default="auto")
    parser.add_argument("--repeats", type=int, default=3, help="alternating runs; best of each is kept")
    args = parser.parse_args()
    from imgtrans.engines import ray as ray_engine

    start = time.perf_counter()
    ray_engine.connect()
    startup = time.perf_counter() - start
    import torch

    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        make_images(root / "in", args.images, args.size)
        times: dict[str, list[float]] = {"local": [], "ray": []}
        for r in range(args.repeats):
            for engine in times:
                times[engine].append(timed(args, engine, root / "in", root / f"{engine}{r}"))
        difference = max_difference(root / "local0", root / "ray0")
    import ray

    ray.shutdown()
    local, on_ray = (args.images / min(times[e]) for e in ("local", "ray"))
    print(f"plugin {args.plugin}, {args.images} images {args.size}x{args.size}, batch size "
          f"{args.batch_size}, {os.cpu_count()} CPUs, torch threads {torch.get_num_threads()}, "
          f"best of {args.repeats}")
    print(f"Ray start-up (once)  : {startup:8.2f} s")
    print(f"local engine         : {local:8.2f} images/s  (runs: "
          f"{', '.join(f'{t:.1f}' for t in times['local'])} s)")
    print(f"Ray engine           : {on_ray:8.2f} images/s  (runs: "
          f"{', '.join(f'{t:.1f}' for t in times['ray'])} s)")
    print(f"ratio Ray / local    : {on_ray / local:8.2f}x   max pixel difference: {difference}")


if __name__ == "__main__":
    main()
