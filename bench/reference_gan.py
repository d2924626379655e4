"""imgtrans against the CycleGAN/pix2pix reference's own test loop, side by side.

    python bench/reference_gan.py --reference CHECKOUT                  # CycleGAN ResNet-9, 16 images
    python bench/reference_gan.py --reference CHECKOUT --model pix2pix  # pix2pix unet_256
    python bench/reference_gan.py --reference CHECKOUT --images 32      # the issue's overhead figure
    python bench/reference_gan.py --reference CHECKOUT --images 8 --end-to-end  # fresh processes

CHECKOUT is a checkout of junyanz/pytorch-CycleGAN-and-pix2pix (its test.py, models/, data/,
options/, util/ are used; nothing of it is copied here). Both of its eras run: checkouts
before the 2025 DDP change take ``--gpu_ids -1`` and ``define_G(..., gpu_ids)`` (which also
initialises the net); later ones have neither, and their ``define_G`` leaves the
initialisation to ``init_net``. What the checkout accepts is read from it, and the header
says which era it is.

Weights: random, made by the reference's own ``networks.define_G`` (its N(0, 0.02) init) and
saved as it saves them, a state dict: ``latest_net_G_A.pth`` (CycleGAN: resnet_9blocks,
ngf 64, instance norm, no dropout) or ``latest_net_G.pth`` (pix2pix: unet_256, ngf 64,
batch norm, dropout). Inputs: ``--images`` generated PNGs of ``--size`` pixels square.

Reference side: its test.py itself, run in this process (runpy) with its options given as
an argv list: ``--model test --dataset_mode single`` (and ``--gpu_ids -1`` where the
checkout has it), plus ``--no_dropout
--model_suffix _A`` (CycleGAN) or ``--netG unet_256 --norm batch`` (pix2pix as
scripts/test_single.sh runs it: dropout on and no ``--eval``, its default test mode with the
image's own batch statistics and active dropout); default preprocess resize_and_crop with
load_size = crop_size = 256. Each run pays what a test.py user pays once Python is up:
options, dataset, building the net (with its random init) and loading the checkpoint, then
per image PIL read, transforms, set_input, test(), tensor2im and two PNGs (real and fake),
and the HTML page. Modules it imports that this machine lacks (torchvision.transforms,
dominate, wandb) are stand-ins from bench/reference_stubs.py; torch.load runs weights-only.
Instrumented: ``BaseModel.test`` is wrapped to time the forward and, for pix2pix, to seed the
global RNG per image with imgtrans' per-image seed, so both sides draw the same dropout
masks (nothing else changes).

imgtrans side: ``imgtrans.convert`` folder -> folder with ``--plugin cyclegan|pix2pix`` on the
same checkpoint file, options ``preprocess=resize_and_crop load_size=256`` (the reference's
test preprocessing), seed 0, batch size auto (1 for CycleGAN, 4 for pix2pix on CPU),
precision exact and fast. The translator's ``translate`` is wrapped to time the network.

Forward only: one preprocessed image through the reference's netG (its test mode, no_grad)
and through ``imgtrans.load(...)``'s translator (exact; fast under the runner's autocast).

End to end (``--end-to-end``): every run is a fresh process, so each side also pays what
happens before its first image: Python start-up, imports, plugin discovery, options, building
and loading the net. Reference: ``python test.py`` with the same argv (a ``-c`` launcher
installs the stand-ins first, then runs test.py as ``__main__`` with the checkout as
``sys.path[0]``, as ``python test.py`` would; torch.load's own default is weights-only).
imgtrans: the ``imgtrans convert`` command (the console script beside this Python) with the
same options as above, output to files as a user's would be (progress: plain lines, no
terminal). Both with ``OMP_NUM_THREADS=--threads`` and Python's bytecode cache on (in the
temporary folder; the untimed warm-up process fills it), as for an installed package or a
clone that has run before. Timed from the parent: the wall of the
process, when its first output file appeared, and its CPU time (user + system); the network's
own time is not measured there (no instrumentation inside the processes).

Printed: images/s per side (wall of the whole run), the network's seconds inside it, the
loop overhead (wall - network) / network and the part of the wall spent building and
loading the network (reference: create_model + setup; imgtrans: the translator's load);
ratios imgtrans / reference; the difference of the written images in 8-bit levels (the
reference truncates in tensor2im, imgtrans rounds, which alone makes about half of the
pixels differ by one level).
"""

