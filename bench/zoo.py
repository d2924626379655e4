"""Zoo models: imgtrans against spandrel's own descriptor in a plain loop, and fast mode.

For each architecture, a model of a published size is built with random weights (spandrel's
classes; nothing is downloaded), saved as .safetensors, and run on the same images:

* spandrel: ``ModelLoader().load_from_state_dict``, then ``descriptor(x)`` per image, uint8
  in and out (the loop a script around spandrel writes);
* imgtrans: ``imgtrans.load(weights=FILE)`` (identification and loading), then the loaded
  model called on the same uint8 arrays (preprocessing, the model, postprocessing,
  quantization).

Per-image times exclude loading on both sides.

After one untimed call each, calls alternate image by image for ``--repeats`` rounds, in
ABBA order (spandrel first on even turns, imgtrans first on odd ones, so neither side always
runs on the caches the other left) and the median per-image time is kept; the ratio is
spandrel's time / imgtrans's (>= 1.0: imgtrans is not slower), with the interquartile range
of the call-by-call ratios ("pairs") to show the noise. Fast mode: the
translator's bf16/fp16 path against exact on the same images (mean and max difference in
8-bit levels), and its speed where the device runs bf16 natively; on a CPU without AVX-512
BF16/AMX ``--precision fast`` runs exact, so the error is measured with autocast emulated
(``--emulate``), which says nothing about speed.

    .venv-zoo/bin/python bench/zoo.py --size 128 --images 4 --repeats 3

``--formats`` times spandrel's own call in channels_last against contiguous per architecture
(and the largest difference between the two), which is how ``imgtrans_zoo.layout`` chooses.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

import numpy as np
import torch


def builders() -> dict:
    """Published configurations (the sizes OpenModelDB's models use), random weights."""
    from spandrel.architectures.DAT import DAT
    from spandrel.architectures.DRUNet import DRUNet
    from spandrel.architectures.NAFNet import NAFNet
    from spandrel.architectures.OmniSR import OmniSR
    from spandrel.architectures.PLKSR import RealPLKSR
    from spandrel.architectures.RCAN import RCAN
    from spandrel.architectures.RealCUGAN import UpCunet2x
    from spandrel.architectures.SAFMN import SAFMN
    from spandrel.architectures.SCUNet import SCUNet
    from spandrel.architectures.SPAN import SPAN
    from spandrel.architectures.SwinIR import SwinIR

    return {
        "SPAN ch48 x4": lambda: SPAN(num_in_ch=3, num_out_ch=3, feature_channels=48, upscale=4),
        "RealPLKSR x4": lambda: RealPLKSR(upscaling_factor=4),
        "OmniSR x4": lambda: OmniSR(up_scale=4),
        "SwinIR-S x2": lambda: SwinIR(upscale=2, embed_dim=60, depths=[6, 6, 6, 6], num_heads=[6, 6, 6, 6],
                                      window_size=8, mlp_ratio=2.0, upsampler="pixelshuffledirect"),
        "DAT-light x2": lambda: DAT(upscale=2, embed_dim=60, depth=[18], num_heads=[6], expansion_factor=2.0,
                                    resi_connection="3conv", split_size=[8, 32], upsampler="pixelshuffledirect"),
        "SCUNet x1": lambda: SCUNet(),
        "NAFNet-w32 x1": lambda: NAFNet(img_channel=3, width=32, middle_blk_num=1, enc_blk_nums=[1, 1, 1, 28],
                                        dec_blk_nums=[1, 1, 1, 1]),
        "SAFMN x4": lambda: SAFMN(dim=36, n_blocks=8, ffn_scale=2.0, upscaling_factor=4),
        "RealCUGAN x2": lambda: UpCunet2x(in_channels=3, out_channels=3),
        "DRUNet x1": lambda: DRUNet(in_nc=4, out_nc=3),
        "RCAN x2": lambda: RCAN(scale=2),
    }


def loaded_pair(path: Path) -> tuple:
    """(spandrel's descriptor, imgtrans's loaded translator) for one file, and their load times."""
    import imgtrans
    from spandrel import ModelLoader

    from imgtrans.weights.safe_load import load_state_dict

    start = time.perf_counter()
    descriptor = ModelLoader().load_from_state_dict(load_state_dict(path)).eval()
    middle = time.perf_counter()
    model = imgtrans.load(weights=str(path), device="cpu")
    return descriptor, model, middle - start, time.perf_counter() - middle


def spandrel_call(descriptor, image: np.ndarray) -> np.ndarray:
    """The loop a script around spandrel writes: uint8 in, descriptor, uint8 out."""
    x = torch.from_numpy(image).permute(2, 0, 1)[None].float().div(255)
    y = descriptor(x)[0].permute(1, 2, 0)
    return (y * 255).round().clamp(0, 255).byte().numpy()


def timed(fn, *args) -> tuple[float, object]:
    start = time.perf_counter()
    out = fn(*args)
    return time.perf_counter() - start, out


def emulated_fast(path: Path, images: list[np.ndarray], dtype: torch.dtype) -> tuple[float, float, str]:
    """(mean, max) 8-bit difference of the zoo translator's fast path (autocast ``dtype``,
    emulated on this CPU) from exact, and what it did."""
    import imgtrans
    from imgtrans.plugin import TranslateContext

    loaded = imgtrans.load(weights=str(path), device="cpu")
    translator = loaded.translator
    diffs = []
    for image in images:
        x = torch.from_numpy(image).permute(2, 0, 1)[None].float().div(255)
        with torch.no_grad():
            exact = translator.translate(x, TranslateContext(device=torch.device("cpu")))
            fast = translator.translate(x, TranslateContext(device=torch.device("cpu"), precision=dtype))
        diffs.append(((exact.clamp(0, 1) - fast.float().clamp(0, 1)).abs() * 255))
    flag = {torch.bfloat16: "supports_bfloat16", torch.float16: "supports_half"}[dtype]
    allowed = translator.model.facts[flag]
    what = "autocast" if allowed else "refused (runs exact)"
    return float(torch.cat([d.flatten() for d in diffs]).mean()), float(max(d.max() for d in diffs)), what


def formats(descriptor, images: list[np.ndarray], repeats: int) -> tuple[float, float]:
    """(speed-up of channels_last over contiguous, max difference in 8-bit levels) of spandrel's
    own call on ``images``, ABBA: what decides ``imgtrans_zoo.layout.CHANNELS_LAST``."""
    batches = [torch.from_numpy(i).permute(2, 0, 1)[None].float().div(255) for i in images]
    times: dict = {torch.contiguous_format: [], torch.channels_last: []}
    outputs: dict = {}
    for turn in range(repeats * len(batches) + 1):
        order = list(times) if turn % 2 == 0 else list(times)[::-1]
        for fmt in order:
            descriptor.model.to(memory_format=fmt)
            x = batches[turn % len(batches)].contiguous(memory_format=fmt)
            t, out = timed(descriptor, x)
            if turn:  # the first turn sets up each format's kernels
                times[fmt].append(t)
            outputs[fmt] = out
        top = float((outputs[torch.contiguous_format] - outputs[torch.channels_last]).abs().max()) * 255
    descriptor.model.to(memory_format=torch.contiguous_format)
    return float(np.median(times[torch.contiguous_format]) / np.median(times[torch.channels_last])), top


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size", type=int, default=128)
    parser.add_argument("--images", type=int, default=4)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--only", default="", help="comma-separated architectures (default: all)")
    parser.add_argument("--no-fast", action="store_true", help="skip the fast-mode error")
    parser.add_argument("--formats", action="store_true",
                        help="instead: spandrel's call channels_last vs contiguous per architecture")
    args = parser.parse_args()
    torch.set_num_threads(max(1, torch.get_num_threads()))
    rng = np.random.default_rng(0)
    images = [rng.integers(0, 256, (args.size, args.size, 3), dtype=np.uint8) for _ in range(args.images)]
    from imgtrans.core.precision import fast_dtype
    from safetensors.torch import save_file

    native, description = fast_dtype(torch.device("cpu"))
    print("load average before: %.2f %.2f %.2f" % os.getloadavg())
    print(f"{args.images} images {args.size}x{args.size}, CPU, torch {torch.__version__}, "
          f"{torch.get_num_threads()} threads, median of {args.repeats} rounds; fast mode here: {description}")
    if not args.formats:
        print(f"{'architecture':<15} {'spandrel s/img':>14} {'imgtrans s/img':>14} {'ratio':>6} "
              f"{'max diff':>8}  bf16 error (mean/max levels)")
    with tempfile.TemporaryDirectory() as tmp:
        for name, make in builders().items():
            if args.only and name.split()[0] not in args.only.split(","):
                continue
            torch.manual_seed(0)
            net = make().eval()
            path = Path(tmp) / f"{name.split()[0]}.safetensors"
            save_file({k: v.contiguous() for k, v in net.state_dict().items()}, str(path))
            descriptor, model, _, _ = loaded_pair(path)
            if args.formats:
                gain, top = formats(descriptor, images, args.repeats)
                chosen = model.translator.model.facts["memory_format"]
                print(f"{name:<15} channels_last {gain:.2f}x contiguous, max diff {top:.4f} levels; "
                      f"imgtrans runs it {chosen}", flush=True)
                continue
            spandrel_call(descriptor, images[0]), model(images[0])  # first calls set up kernels
            spandrel_times, imgtrans_times, diff = [], [], 0
            for turn in range(args.repeats * len(images)):  # interleaved call by call, ABBA
                image = images[turn % len(images)]
                sides = [(spandrel_times, lambda i: spandrel_call(descriptor, i)), (imgtrans_times, model)]
                outputs = []
                for times, call in sides if turn % 2 == 0 else sides[::-1]:
                    t, out = timed(call, image)
                    times.append(t)
                    outputs.append(out)
                diff = max(diff, int(np.abs(outputs[0].astype(int) - outputs[1].astype(int)).max()))
            spandrel_t, imgtrans_t = float(np.median(spandrel_times)), float(np.median(imgtrans_times))
            pair = np.array(spandrel_times) / np.array(imgtrans_times)
            spread = f"pairs {np.percentile(pair, 25):.2f}-{np.percentile(pair, 75):.2f}"
            if args.no_fast:
                print(f"{name:<15} {spandrel_t:>14.3f} {imgtrans_t:>14.3f} {spandrel_t / imgtrans_t:>6.2f} "
                      f"{diff:>8}  {spread}", flush=True)
                continue
            mean, top, what = emulated_fast(path, images[:2], torch.bfloat16)
            print(f"{name:<15} {spandrel_t:>14.3f} {imgtrans_t:>14.3f} {spandrel_t / imgtrans_t:>6.2f} "
                  f"{diff:>8}  {mean:.3f} / {top:.0f} ({what}, emulated)", flush=True)
            if native is not None:
                import imgtrans

                fast = imgtrans.load(weights=str(path), device="cpu", precision="fast")
                exact_t = np.median([timed(model, i)[0] for _ in range(args.repeats) for i in images])
                fast_t = np.median([timed(fast, i)[0] for _ in range(args.repeats) for i in images])
                print(f"{'':<15} fast mode speed-up {exact_t / fast_t:.2f}x ({description})")
    print("load average after: %.2f %.2f %.2f" % os.getloadavg())


if __name__ == "__main__":
    main()
