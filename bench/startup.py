"""Wall and CPU time of ``imgtrans --help`` and ``imgtrans plugins``, fresh processes.

    python bench/startup.py            # 15 runs of each, median
    python bench/startup.py --runs 31
    python bench/startup.py --checkout /tmp/old   # also time another checkout's imgtrans/ and plugins/, alternating
    python bench/startup.py --checkout /tmp/old=/tmp/venv-old/bin/python --checkout .=/tmp/venv-new/bin/python
                                                  # checkouts run by other interpreters (e.g. other typer versions)

CPU time (user + system of the child) is printed too: on a shared machine it is far less
disturbed by other processes than wall time. Target: 0.25 s wall on a quiet machine.
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import time

COMMANDS = (["--help"], ["plugins"])


# Runs ``imgtrans`` from a checkout given as argv[1] instead of the installed (editable) one,
# whose import hook would otherwise win over sys.path.
_FROM_CHECKOUT = ("import runpy, sys; root = sys.argv.pop(1); "
                  "sys.meta_path[:] = [f for f in sys.meta_path if 'editable' not in repr(f).lower()]; "
                  "sys.path[:0] = [root, root + '/plugins']; sys.argv[0] = 'imgtrans'; "
                  "runpy.run_module('imgtrans', run_name='__main__', alter_sys=True)")


def one_run(args: list[str], checkout: str | None = None) -> tuple[float, float]:
    """(wall seconds, CPU seconds) of one ``python -m imgtrans ARGS``; ``checkout`` is a
    folder, or ``folder=python`` to run it with another interpreter."""
    if checkout:
        root, _, python = checkout.partition("=")
        command = [python or sys.executable, "-c", _FROM_CHECKOUT, root]
    else:
        command = [sys.executable, "-m", "imgtrans"]
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    began = time.perf_counter()
    subprocess.run([*command, *args], check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wall = time.perf_counter() - began
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument("--checkout", action="append", default=[],
                        help="another checkout to time alongside (e.g. `git archive` of an older "
                             "commit's imgtrans/ and plugins/), optionally FOLDER=PYTHON (repeatable)")
    args = parser.parse_args()
    print(f"python {sys.version.split()[0]}, {args.runs} runs each after one warm-up, "
          f"load average {os.getloadavg()[0]:.1f}")
    versions = {"installed": None, **{checkout: checkout for checkout in args.checkout}}
    for command in COMMANDS:
        runs: dict[str, list[tuple[float, float]]] = {label: [] for label in versions}
        for label, root in versions.items():
            one_run(command, root)
        for _ in range(args.runs):  # alternate, so load bursts hit both alike
            for label, root in versions.items():
                runs[label].append(one_run(command, root))
        for label, times in runs.items():
            wall = statistics.median(r[0] for r in times)
            cpu = statistics.median(r[1] for r in times)
            print(f"imgtrans {' '.join(command):8s} ({label}): median wall {wall:.3f} s "
                  f"(min {min(r[0] for r in times):.3f}), median CPU {cpu:.3f} s")
    print(f"load average after {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
