"""Images/s against --batch-size for every built-in learned translator, side by side.

    python bench/batch_size.py            # published-size networks at their usual input sizes
    python bench/batch_size.py --quick    # smaller inputs, 15 s of timing each (about 5 minutes on 2 CPU cores)
    python bench/batch_size.py --sr-inputs 64x48,128x96,256x192 --sizes 1,2,4 --seconds 30   # RRDBNet by size

Each workload is one loaded translator (bundled weights, or a published architecture with
random weights: speed does not depend on the values) fed the same generated inputs through
the pipeline's runner (preprocessing, translate, quantization; no file I/O) in batches of 1,
2, 4 and 8. Every batch size first runs once to warm up (oneDNN builds kernels per shape),
then the sizes take turns pass by pass, rotating the order each round, for a fixed time
budget, so bursts of load from other processes hit them alike. The best pass per size (the
least disturbed on a shared machine) is reported as images/s, with the ratio to batch size
1. Uses CUDA when present (``--device``).
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import cv2
import numpy as np
import torch

import imgtrans


@dataclass
class Workload:
    name: str
    plugin: str
    inputs: str
    """What one input is, for the table."""
    weights: Callable[[Path], Any]
    """Returns a registry name, or writes random weights into the folder and returns their path."""
    make: Callable[[int, int], list[Any]]
    """``make(n, seed)``: n inputs."""
    options: dict[str, Any] = field(default_factory=dict)


def _photos(size: int, width: int | None = None) -> Callable[[int, int], list[np.ndarray]]:
    """``size``x``size`` images (``size`` high and ``width`` wide when given)."""
    height, width = size, width or size

    def make(n: int, seed: int) -> list[np.ndarray]:
        rng = np.random.default_rng(seed)
        small = [rng.integers(0, 256, (max(2, height // 8), max(2, width // 8), 3), dtype=np.uint8)
                 for _ in range(n)]
        return [cv2.resize(s, (width, height), interpolation=cv2.INTER_CUBIC) for s in small]
    return make


def _layouts(n: int, seed: int) -> list[Any]:
    from imgtrans_layout2im.synthetic import VOCAB, random_layout

    rng = np.random.default_rng(seed)
    return [random_layout(rng, VOCAB, 1, 4) for _ in range(n)]


def _gan(preset: str, norm: str, dropout: bool) -> Callable[[Path], Path]:
    def write(folder: Path) -> Path:
        from imgtrans_gan.networks import GeneratorConfig, init_weights

        net = init_weights(GeneratorConfig.preset(preset, ngf=64, norm=norm, use_dropout=dropout).build())
        torch.save(net.state_dict(), folder / f"{preset}.pth")
        return folder / f"{preset}.pth"
    return write


def _rrdbnet(folder: Path) -> Path:
    from imgtrans_srgan.archs import SRConfig

    net = SRConfig(arch="rrdbnet", scale=4, num_feat=64, num_block=23, num_grow_ch=32).build()
    torch.save({"params_ema": net.state_dict()}, folder / "RealESRGAN_x4plus_size.pth")
    return folder / "RealESRGAN_x4plus_size.pth"


def _ddpm_cifar10(folder: Path) -> Path:
    """google/ddpm-cifar10-32's UNet configuration (35.7 M parameters), random weights."""
    from diffusers import DDPMPipeline, DDPMScheduler, UNet2DModel

    unet = UNet2DModel(sample_size=32, in_channels=3, out_channels=3, layers_per_block=2,
                       block_out_channels=(128, 256, 256, 256),
                       down_block_types=("DownBlock2D", "AttnDownBlock2D", "DownBlock2D", "DownBlock2D"),
                       up_block_types=("UpBlock2D", "UpBlock2D", "AttnUpBlock2D", "UpBlock2D"))
    out = folder / "ddpm-cifar10-32"
    DDPMPipeline(unet=unet, scheduler=DDPMScheduler(num_train_timesteps=1000)).save_pretrained(out)
    return out


def _bundled(name: str) -> Callable[[Path], str]:
    return lambda folder: name