from __future__ import annotations

import argparse
import importlib
import inspect
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
import reference_stubs  # noqa: E402  (bench/ is not a package)
from bench_images import make_images  # noqa: E402
from side_by_side import (Run, Stopwatch, add_common_arguments, alternate, best, best_calls,  # noqa: E402
                          check_checkout, file_difference, load_average, print_comparison, print_header,
                          diff_line, quiet, rate_line, ratio_line, read_image, reference_on_path, run_script,
                          timed_classmethod, translate_call, weights_only_loading)

import imgtrans  # noqa: E402
from imgtrans.core.precision import cpu_has_bf16  # noqa: E402
from imgtrans.core.runner import image_seed  # noqa: E402
from imgtrans.plugins import manager  # noqa: E402

SEED = 0
OPTIONS = {"preprocess": "resize_and_crop", "load_size": 256}  # the reference's test preprocessing
NETWORKS = {  # define_G arguments (netG, norm, use_dropout), weights file, test.py options
    "cyclegan": (("resnet_9blocks", "instance", False), "latest_net_G_A.pth",
                 ["--no_dropout", "--model_suffix", "_A"]),
    "pix2pix": (("unet_256", "batch", True), "latest_net_G.pth", ["--netG", "unet_256", "--norm", "batch"]),
}


def takes_gpu_ids(checkout: Path) -> bool:
    """Whether the checkout's options have ``--gpu_ids`` (before the 2025 DDP change)."""
    return "--gpu_ids" in (checkout / "options" / "base_options.py").read_text(encoding="utf-8")


def checkout_era(checkout: Path) -> str:
    return ("before the 2025 DDP change (--gpu_ids)" if takes_gpu_ids(checkout)
            else "2025 or later (no --gpu_ids)")


def test_py_argv(checkout: Path, model: str, checkpoints: Path, inputs: Path, results: Path,
                 count: int) -> list[str]:
    """test.py's command line for ``count`` images of ``inputs``."""
    gpu = ["--gpu_ids", "-1"] if takes_gpu_ids(checkout) else []
    return ["--dataroot", str(inputs), "--name", "bench", "--checkpoints_dir", str(checkpoints),
            "--results_dir", str(results), *gpu, "--num_test", str(count),
            "--model", "test", "--dataset_mode", "single", *NETWORKS[model][2]]


def reference_outputs(results: Path) -> Path:
    return results / "bench" / "test_latest" / "images"


