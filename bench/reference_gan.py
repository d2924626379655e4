"""imgtrans against the CycleGAN/pix2pix reference's own test loop, side by side.

    python bench/reference_gan.py --reference CHECKOUT                  # CycleGAN ResNet-9, 16 images
    python bench/reference_gan.py --reference CHECKOUT --model pix2pix  # pix2pix unet_256
    python bench/reference_gan.py --reference CHECKOUT --images 32      # the issue's overhead figure

CHECKOUT is a checkout of junyanz/pytorch-CycleGAN-and-pix2pix (its test.py, models/, data/,
options/, util/ are used; nothing of it is copied here).

Weights: random, made by the reference's own ``networks.define_G`` (its N(0, 0.02) init) and
saved as it saves them, a state dict: ``latest_net_G_A.pth`` (CycleGAN: resnet_9blocks,
ngf 64, instance norm, no dropout) or ``latest_net_G.pth`` (pix2pix: unet_256, ngf 64,
batch norm, dropout). Inputs: ``--images`` generated PNGs of ``--size`` pixels square.

Reference side: its test.py itself, run in this process (runpy) with its options given as
an argv list: ``--model test --dataset_mode single --gpu_ids -1``, plus ``--no_dropout
--model_suffix _A`` (CycleGAN) or ``--netG unet_256 --norm batch`` (pix2pix as
scripts/test_single.sh runs it: dropout on and no ``--eval``, its default test mode with the
image's own batch statistics and active dropout); default preprocess resize_and_crop with
load_size = crop_size = 256. Each run pays what a test.py user pays once Python is up:
options, dataset, building the net (with its random init) and loading the checkpoint, then
per image PIL read, transforms, set_input, test(), tensor2im and two PNGs (real and fake),
and the HTML page. Modules it imports that this machine lacks (torchvision.transforms,
dominate) are stand-ins from bench/reference_stubs.py; torch.load runs weights-only.
Instrumented: ``BaseModel.test`` is wrapped to time the forward and, for pix2pix, to seed the
global RNG per image with imgtrans' per-image seed, so both sides draw the same dropout
masks (nothing else changes).

imgtrans side: ``imgtrans.convert`` folder -> folder with ``--plugin cyclegan|pix2pix`` on the
same checkpoint file, options ``preprocess=resize_and_crop load_size=256`` (the reference's
test preprocessing), seed 0, batch size auto (1 for CycleGAN, 4 for pix2pix on CPU),
precision exact and fast. The translator's ``translate`` is wrapped to time the network.

Forward only: one preprocessed image through the reference's netG (its test mode, no_grad)
and through ``imgtrans.load(...)``'s translator (exact; fast under the runner's autocast).

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
                          quiet, read_image, reference_on_path, run_script, timed_classmethod,
                          translate_call, weights_only_loading)

import imgtrans  # noqa: E402
from imgtrans.core.runner import image_seed  # noqa: E402
from imgtrans.plugins import manager  # noqa: E402

SEED = 0
OPTIONS = {"preprocess": "resize_and_crop", "load_size": 256}  # the reference's test preprocessing
NETWORKS = {  # define_G arguments (netG, norm, use_dropout), weights file, test.py options
    "cyclegan": (("resnet_9blocks", "instance", False), "latest_net_G_A.pth",
                 ["--no_dropout", "--model_suffix", "_A"]),
    "pix2pix": (("unet_256", "batch", True), "latest_net_G.pth", ["--netG", "unet_256", "--norm", "batch"]),
}


class Reference:
    """The reference checkout, imported in this process, with ``BaseModel.test`` timed."""

    def __init__(self, checkout: Path, model: str) -> None:
        reference_stubs.install_torchvision()
        reference_stubs.install_dominate()
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
        (net_g, norm, dropout), _, _ = NETWORKS[self.model]
        with quiet():
            return self.networks.define_G(3, 3, 64, net_g, norm, dropout, "normal", 0.02, [])

    def write_weights(self, folder: Path) -> Path:
        """Random weights in the reference's layout: ``folder/bench/latest_net_G*.pth``."""
        torch.manual_seed(SEED)
        path = folder / "bench" / NETWORKS[self.model][1]
        path.parent.mkdir(parents=True)
        torch.save(self.define_g().state_dict(), path)
        return path

    def run(self, checkpoints: Path, inputs: Path, results: Path, count: int) -> Run:
        """test.py over ``inputs``; its fake images end in ``results/bench/test_latest/images``."""
        argv = ["--dataroot", str(inputs), "--name", "bench", "--checkpoints_dir", str(checkpoints),
                "--results_dir", str(results), "--gpu_ids", "-1", "--num_test", str(count),
                "--model", "test", "--dataset_mode", "single", *NETWORKS[self.model][2]]
        self.watch.reset()
        self.loading.reset()
        start = time.perf_counter()
        with reference_on_path(self.checkout), weights_only_loading(), quiet():
            run_script(self.checkout / "test.py", argv)
        seconds = time.perf_counter() - start
        assert self.watch.calls == count, f"test.py ran {self.watch.calls} images, expected {count}"
        return Run(seconds, self.watch.total, results / "bench" / "test_latest" / "images",
                   load=self.loading.total)


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
    args = parser.parse_args()
    if args.quick:
        args.images, args.repeats = min(args.images, 4), min(args.repeats, 2)
    checkout = check_checkout(args.reference, "test.py", "models/networks.py", "data/base_dataset.py")
    print_header(args.threads, f"{args.model}: {NETWORKS[args.model][0][0]} ngf 64, random weights; "
                 f"{args.images} images {args.size}x{args.size} per run, best of {args.repeats} alternating runs")
    reference = Reference(checkout, args.model)
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
    print(f"{'reference output spread':<34} std {spread:.1f} levels (random weights)")
    print(f"fast mode: {loaded['fast'].runner.precision.description}; load average at the end {load_average()}")


if __name__ == "__main__":
    main()
