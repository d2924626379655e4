"""What the benchmarks against the reference implementations share: running the reference's
own code in this process, alternating timed runs, 8-bit output differences and the printed
lines. Imported by ``bench/reference_*.py`` (their folder is on sys.path).

Every figure is a ratio measured side by side: both implementations run in one process,
on the same weights and inputs, taking turns run by run (the order rotates each round, so
bursts of load from other processes hit them alike), and the best run of each counts.

On a busy machine run them with ``OMP_WAIT_POLICY=PASSIVE``: by default libgomp's threads
spin while they wait, and when other processes hold the cores that spinning slows a
network run on the main thread (the references' loops) far more than one run on a worker
thread (imgtrans' engine): ResNet-9 at 256x256, load average 7 on 2 cores, 6.9-9.8 s per
forward on the main thread against 2.6-4.8 s on a fresh worker thread; 3.6-4.8 s against
3.1-5.0 s with passive waiting (bench/RESULTS.md).
"""

from __future__ import annotations

import argparse
import contextlib
import io
import os
import platform
import runpy
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterator

import cv2
import numpy as np
import torch


# -- running the reference's code ---------------------------------------------------------

@contextlib.contextmanager
def reference_on_path(checkout: Path) -> Iterator[None]:
    """The checkout first on sys.path, so its top-level modules (``models``, ``util``...)
    import from it; modules already imported stay imported afterwards."""
    sys.path.insert(0, str(checkout))
    try:
        yield
    finally:
        sys.path.remove(str(checkout))


@contextlib.contextmanager
def weights_only_loading() -> Iterator[None]:
    """``torch.load`` always with ``weights_only=True`` (the reference's calls leave it out):
    loading a checkpoint never executes code."""
    original = torch.load

    def load(*args: Any, **kwargs: Any) -> Any:
        kwargs["weights_only"] = True
        return original(*args, **kwargs)

    torch.load = load
    try:
        yield
    finally:
        torch.load = original


@contextlib.contextmanager
def quiet() -> Iterator[None]:
    """The reference's prints and progress bars go to a buffer, shown only if it fails."""
    buffer = io.StringIO()
    try:
        with contextlib.redirect_stdout(buffer), contextlib.redirect_stderr(buffer):
            yield
    except BaseException:
        sys.stderr.write(buffer.getvalue()[-4000:])
        raise


def run_script(script: Path, argv: list[str]) -> None:
    """Run ``script`` as ``__main__`` in this process with ``sys.argv = [script, *argv]``."""
    saved = sys.argv
    sys.argv = [str(script), *argv]
    try:
        runpy.run_path(str(script), run_name="__main__")
    finally:
        sys.argv = saved


def check_checkout(checkout: Path, *needed: str) -> Path:
    """The checkout as an absolute path; exits with a message when a needed file is missing."""
    checkout = checkout.expanduser().resolve()
    missing = [name for name in needed if not (checkout / name).exists()]
    if missing:
        raise SystemExit(f"--reference {checkout}: not the expected checkout (missing {', '.join(missing)})")
    return checkout


# -- timing --------------------------------------------------------------------------------

class Stopwatch:
    """Adds up the seconds spent in wrapped calls (e.g. the network's forward inside a run)."""

    def __init__(self) -> None:
        self.total = 0.0
        self.calls = 0

    def reset(self) -> None:
        self.total, self.calls = 0.0, 0

    def wrap(self, fn: Callable[..., Any]) -> Callable[..., Any]:
        def timed(*args: Any, **kwargs: Any) -> Any:
            start = time.perf_counter()
            try:
                return fn(*args, **kwargs)
            finally:
                self.total += time.perf_counter() - start
                self.calls += 1
        timed.__wrapped__ = fn  # type: ignore[attr-defined]
        return timed


@dataclass
class Run:
    """One timed run: wall seconds, seconds inside the network and its number of calls,
    seconds building and loading the network, seconds until the first output file existed
    and CPU seconds (of a run in its own process) (None: not measured), where its outputs are."""

    seconds: float
    forward: float | None = None
    outputs: Path | None = None
    calls: int | None = None
    load: float | None = None
    first: float | None = None
    cpu: float | None = None

    @property
    def overhead(self) -> float | None:
        """(wall - forward) / forward: what the loop around the network costs."""
        return None if not self.forward else (self.seconds - self.forward) / self.forward


def alternate(sides: dict[str, Callable[[int], Run]], repeats: int) -> dict[str, list[Run]]:
    """``repeats`` rounds of one run per side, the order rotating each round; each side is
    called with the round number."""
    runs: dict[str, list[Run]] = {name: [] for name in sides}
    names = list(sides)
    for r in range(repeats):
        for name in names[r % len(names):] + names[:r % len(names)]:
            runs[name].append(sides[name](r))
            print(f"  round {r + 1}/{repeats} {name}: {runs[name][-1].seconds:.2f} s", file=sys.stderr,
                  flush=True)
    return runs


def timed_classmethod(cls: type, name: str, watch: Stopwatch) -> None:
    """Time every call of classmethod ``cls.name`` (e.g. a translator's ``load``) on ``watch``."""
    timed = watch.wrap(getattr(cls, name))
    setattr(cls, name, classmethod(lambda klass, *args, **kwargs: timed(*args, **kwargs)))


def best(runs: list[Run]) -> Run:
    return min(runs, key=lambda run: run.seconds)


def best_calls(calls: dict[str, Callable[[], Any]], repeats: int) -> dict[str, float]:
    """Best seconds per call of each function, one warm-up each, then turns as ``alternate``."""
    for fn in calls.values():
        fn()
    times: dict[str, list[float]] = {name: [] for name in calls}
    names = list(calls)
    for r in range(repeats):
        for name in names[r % len(names):] + names[:r % len(names)]:
            start = time.perf_counter()
            calls[name]()
            times[name].append(time.perf_counter() - start)
    return {name: min(t) for name, t in times.items()}