class Reference:
    """The reference checkout, imported in this process, with ``BaseModel.test`` timed."""

    def __init__(self, checkout: Path, model: str) -> None:
        reference_stubs.install_torchvision()
        reference_stubs.install_dominate()
        reference_stubs.install_wandb()
        self.checkout, self.model = checkout, model
        self.watch, self.loading = Stopwatch(), Stopwatch()
        with reference_on_path(checkout), quiet():
            self.networks = importlib.import_module("models.networks")
            base_model = importlib.import_module("models.base_model")
            package = importlib.import_module("models")
        # building the net (create_model, with its random init) and loading it (setup)
        package.create_model = self.loading.wrap(package.create_model)
        base_model.BaseModel.setup = self.loading.wrap(base_model.BaseModel.setup)
        original = base_model.BaseModel.test
        seeded = model == "pix2pix"
        watch = self.watch

        def test(model_self):  # what test.py calls per image
            if seeded:  # imgtrans' per-image seed: the same dropout masks on both sides
                torch.manual_seed(image_seed(SEED, Path(model_self.image_paths[0]).name))
            start = time.perf_counter()
            try:
                return original(model_self)
            finally:
                watch.total += time.perf_counter() - start
                watch.calls += 1

        base_model.BaseModel.test = test

    def define_g(self) -> torch.nn.Module:
        """The reference's generator with its N(0, 0.02) init: ``define_G`` initialises it in
        checkouts that take ``gpu_ids``; later ones leave that to ``init_net`` (called by
        ``BaseModel.setup``), which is called here. Same draws, same weights in both eras."""
        (net_g, norm, dropout), _, _ = NETWORKS[self.model]
        with quiet():
            if "gpu_ids" in inspect.signature(self.networks.define_G).parameters:
                return self.networks.define_G(3, 3, 64, net_g, norm, dropout, "normal", 0.02, [])
            net = self.networks.define_G(3, 3, 64, net_g, norm, dropout, "normal", 0.02)
            return self.networks.init_net(net, "normal", 0.02)

    def write_weights(self, folder: Path) -> Path:
        """Random weights in the reference's layout: ``folder/bench/latest_net_G*.pth``."""
        torch.manual_seed(SEED)
        path = folder / "bench" / NETWORKS[self.model][1]
        path.parent.mkdir(parents=True)
        torch.save(self.define_g().state_dict(), path)
        return path

    def run(self, checkpoints: Path, inputs: Path, results: Path, count: int) -> Run:
        """test.py over ``inputs``; its fake images end in ``results/bench/test_latest/images``."""
        argv = test_py_argv(self.checkout, self.model, checkpoints, inputs, results, count)
        self.watch.reset()
        self.loading.reset()
        start = time.perf_counter()
        with reference_on_path(self.checkout), weights_only_loading(), quiet():
            run_script(self.checkout / "test.py", argv)
        seconds = time.perf_counter() - start
        assert self.watch.calls == count, f"test.py ran {self.watch.calls} images, expected {count}"
        return Run(seconds, self.watch.total, reference_outputs(results), load=self.loading.total)


def imgtrans_run(model: str, weights: Path, inputs: Path, out: Path, precision: str, count: int,
                 watch: Stopwatch, loading: Stopwatch) -> Run:
    watch.reset()
    loading.reset()
    start = time.perf_counter()
    report = imgtrans.convert(inputs, out, plugin=model, weights=str(weights), options=OPTIONS,
                              precision=precision, seed=SEED, device="cpu")
    seconds = time.perf_counter() - start
    assert report.count("done") == count, report.summary()
    return Run(seconds, watch.total, out, load=loading.total)


# -- end to end: every run a fresh process ----------------------------------------------------

# ``python test.py ARGV`` with the stand-ins installed first: the checkout is sys.path[0] and
# test.py runs as __main__, as from a shell in the checkout.
LAUNCHER = """
import runpy, sys
bench, checkout, *argv = sys.argv[1:]
sys.path.insert(0, bench)
import reference_stubs
reference_stubs.install_torchvision(); reference_stubs.install_dominate(); reference_stubs.install_wandb()
sys.path[0] = checkout
sys.argv = [checkout + "/test.py", *argv]
runpy.run_path(checkout + "/test.py", run_name="__main__")
"""


def imgtrans_command(checkout: Path | None = None) -> list[str]:
    """The ``imgtrans`` console script installed beside this Python (else ``-m imgtrans``);
    with ``checkout``, the command line of that folder's imgtrans/ and plugins/ instead (e.g.
    ``git archive`` of another commit), run by this Python."""
    if checkout is not None:
        from startup import _FROM_CHECKOUT

        return [sys.executable, "-c", _FROM_CHECKOUT, str(checkout)]
    script = Path(sys.executable).with_name("imgtrans")
    return [str(script)] if script.exists() else [sys.executable, "-m", "imgtrans"]