def workloads(quick: bool, sr_inputs: list[tuple[int, int]]) -> list[Workload]:
    gan, sr = (128, 32) if quick else (256, 64)
    sdedit = {"strength": 0.5, "steps": 10}
    if sr_inputs:  # RRDBNet at each input size (WIDTHxHEIGHT), in place of the whole table
        return [Workload("srgan RRDBNet x4 (RealESRGAN_x4plus size), random", "srgan",
                         f"{w}x{h} -> {4 * w}x{4 * h}", _rrdbnet, make=_photos(h, w)) for w, h in sr_inputs]
    return [
        Workload("pix2pix.facades_synth (bundled, default test mode)", "pix2pix", "256x256",
                 _bundled("pix2pix.facades_synth"), make=_photos(256)),
        Workload("pix2pix unet_256 ngf 64, random (default test mode)" if not quick else
                 "pix2pix unet_128 ngf 64, random (default test mode)", "pix2pix", f"{gan}x{gan}",
                 _gan("unet_128" if quick else "unet_256", "batch", True), make=_photos(gan)),
        Workload("cyclegan.day2night_synth (bundled)", "cyclegan", "256x256", _bundled("cyclegan.day2night_synth"),
                 make=_photos(256)),
        Workload("cyclegan resnet_9blocks ngf 64, random", "cyclegan", f"{gan}x{gan}",
                 _gan("resnet_9blocks", "instance", False), make=_photos(gan)),
        Workload("srgan.photos_x4 (bundled MSRResNet)", "srgan", "64x64 -> 256x256", _bundled("srgan.photos_x4"),
                 make=_photos(64)),
        Workload("srgan RRDBNet x4 (RealESRGAN_x4plus size), random", "srgan", f"{sr}x{sr} -> {4 * sr}x{4 * sr}",
                 _rrdbnet, make=_photos(sr)),
        Workload("sdedit.facades_synth (bundled), 10 steps, strength 0.5", "sdedit", "32x32",
                 _bundled("sdedit.facades_synth"), options=sdedit, make=_photos(32)),
        Workload("sdedit ddpm-cifar10-32 size, random, 10 steps, strength 0.5", "sdedit", "32x32",
                 _ddpm_cifar10, options=sdedit, make=_photos(32)),
        Workload("layout2im.shapes_synth (bundled)", "layout2im", "layout, 1-4 boxes", _bundled("layout2im.shapes_synth"),
                 make=_layouts),
    ]


def run_batches(model: Any, inputs: list[Any], batch_size: int) -> None:
    names = [f"{i}.png" for i in range(len(inputs))]
    for start in range(0, len(inputs), batch_size):
        chunk, chunk_names = inputs[start:start + batch_size], names[start:start + batch_size]
        if model.runner.takes_images:
            model.runner.run_arrays(chunk, 8, chunk_names)
        else:
            model.runner.run_inputs(chunk, chunk_names)
    if model.runner.device.type == "cuda":
        torch.cuda.synchronize()


def measure(model: Any, inputs: list[Any], sizes: list[int], budget: float) -> tuple[dict[int, float], int]:
    """Best seconds per pass over all ``inputs`` at each batch size, and the number of rounds.
    A warm-up pass at each size first (oneDNN builds kernels per shape); then rounds of one
    timed pass per size, in rotating order, until ``budget`` seconds are spent (at least two
    rounds), so bursts of load from other processes hit every size alike."""
    for size in sizes:
        run_batches(model, inputs, size)
    times: dict[int, list[float]] = {size: [] for size in sizes}
    start = time.perf_counter()
    rounds = 0
    while rounds < 2 or time.perf_counter() - start < budget:
        for size in sizes[rounds % len(sizes):] + sizes[:rounds % len(sizes)]:
            began = time.perf_counter()
            run_batches(model, inputs, size)
            times[size].append(time.perf_counter() - began)
        rounds += 1
    return {size: min(t) for size, t in times.items()}, rounds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="smaller inputs for the published-size networks, "
                        "15 s of timing per workload")
    parser.add_argument("--device", default="auto", help="auto (CUDA when present), cpu or cuda")
    parser.add_argument("--sizes", default="1,2,4,8", help="batch sizes, comma-separated")
    parser.add_argument("--seconds", type=float, default=None,
                        help="timing budget per workload after warm-up (default 60; --quick 15)")
    parser.add_argument("--only", default="", help="run only workloads whose name contains this")
    parser.add_argument("--threads", type=int, default=None, help="torch threads (default: torch's choice)")
    parser.add_argument("--sr-inputs", default="", metavar="WxH,...",
                        help="instead of the table: RRDBNet x4 at each of these input sizes (how "
                             "srgan's CPU batch choice for RRDBNet was measured)")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    sizes = [int(s) for s in args.sizes.split(",")]
    budget = args.seconds or (15.0 if args.quick else 60.0)
    count = max(sizes)
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, "
          f"load average {os.getloadavg()[0]:.1f}, {count} inputs per pass, best pass of each size")
    print("| workload | input | params | rounds | " + " | ".join(f"batch {s}" for s in sizes) + " |")
    print("|" + "---|" * (4 + len(sizes)))
    started, device = time.perf_counter(), None
    with tempfile.TemporaryDirectory() as tmp:
        sr_inputs = [tuple(int(v) for v in size.lower().split("x")) for size in args.sr_inputs.split(",") if size]
        for work in workloads(args.quick, sr_inputs):
            if args.only not in work.name:
                continue
            torch.manual_seed(0)
            weights = work.weights(Path(tmp))
            model = imgtrans.load(work.plugin, weights, options=work.options, device=args.device, seed=0)
            net = model.translator.model.unet if work.plugin == "sdedit" else model.translator.net
            params = sum(p.numel() for p in net.parameters()) / 1e6
            seconds, rounds = measure(model, work.make(count, 0), sizes, budget)
            rate = {s: count / t for s, t in seconds.items()}
            cells = [f"{rate[s]:.2f}/s" + ("" if s == sizes[0] else f" ({rate[s] / rate[sizes[0]]:.2f}x)")
                     for s in sizes]
            print(f"| {work.name} | {work.inputs} | {params:.2f} M | {rounds} | " + " | ".join(cells) + " |",
                  flush=True)
            device = model.runner.device
    print(f"device {device}; total {time.perf_counter() - started:.0f} s; "
          f"load average {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