def translate_call(loaded: Any, images: torch.Tensor, names: list[str]) -> Callable[[], Any]:
    """One call of an ``imgtrans.load``-ed translator's ``translate`` on a prepared batch
    (in the translator's value range), under inference mode and in the run's precision (the
    autocast the runner would use): the network without the pipeline around it."""
    from imgtrans.core.precision import autocast
    from imgtrans.core.runner import image_seed
    from imgtrans.plugin import TranslateContext

    runner, translator = loaded.runner, loaded.translator
    dtype = runner.precision.dtype

    def call() -> Any:
        generators = [torch.Generator(device=runner.device).manual_seed(image_seed(runner.seed, n))
                      for n in names]
        context = TranslateContext(device=runner.device, generators=generators, names=names, precision=dtype)
        scoped = dtype if translator.autocast_scope == "call" else None  # "parts": translate scopes itself
        with torch.inference_mode(), autocast(runner.device, scoped):
            return translator.translate(images, context)
    return call


# -- outputs -------------------------------------------------------------------------------

def read_image(path: Path) -> np.ndarray:
    image = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)
    if image is None:
        raise FileNotFoundError(f"{path}: missing or unreadable output")
    return image


def level_difference(pairs: list[tuple[np.ndarray, np.ndarray]]) -> tuple[float, float, int]:
    """(mean, 99.9th percentile, max) absolute difference in 8-bit levels over all pixels
    and channels of all pairs; the two images of a pair must have one shape."""
    diffs = []
    for a, b in pairs:
        if a.shape != b.shape:
            raise ValueError(f"outputs differ in shape: {a.shape} vs {b.shape}")
        diffs.append(np.abs(a.astype(np.int32) - b.astype(np.int32)).ravel())
    diff = np.concatenate(diffs)
    return float(diff.mean()), float(np.percentile(diff, 99.9)), int(diff.max())


def file_difference(pairs: list[tuple[Path, Path]]) -> tuple[float, float, int]:
    """``level_difference`` of image files (read as stored: BGR, 8-bit)."""
    return level_difference([(read_image(a), read_image(b)) for a, b in pairs])


# -- printing ------------------------------------------------------------------------------

def add_common_arguments(parser: argparse.ArgumentParser, repeats: int) -> None:
    parser.add_argument("--reference", type=Path, required=True, help="checkout of the reference implementation")
    parser.add_argument("--threads", type=int, default=2, help="torch threads (both sides)")
    parser.add_argument("--repeats", type=int, default=repeats, help="alternating runs per side; best of each")
    parser.add_argument("--quick", action="store_true", help="short smoke run")


def cpu_name() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"


def load_average() -> str:
    return "/".join(f"{x:.2f}" for x in os.getloadavg())


def print_header(threads: int, what: str) -> None:
    """One line: torch version, threads, load average, CPU and its bf16 support; then what
    is measured."""
    from imgtrans.core.precision import cpu_has_bf16

    torch.set_num_threads(threads)
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, load average {load_average()}, "
          f"{cpu_name()}, CPU bf16: {'yes' if cpu_has_bf16() else 'no'}, "
          f"OMP_WAIT_POLICY={os.environ.get('OMP_WAIT_POLICY', '(default)')}")
    print(what)


def rate_line(label: str, count: int, run: Run, unit: str = "images") -> str:
    line = f"{label:<34} {count / run.seconds:8.3f} {unit}/s   wall {run.seconds:7.2f} s"
    if run.forward is not None:
        line += f"   network {run.forward:7.2f} s   loop overhead {100 * run.overhead:5.1f} %"
    if run.load is not None:
        line += f" (model build+load {run.load:.2f} s)"
    if run.first is not None:
        line += f"   first output {run.first:6.2f} s"
    if run.cpu is not None:
        line += f"   CPU {run.cpu:7.2f} s"
    return line


def ratio_line(label: str, ours: Run, reference: Run) -> str:
    return f"{label:<34} {reference.seconds / ours.seconds:8.2f}x"


def diff_line(label: str, stats: tuple[float, float, int]) -> str:
    mean, p999, top = stats
    return f"{label:<34} mean {mean:.3f}   99.9th pct {p999:.0f}   max {top}   (8-bit levels)"


def print_comparison(reference_label: str, images: int, runs: dict[str, Run],
                     forward: dict[str, float] | None, diffs: dict[str, Any]) -> None:
    """The lines every script prints: throughput of the reference and of imgtrans exact and
    fast (``runs`` keys "reference", "exact" and, when it was run, "fast"), the ratios, the
    forward-only times when measured, and the output differences."""
    ref, exact, fast = runs["reference"], runs["exact"], runs.get("fast")
    print(rate_line(reference_label, images, ref))
    print(rate_line("imgtrans convert, exact", images, exact))
    if fast is not None:
        print(rate_line("imgtrans convert, fast", images, fast))
    print(ratio_line("ratio exact / reference", exact, ref))
    if fast is not None:
        print(ratio_line("ratio fast / reference", fast, ref))
    if forward is not None:
        print(f"{'forward only, 1 image (s)':<34} reference {forward['reference']:.3f}   imgtrans exact "
              f"{forward['exact']:.3f} ({forward['reference'] / forward['exact']:.2f}x)   fast "
              f"{forward['fast']:.3f} ({forward['reference'] / forward['fast']:.2f}x)")
    print(diff_line("difference exact vs reference", diffs["exact"]))
    if fast is not None:
        print(diff_line("difference fast vs reference", diffs["fast"]))