def child_environment(threads: int, pycache: Path) -> dict[str, str]:
    """Both sides' processes: ``threads`` OpenMP threads, and Python's bytecode cache on (in
    ``pycache``, outside both trees), as for an installed package or a clone run before:
    without it each process would compile its own sources again (imgtrans 87 modules, 0.12 s
    of CPU; the reference 19, 0.02 s), which only a first run pays."""
    env = {**os.environ, "OMP_NUM_THREADS": str(threads), "PYTHONPYCACHEPREFIX": str(pycache)}
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    return env


def timed_process(command: list[str], expected: list[Path], outputs: Path, cwd: Path, log: Path,
                  env: dict[str, str]) -> Run:
    """Run ``command`` to its end: wall seconds from spawning, seconds until the first of the
    ``expected`` outputs existed (polled every 5 ms; imgtrans finishes images in the order
    their reads finish), the process's CPU seconds (user + system)."""
    with open(log, "wb") as sink:
        start = time.perf_counter()
        process = subprocess.Popen(command, stdout=sink, stderr=subprocess.STDOUT, cwd=cwd, env=env)
        first = None
        while True:
            pid, status, usage = os.wait4(process.pid, os.WNOHANG)
            if pid:
                break
            if first is None and any(path.exists() for path in expected):
                first = time.perf_counter() - start
            time.sleep(0.005)
        seconds = time.perf_counter() - start
    process.returncode = os.waitstatus_to_exitcode(status)
    if process.returncode:
        tail = log.read_text(errors="replace")[-4000:]
        raise SystemExit(f"{' '.join(command[:3])} ... exited with {process.returncode}:\n{tail}")
    if first is None and any(path.exists() for path in expected):
        first = seconds
    return Run(seconds, outputs=outputs, first=first, cpu=usage.ru_utime + usage.ru_stime)


def reference_process(checkout: Path, model: str, checkpoints: Path, inputs: Path, results: Path,
                      count: int, env: dict[str, str]) -> Run:
    """test.py in its own process; its fake images end in ``results/bench/test_latest/images``."""
    argv = test_py_argv(checkout, model, checkpoints, inputs, results, count)
    command = [sys.executable, "-c", LAUNCHER, str(Path(__file__).resolve().parent), str(checkout), *argv]
    outputs = reference_outputs(results)
    expected = [outputs / f"{path.stem}_fake.png" for path in inputs.glob("*.png")]
    results.mkdir(parents=True)
    return timed_process(command, expected, outputs, checkout, results / "log.txt", env)


def imgtrans_process(model: str, weights: Path, inputs: Path, out: Path, precision: str,
                     env: dict[str, str], checkout: Path | None = None) -> Run:
    """``imgtrans convert`` in its own process (of ``checkout``: see ``imgtrans_command``)."""
    options = [arg for key, value in OPTIONS.items() for arg in ("--opt", f"{key}={value}")]
    command = [*imgtrans_command(checkout), "convert", str(inputs), str(out), "--plugin", model,
               "--weights", str(weights), *options, "--seed", str(SEED), "--precision", precision]
    out.mkdir(parents=True)
    log = out.with_name(out.name + ".log")
    expected = [out / path.name for path in inputs.glob("*.png")]
    return timed_process(command, expected, out, out.parent, log, env)


def end_to_end(args: argparse.Namespace, checkout: Path, root: Path, weights: Path,
               sides: dict[str, tuple[str, Path | None]]) -> dict[str, list[Run]]:
    """Alternating fresh-process runs of test.py ("reference") and of ``imgtrans convert``,
    one per entry of ``sides`` (label -> (precision, checkout or None: the installed one)),
    after one untimed process of each on one image (file caches, bytecode caches)."""
    checkpoints = weights.parent.parent
    env = child_environment(args.threads, root / "pycache")
    reference_process(checkout, args.model, checkpoints, root / "warm", root / "refwarm", 1, env)
    for label, (precision, folder) in sides.items():
        imgtrans_process(args.model, weights, root / "warm", root / f"{label}warm" / "out", precision, env,
                         folder)
    calls = {"reference": lambda r: reference_process(
        checkout, args.model, checkpoints, root / "in", root / f"ref{r}", args.images, env)}
    for label, (precision, folder) in sides.items():
        calls[label] = (lambda label, precision, folder: lambda r: imgtrans_process(
            args.model, weights, root / "in", root / f"{label}{r}" / "out", precision, env, folder))(
            label, precision, folder)
    return alternate(calls, args.repeats)


