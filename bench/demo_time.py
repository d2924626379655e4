"""Wall time of the whole ``imgtrans demo`` (every translator, every shipped sample), as a
user runs it: a fresh process, CPU, torch limited to a number of threads.

    python bench/demo_time.py [--threads 2] [--repeat 2] [-- extra demo arguments]

Runs ``python -m imgtrans demo`` ``--repeat`` times (the first run also pays for cold
caches), prints each wall time, the machine load before the run (a busy machine makes the
figure slower than it would be on a quiet one) and the demo's own summary line.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--repeat", type=int, default=2)
    parser.add_argument("extra", nargs="*", help="more `imgtrans demo` arguments (after --)")
    args = parser.parse_args()
    threads = str(args.threads)
    env = {**os.environ, "OMP_NUM_THREADS": threads, "MKL_NUM_THREADS": threads, "IMGTRANS_DEVICE": "cpu"}
    for run in range(1, args.repeat + 1):
        with tempfile.TemporaryDirectory() as out:
            load = os.getloadavg()[0]
            start = time.perf_counter()
            result = subprocess.run([sys.executable, "-m", "imgtrans", "demo", "--output", out, *args.extra],
                                    env=env, capture_output=True, text=True)
            seconds = time.perf_counter() - start
        if result.returncode != 0:
            sys.exit(f"demo failed:\n{result.stderr}")
        summary = result.stdout.strip().splitlines()[-1]
        print(f"run {run}: {seconds:.1f} s wall on {threads} thread(s), load before {load:.2f}; {summary}")


if __name__ == "__main__":
    main()
