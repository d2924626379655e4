"""imgtrans against Real-ESRGAN's own inference script, side by side.

    python bench/reference_sr.py --reference CHECKOUT                     # 4 images 64x64, whole images
    python bench/reference_sr.py --reference CHECKOUT --size 256 --tile 128

CHECKOUT is a checkout of xinntao/Real-ESRGAN (its inference_realesrgan.py and
realesrgan/utils.py are used; nothing of it is copied here).

Network: RRDBNet x4 of RealESRGAN_x4plus's size (num_feat 64, num_block 23, num_grow_ch 32)
with random weights: ESRGAN's init (kaiming x 0.1 in the dense blocks), then the last conv
rescaled so the outputs of a test image have mean 0.5 and std 0.15 (in range, so clamping
hides little of any difference). Saved as Real-ESRGAN saves it: ``{"params_ema": state dict}``.
Inputs: ``--images`` generated PNGs of ``--size`` pixels square.

Reference side: inference_realesrgan.py itself, run in this process (runpy) with
``-n RealESRGAN_x4plus --model_path W -s 4 -t TILE --tile_pad PAD --pre_pad 0 --fp32``: its
loop reads each file with cv2, runs ``RealESRGANer.enhance`` (whole image or its tiles) and
writes with cv2; the run includes building the network and loading the checkpoint.
BasicSR does not import here (it needs torchvision), so bench/reference_stubs.py stands in:
``basicsr.archs.rrdbnet_arch.RRDBNet`` is imgtrans' own RRDBNet (plugins/imgtrans_srgan/archs.py,
BasicSR's constructor arguments and key names), subclassed only to time its forward;
``load_file_from_url`` raises; Real-ESRGAN's package ``__init__`` (which imports its training
code through BasicSR's registries) is skipped, its modules import from the checkout.
torch.load runs weights-only. Both sides therefore run the same network code: the
comparison is of the loops around it (and of imgtrans' fast mode).

imgtrans side: ``imgtrans.convert`` folder -> folder, ``--plugin srgan`` on the same file,
``tile``/``tile_pad`` as the reference's, option ``pre_pad=0`` (the script's default),
outscale the model's 4, seed 0, precision exact and fast; its ``translate`` is timed.

Forward only: one whole input image through the network, reference (no_grad) and
``imgtrans.load(...)``'s translator (exact; fast under bf16 autocast).

Printed: images/s per side, the network's seconds, the loop overhead and the part of the
wall spent building and loading the network (reference: RRDBNet() and RealESRGANer();
imgtrans: the translator's load), ratios imgtrans / reference, and the difference of the
written images in 8-bit levels.
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
from imgtrans.plugins import manager  # noqa: E402
from imgtrans_srgan.archs import RRDBNet  # noqa: E402

SEED = 0
ARCH = dict(num_in_ch=3, num_out_ch=3, num_feat=64, num_block=23, num_grow_ch=32, scale=4)


def write_weights(path: Path, probe: np.ndarray) -> Path:
    """Random RealESRGAN_x4plus-size weights as ``{"params_ema": ...}``; the last conv is
    rescaled so ``probe`` (an RGB uint8 image) comes out with mean 0.5, std 0.15."""
    torch.manual_seed(SEED)
    net = RRDBNet(**ARCH).eval()
    x = torch.from_numpy(probe).permute(2, 0, 1)[None].float().div(255)
    with torch.no_grad():
        out = net(x)
        gain = 0.15 / float(out.std())
        net.conv_last.weight.mul_(gain)
        net.conv_last.bias.mul_(gain).add_(0.5 - gain * float(out.mean()))
    torch.save({"params_ema": net.state_dict()}, path)
    return path


class Reference:
    """Real-ESRGAN's inference script in this process, its network's forward timed."""

    def __init__(self, checkout: Path) -> None:
        self.checkout = checkout
        self.watch, self.loading = Stopwatch(), Stopwatch()
        timed = type("RRDBNet", (RRDBNet,), {"forward": self.watch.wrap(RRDBNet.forward),
                                             "__init__": self.loading.wrap(RRDBNet.__init__)})
        reference_stubs.install_basicsr(timed)
        reference_stubs.bare_package("realesrgan", checkout / "realesrgan")
        reference_stubs.bare_package("realesrgan.archs", checkout / "realesrgan" / "archs")
        with reference_on_path(checkout), quiet():
            utils = importlib.import_module("realesrgan.utils")
        sys.modules["realesrgan"].RealESRGANer = utils.RealESRGANer  # what __init__ would export
        # its __init__ is torch.load + load_state_dict
        utils.RealESRGANer.__init__ = self.loading.wrap(utils.RealESRGANer.__init__)

    def run(self, weights: Path, inputs: Path, out: Path, tile: int, tile_pad: int, count: int) -> Run:
        """The script over ``inputs``; results are ``out/<stem>_out.png``."""
        argv = ["-i", str(inputs), "-o", str(out), "-n", "RealESRGAN_x4plus", "--model_path", str(weights),
                "-s", "4", "-t", str(tile), "--tile_pad", str(tile_pad), "--pre_pad", "0", "--fp32"]
        self.watch.reset()
        self.loading.reset()
        start = time.perf_counter()
        with reference_on_path(self.checkout), weights_only_loading(), quiet():
            run_script(self.checkout / "inference_realesrgan.py", argv)
        seconds = time.perf_counter() - start
        written = len(list(out.glob("*_out.png")))
        assert written == count, f"the reference wrote {written} images, expected {count}"
        return Run(seconds, self.watch.total, out, load=self.loading.total)


def imgtrans_run(weights: Path, inputs: Path, out: Path, tile: int, tile_pad: int, precision: str,
                 count: int, watch: Stopwatch, loading: Stopwatch) -> Run:
    watch.reset()
    loading.reset()
    start = time.perf_counter()
    report = imgtrans.convert(inputs, out, plugin="srgan", weights=str(weights), tile=tile, tile_pad=tile_pad,
                              options={"pre_pad": 0}, precision=precision, seed=SEED, device="cpu")
    seconds = time.perf_counter() - start
    assert report.count("done") == count, report.summary()
    return Run(seconds, watch.total, out, load=loading.total)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_common_arguments(parser, repeats=3)
    parser.add_argument("--images", type=int, default=4, help="images per run")
    parser.add_argument("--size", type=int, default=64, help="input images are SIZE x SIZE (output 4x)")
    parser.add_argument("--tile", type=int, default=0, help="tile size in input pixels (0: whole images)")
    parser.add_argument("--tile-pad", type=int, default=10, help="context pixels around each tile")
    args = parser.parse_args()
    if args.quick:
        args.images, args.size, args.repeats = min(args.images, 2), min(args.size, 32), min(args.repeats, 2)
    checkout = check_checkout(args.reference, "inference_realesrgan.py", "realesrgan/utils.py")
    tiles = f"tile {args.tile}, tile_pad {args.tile_pad}" if args.tile else "whole images (tile 0)"
    print_header(args.threads, f"RRDBNet x4 (RealESRGAN_x4plus size), random weights; {args.images} images "
                 f"{args.size}x{args.size} -> {4 * args.size}x{4 * args.size}, {tiles}, pre_pad 0; "
                 f"best of {args.repeats} alternating runs")
    reference = Reference(checkout)
    watch, loading = Stopwatch(), Stopwatch()
    translator = manager.get_translator("srgan")
    translator.translate = watch.wrap(translator.translate)
    timed_classmethod(translator, "load", loading)
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        make_images(root / "in", args.images, args.size)
        make_images(root / "warm", 1, args.size)
        first = read_image(root / "in" / "0000.png")[..., ::-1].copy()  # RGB
        weights = write_weights(root / "RealESRGAN_x4plus_random.pth", first)
        tiling = (args.tile, args.tile_pad)
        # warm-up on one image, not timed: imports, oneDNN kernels
        reference.run(weights, root / "warm", root / "refwarm", *tiling, 1)
        for p in ("exact", "fast"):
            imgtrans_run(weights, root / "warm", root / f"{p}warm", *tiling, p, 1, watch, loading)
        sides = {
            "reference": lambda r: reference.run(weights, root / "in", root / f"ref{r}", *tiling, args.images),
            "imgtrans exact": lambda r: imgtrans_run(weights, root / "in", root / f"exact{r}", *tiling,
                                                     "exact", args.images, watch, loading),
            "imgtrans fast": lambda r: imgtrans_run(weights, root / "in", root / f"fast{r}", *tiling,
                                                    "fast", args.images, watch, loading),
        }
        runs = alternate(sides, args.repeats)
        ref, exact, fast = (best(runs[k]) for k in sides)
        loaded = {p: imgtrans.load("srgan", weights, options={"pre_pad": 0}, precision=p, seed=SEED, device="cpu")
                  for p in ("exact", "fast")}
        net = RRDBNet(**ARCH).eval()
        net.load_state_dict(torch.load(weights, weights_only=True)["params_ema"])
        x = torch.from_numpy(first).permute(2, 0, 1)[None].float() / 255

        def reference_forward() -> None:
            with torch.no_grad():
                net(x)

        forward = best_calls({"reference": reference_forward,
                              **{p: translate_call(m, x, ["0000.png"]) for p, m in loaded.items()}},
                             max(2, args.repeats))
        names = sorted(p.stem for p in (root / "in").glob("*.png"))
        diffs = {p: file_difference([(ref.outputs / f"{n}_out.png", run.outputs / f"{n}.png") for n in names])
                 for p, run in (("exact", exact), ("fast", fast))}
    print_comparison("reference inference_realesrgan.py", args.images, {"reference": ref, "exact": exact, "fast": fast},
                     forward, diffs)
    print(f"fast mode: {loaded['fast'].runner.precision.description}; load average at the end {load_average()}")


if __name__ == "__main__":
    main()