def main_end_to_end(args: argparse.Namespace, checkout: Path, reference: Reference) -> None:
    """``--end-to-end``: the installed imgtrans exact (and fast where the CPU has native
    bf16), or the ``--checkout`` folders (exact) instead, against test.py."""
    if args.checkout:
        sides = {label: ("exact", Path(folder)) for label, folder in
                 (item.split("=", 1) for item in args.checkout)}
    else:  # without bf16/fp16 hardware, fast runs exact fp32: not run twice
        sides = {p: (p, None) for p in (("exact", "fast") if cpu_has_bf16() else ("exact",))}
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        weights = reference.write_weights(root / "checkpoints")
        make_images(root / "in", args.images, args.size)
        make_images(root / "warm", 1, args.size)
        runs = end_to_end(args, checkout, root, weights, sides)
        bests = {label: best(side) for label, side in runs.items()}
        names = sorted(p.stem for p in (root / "in").glob("*.png"))
        fakes = [bests["reference"].outputs / f"{n}_fake.png" for n in names]
        diffs = {label: file_difference([(a, bests[label].outputs / f"{n}.png") for a, n in zip(fakes, names)])
                 for label in sides}
    ref = bests["reference"]
    for label, (_, folder) in sides.items():
        if folder:
            print(f"{label}: the imgtrans of {folder}")
    print(rate_line("python test.py", args.images, ref))
    for label, (precision, folder) in sides.items():
        print(rate_line(f"imgtrans convert, {precision}" + (f", {label}" if folder else ""), args.images,
                        bests[label]))
    for label in sides:
        print(ratio_line(f"ratio {label} / reference", bests[label], ref))
    for label in sides:
        print(diff_line(f"difference {label} vs reference", diffs[label]))
    print_spread(runs)
    if not args.checkout and len(sides) == 1:
        print("fast mode not run: this CPU has no native bf16, so it would run exact (fp32)")
    print(f"load average at the end {load_average()}")


def print_spread(runs: dict[str, list[Run]]) -> None:
    """Every run's wall time (and CPU time, of runs in their own processes), and the ratio
    reference / imgtrans round by round (the median of an even count is the upper middle)."""
    ref = next(iter(runs.values()))
    for what, value in (("wall", lambda r: r.seconds), ("CPU", lambda r: r.cpu)):
        if any(value(r) is None for side in runs.values() for r in side):
            continue
        times = "   ".join(f"{name.split()[-1]} " + " ".join(f"{value(r):.2f}" for r in side)
                           for name, side in runs.items())
        print(f"{f'all runs, {what} (s)':<34} {times}")
    for name, side in list(runs.items())[1:]:
        label = name.split()[-1]
        ratios = sorted(a.seconds / b.seconds for a, b in zip(ref, side))
        print(f"{f'round by round, {label} / reference':<34} {ratios[0]:.2f}x - {ratios[-1]:.2f}x "
              f"(median {ratios[len(ratios) // 2]:.2f}x)")


