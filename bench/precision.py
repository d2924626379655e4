"""``--precision fast`` against ``exact`` for every built-in learned translator, side by side.

    python bench/precision.py            # published-size networks at their usual input sizes
    python bench/precision.py --quick    # smaller inputs, 8 s of timing each (a few minutes on 2 CPU cores)

The workloads are bench/batch_size.py's (bundled weights, and published architectures with
random weights), imported from it. Each is loaded twice, exact and fast, and fed the same
generated inputs one at a time through the runner (preprocessing, translate, quantization
to 8 bits). The two take turns pass by pass for a time budget after a warm-up each, and the
best pass of each gives the speed-up. Fast mode keeps autocast's weight copies between calls,
as the engines' translator thread does (``--recast``: re-cast them at every call, as before). The error is the absolute difference of the 8-bit
outputs, over all pixels and channels of all inputs: mean, 99.9th percentile and max.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from batch_size import run_batches, workloads  # noqa: E402  (bench/ is not a package)

import imgtrans  # noqa: E402


def outputs(model, inputs: list) -> np.ndarray:
    """All 8-bit outputs of ``inputs``, one at a time, as one flat int array."""
    names = [f"{i}.png" for i in range(len(inputs))]
    if model.runner.takes_images:
        images = [model.runner.run_arrays([x], 8, [n])[0] for x, n in zip(inputs, names)]
    else:
        images = [y for x, n in zip(inputs, names) for y in model.runner.run_inputs([x], [n])]
    return np.concatenate([np.asarray(y, np.int32).ravel() for y in images])


def best_passes(models: dict, inputs: list, budget: float) -> dict[str, float]:
    """Best seconds per pass over ``inputs`` (batch size 1) for each model, taking turns."""
    for model in models.values():
        run_batches(model, inputs, 1)
    times: dict[str, list[float]] = {key: [] for key in models}
    start, rounds = time.perf_counter(), 0
    while rounds < 2 or time.perf_counter() - start < budget:
        for key in (list(models) if rounds % 2 == 0 else list(models)[::-1]):
            began = time.perf_counter()
            run_batches(models[key], inputs, 1)
            times[key].append(time.perf_counter() - began)
        rounds += 1
    return {key: min(t) for key, t in times.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="smaller inputs, 8 s of timing per workload")
    parser.add_argument("--device", default="auto", help="auto (CUDA when present), cpu or cuda")
    parser.add_argument("--inputs", type=int, default=4, help="inputs per pass")
    parser.add_argument("--seconds", type=float, default=None, help="timing budget per workload (default 30; --quick 8)")
    parser.add_argument("--only", default="", help="run only workloads whose name contains this")
    parser.add_argument("--recast", action="store_true",
                        help="re-cast the weights at every call (before imgtrans kept autocast's "
                             "weight copies on the translator thread)")
    parser.add_argument("--threads", type=int, default=None,
                        help="torch threads (default: torch's choice; 1 on a busy machine, where "
                             "OpenMP threads waiting on each other slow everything down)")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    budget = args.seconds or (8.0 if args.quick else 30.0)
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, load average "
          f"{os.getloadavg()[0]:.1f}, {args.inputs} inputs per pass, batch size 1, best pass of each")
    print("| workload | input | fast mode | exact | fast | speed-up | mean Δ | 99.9th pct Δ | max Δ |")
    print("|---|---|---|---|---|---|---|---|---|")
    started = time.perf_counter()
    kept = False
    with tempfile.TemporaryDirectory() as tmp:
        for work in workloads(args.quick):
            if args.only not in work.name:
                continue
            torch.manual_seed(0)
            weights = work.weights(Path(tmp))
            models = {p: imgtrans.load(work.plugin, weights, options=work.options, device=args.device,
                                       seed=0, precision=p) for p in ("exact", "fast")}
            if not args.recast and not kept:  # as the engines' translator thread does
                models["fast"].runner.keep_weight_casts()
                kept = True
            inputs = work.make(args.inputs, 0)
            diff = np.abs(outputs(models["exact"], inputs) - outputs(models["fast"], inputs))
            seconds = best_passes(models, inputs, budget)
            print(f"| {work.name} | {work.inputs} | {models['fast'].runner.precision.description} | "
                  f"{seconds['exact']:.3f} s | {seconds['fast']:.3f} s | "
                  f"{seconds['exact'] / seconds['fast']:.2f}x | {diff.mean():.3f} | "
                  f"{np.percentile(diff, 99.9):.0f} | {diff.max()} |", flush=True)
    print(f"total {time.perf_counter() - started:.0f} s; load average {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
