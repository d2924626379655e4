"""When does ``--compile`` repay its compilation? Cold and warm compile times against the
per-image gain, side by side in one run.

    python bench/compile_break_even.py                       # cyclegan.day2night_synth, fast and exact
    python bench/compile_break_even.py --only "resnet_9blocks" --precision fast

For each workload (bench/batch_size.py's) and precision, three fresh processes share one new
inductor cache folder: ``eager`` (no compile), ``cold`` (compile into the empty cache) and
``warm`` (compile again, the cache now filled). Each loads the translator, times its first
call (compilation included), then the best of ``--calls`` single-image calls. The break-even
is the number of images after which compiling has cost less than it saved:
first-call overhead / (eager seconds per image - compiled seconds per image). The last column
compares the cold-compiled outputs of all calls with the eager ones (8-bit levels).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from batch_size import workloads  # noqa: E402  (bench/ is not a package)


def child(args: argparse.Namespace) -> None:
    """One process: load, time the first call and the best of the following ones."""
    import imgtrans

    torch.set_num_threads(args.threads)
    work = next(w for w in workloads(args.quick) if w.name == args.workload)
    torch.manual_seed(0)
    weights = work.weights(Path(args.tmp))
    model = imgtrans.load(work.plugin, weights, options=work.options, seed=0,
                          precision=args.precision, compile=args.mode != "eager")
    model.runner.keep_weight_casts()
    inputs = work.make(args.calls + 1, 0)

    outputs = []

    def call(i: int) -> float:
        began = time.perf_counter()
        if model.runner.takes_images:
            out = model.runner.run_arrays([inputs[i]], 8, [f"{i}.png"])
        else:
            out = model.runner.run_inputs([inputs[i]], [f"{i}.png"])
        elapsed = time.perf_counter() - began
        outputs.append(np.asarray(out[0]))
        return elapsed

    first = call(0)
    rest = [call(i) for i in range(1, args.calls + 1)]
    np.save(Path(args.tmp) / f"{args.mode}.npy", np.stack(outputs))  # compared with eager's
    print(json.dumps({"first": first, "per_image": min(rest)}))


def run_child(args: argparse.Namespace, workload: str, precision: str, mode: str, cache: str, tmp: str) -> dict:
    env = dict(os.environ, TORCHINDUCTOR_CACHE_DIR=cache)
    command = [sys.executable, __file__, "--child", "--workload", workload, "--precision", precision,
               "--mode", mode, "--tmp", tmp, "--calls", str(args.calls), "--threads", str(args.threads)]
    if args.quick:
        command.append("--quick")
    proc = subprocess.run(command, env=env, capture_output=True, text=True, check=True)
    return json.loads(proc.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", default="cyclegan.day2night_synth", help="workloads whose name contains this")
    parser.add_argument("--precision", default="exact,fast", help="comma-separated: exact, fast")
    parser.add_argument("--calls", type=int, default=8, help="timed calls after the first")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--quick", action="store_true", help="bench/batch_size.py's smaller inputs")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--workload", help=argparse.SUPPRESS)
    parser.add_argument("--mode", help=argparse.SUPPRESS)
    parser.add_argument("--tmp", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args)
        return
    print(f"torch {torch.__version__}, {args.threads} threads, load average {os.getloadavg()[0]:.1f}; "
          f"best of {args.calls} single-image calls after the first")
    print("| workload | precision | eager s/image | compiled s/image | speed-up | cold first call | "
          "warm first call | break-even cold | break-even warm | compiled - eager, max / mean levels |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for work in workloads(args.quick):
        if args.only not in work.name:
            continue
        for precision in args.precision.split(","):
            with tempfile.TemporaryDirectory() as cache, tempfile.TemporaryDirectory() as tmp:
                eager = run_child(args, work.name, precision, "eager", cache, tmp)
                cold = run_child(args, work.name, precision, "cold", cache, tmp)
                warm = run_child(args, work.name, precision, "warm", cache, tmp)
                diff = np.abs(np.load(Path(tmp) / "cold.npy").astype(np.int64)
                              - np.load(Path(tmp) / "eager.npy").astype(np.int64))
            gain = eager["per_image"] - cold["per_image"]

            def even(result: dict) -> str:
                extra = result["first"] - eager["first"]
                return f"{extra / gain:.0f} images" if gain > 0 else "never"

            print(f"| {work.name} | {precision} | {eager['per_image']:.3f} | {cold['per_image']:.3f} | "
                  f"{eager['per_image'] / cold['per_image']:.2f}x | {cold['first']:.1f} s | "
                  f"{warm['first']:.1f} s | {even(cold)} | {even(warm)} | "
                  f"{diff.max()} / {diff.mean():.2f} |", flush=True)
    print(f"load average {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