def forward_only(reference: Reference, weights: Path, loaded: dict, image: Path, repeats: int) -> dict[str, float]:
    """Best seconds of one forward of one preprocessed image, each side's test mode."""
    net = reference.define_g()
    net.load_state_dict(torch.load(weights, weights_only=True))
    rgb = read_image(image)[..., ::-1].copy()
    x = torch.from_numpy(rgb).permute(2, 0, 1)[None].float().div(255).sub(0.5).div(0.5)

    def reference_forward() -> None:
        torch.manual_seed(0)
        with torch.no_grad():
            net(x)

    calls = {"reference": reference_forward}
    calls.update({p: translate_call(m, x, [image.name]) for p, m in loaded.items()})
    return best_calls(calls, repeats)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_common_arguments(parser, repeats=3)
    parser.add_argument("--model", choices=sorted(NETWORKS), default="cyclegan")
    parser.add_argument("--images", type=int, default=16, help="images per run")
    parser.add_argument("--size", type=int, default=256, help="input images are SIZE x SIZE")
    parser.add_argument("--end-to-end", action="store_true",
                        help="each run a fresh process (python test.py; imgtrans convert), start-up included")
    parser.add_argument("--checkout", action="append", default=[], metavar="LABEL=FOLDER",
                        help="with --end-to-end: time, exact, the imgtrans of FOLDER (its imgtrans/ and "
                             "plugins/, e.g. git archive of a commit) instead of the installed one "
                             "(repeatable: before and after a change, alternating)")
    args = parser.parse_args()
    if args.quick:
        args.images, args.repeats = min(args.images, 4), min(args.repeats, 2)
    checkout = check_checkout(args.reference, "test.py", "models/networks.py", "data/base_dataset.py",
                              "options/base_options.py")
    how = "fresh processes, end to end" if args.end_to_end else "in this process"
    print_header(args.threads, f"{args.model}: {NETWORKS[args.model][0][0]} ngf 64, random weights; "
                 f"{args.images} images {args.size}x{args.size} per run, best of {args.repeats} alternating runs, "
                 f"{how}\nreference checkout {checkout}: {checkout_era(checkout)}")
    reference = Reference(checkout, args.model)
    if args.end_to_end:
        main_end_to_end(args, checkout, reference)
        return
    watch, loading = Stopwatch(), Stopwatch()
    translator = manager.get_translator(args.model)
    translator.translate = watch.wrap(translator.translate)
    timed_classmethod(translator, "load", loading)
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        weights = reference.write_weights(root / "checkpoints")
        make_images(root / "in", args.images, args.size)
        make_images(root / "warm", 1, args.size)
        # warm-up on one image, not timed: imports, oneDNN kernels
        reference.run(root / "checkpoints", root / "warm", root / "refwarm", 1)
        for p in ("exact", "fast"):
            imgtrans_run(args.model, weights, root / "warm", root / f"{p}warm", p, 1, watch, loading)
        sides = {
            "reference test.py": lambda r: reference.run(root / "checkpoints", root / "in",
                                                         root / f"ref{r}", args.images),
            "imgtrans exact": lambda r: imgtrans_run(args.model, weights, root / "in", root / f"exact{r}",
                                                     "exact", args.images, watch, loading),
            "imgtrans fast": lambda r: imgtrans_run(args.model, weights, root / "in", root / f"fast{r}",
                                                    "fast", args.images, watch, loading),
        }
        runs = alternate(sides, args.repeats)
        loaded = {p: imgtrans.load(args.model, weights, options=OPTIONS, precision=p, seed=SEED, device="cpu")
                  for p in ("exact", "fast")}
        forward = forward_only(reference, weights, loaded, root / "in" / "0000.png", max(2, args.repeats))
        ref, exact, fast = (best(runs[k]) for k in sides)
        names = sorted(p.stem for p in (root / "in").glob("*.png"))
        fakes = [ref.outputs / f"{n}_fake.png" for n in names]
        diffs = {p: file_difference([(a, run.outputs / f"{n}.png") for a, n in zip(fakes, names)])
                 for p, run in (("exact", exact), ("fast", fast))}
        spread = float(np.std(np.stack([read_image(f) for f in fakes]).astype(np.float64)))
    print_comparison("reference test.py", args.images, {"reference": ref, "exact": exact, "fast": fast},
                     forward, diffs)
    print_spread(runs)
    print(f"{'reference output spread':<34} std {spread:.1f} levels (random weights)")
    print(f"fast mode: {loaded['fast'].runner.precision.description}; load average at the end {load_average()}")


if __name__ == "__main__":
    main()
