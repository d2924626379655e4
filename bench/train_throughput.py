"""Training throughput on 1 and 2 processes (``torchrun``), side by side, with the ratio.

    python bench/train_throughput.py --plugin pix2pix --steps 30 --batch-size 4 --repeats 2

Each configuration is the same ``imgtrans train`` (pix2pix or srgan on generated data) under
``torchrun --nproc-per-node N`` on the loopback interface: gloo on the CPU, NCCL on CUDA
(``--device cuda``). The batch is per process, so 2 processes train on twice the items a step;
samples/s counts the items of every process over the timed steps (after ``--warmup`` steps,
so start-up, data checks and the first slow steps are not counted). On the CPU, 2 processes
get one core (torch thread) each, and one process runs twice: with all cores as threads (what
a plain ``imgtrans train`` does) and with one thread (the same per-process share as 2
processes). The ratio is against the faster of the two. Configurations alternate
``--repeats`` times; the best run of each counts.
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
OPTIONS = {
    "pix2pix": {"depth": 6, "ngf": 16, "ndf": 16, "load_size": 72, "crop_size": 64, "flip": False},
    "srgan": {"num_feat": 32, "num_block": 4, "crop_size": 64},
}


def make_data(plugin: str, folder: Path, count: int) -> Path:
    sys.path.insert(0, str(ROOT / "samples"))
    if plugin == "pix2pix":
        import make_gan_datasets

        make_gan_datasets.make_facades(folder / "facades", 64, count, 1, seed=0)
        return folder / "facades"
    import cv2
    import numpy as np
    import make_sr_dataset

    rng = np.random.default_rng(0)
    (folder / "hr").mkdir(parents=True)
    for i in range(count):
        cv2.imwrite(str(folder / "hr" / f"{i}.png"), make_sr_dataset.render(rng, 96))
    return folder / "hr"


def worker(args: argparse.Namespace) -> None:
    """One process of a torchrun launch: train, and (rank 0) write the step times."""
    import imgtrans

    times: list[float] = []
    imgtrans.train(args.plugin, args.data, args.out, options=OPTIONS[args.plugin],
                   batch_size=args.batch_size, max_steps=args.warmup + args.steps, device=args.device,
                   on_progress=lambda p: times.append(time.perf_counter()))
    if times:
        Path(args.result).write_text(json.dumps(times))


def measure(args: argparse.Namespace, data: Path, processes: int, threads: int, folder: Path) -> float:
    """Samples per second of one launch with ``processes`` processes of ``threads`` threads."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    result, out = folder / f"times_{processes}x{threads}.json", folder / f"run_{processes}_{time.time_ns()}"
    env = dict(os.environ, OMP_NUM_THREADS=str(threads))
    if Path("/sys/class/net/lo").exists():
        env.setdefault("GLOO_SOCKET_IFNAME", "lo")
    command = [sys.executable, "-m", "torch.distributed.run", "--nproc-per-node", str(processes),
               "--master-addr", "127.0.0.1", "--master-port", str(port), __file__, "--worker",
               "--plugin", args.plugin, "--data", str(data), "--out", str(out), "--result", str(result),
               "--batch-size", str(args.batch_size), "--steps", str(args.steps),
               "--warmup", str(args.warmup), "--device", args.device]
    done = subprocess.run(command, env=env, capture_output=True, text=True)
    if done.returncode:
        sys.exit(f"{processes} process(es) failed:\n{done.stderr[-3000:]}")
    times = json.loads(result.read_text())
    timed = times[args.warmup:]
    return (len(timed) - 1) * args.batch_size * processes / (timed[-1] - timed[0])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--plugin", choices=sorted(OPTIONS), default="pix2pix")
    parser.add_argument("--batch-size", type=int, default=4, help="per process")
    parser.add_argument("--steps", type=int, default=30, help="timed steps")
    parser.add_argument("--warmup", type=int, default=3, help="untimed steps first")
    parser.add_argument("--images", type=int, default=None,
                        help="default: enough for one epoch on 2 processes, so no epoch end "
                             "(sample grid, checkpoint) falls into the timed steps")
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--data", help=argparse.SUPPRESS)
    parser.add_argument("--out", help=argparse.SUPPRESS)
    parser.add_argument("--result", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        return worker(args)
    args.images = args.images or (args.warmup + args.steps) * args.batch_size * 2 + 1
    cores = os.cpu_count() or 1
    configs = [(1, cores), (1, 1), (2, max(1, cores // 2))]
    with tempfile.TemporaryDirectory() as tmp:
        data = make_data(args.plugin, Path(tmp), args.images)
        runs: dict[tuple[int, int], list[float]] = {c: [] for c in configs}
        for _ in range(args.repeats):
            for processes, threads in configs:
                runs[processes, threads].append(measure(args, data, processes, threads, Path(tmp)))
    best = {c: max(values) for c, values in runs.items()}
    print(f"plugin {args.plugin}, {args.images} images, batch size {args.batch_size} per process, "
          f"{args.steps} timed steps after {args.warmup}, device {args.device}, "
          f"{cores} CPUs, best of {args.repeats}")
    for (processes, threads), value in best.items():
        listing = ", ".join(f"{v:.1f}" for v in runs[processes, threads])
        label = (f"1 process, {threads} thread{'s' if threads > 1 else ''}" if processes == 1 else
                 f"{processes} processes, {threads} thread{'s' if threads > 1 else ''} each")
        print(f"{label:<28}: {value:8.1f} samples/s  (runs: {listing})")
    one = max(best[1, cores], best[1, 1])
    print(f"{'ratio 2 processes / best 1':<28}: {best[2, max(1, cores // 2)] / one:8.2f}x")


if __name__ == "__main__":
    main()
