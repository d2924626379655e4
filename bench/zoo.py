"""Zoo models: imgtrans against spandrel's own descriptor in a plain loop, and fast mode.

For each architecture, a model of a published size is built with random weights (spandrel's
classes; nothing is downloaded), saved as .safetensors, and run on the same images:

* spandrel: ``ModelLoader().load_from_state_dict``, then ``descriptor(x)`` per image, uint8
  in and out (the loop a script around spandrel writes);
* imgtrans: ``imgtrans.load(weights=FILE)`` (identification and loading), then the loaded
  model called on the same uint8 arrays (preprocessing, the model, postprocessing,
  quantization).

Per-image times exclude loading on both sides.

Runs alternate (spandrel, imgtrans, spandrel...) and the best of ``--repeats`` is kept; the
ratio is spandrel's time / imgtrans's (>= 1.0: imgtrans is not slower). Fast mode: the
translator's bf16/fp16 path against exact on the same images (mean and max difference in
8-bit levels), and its speed where the device runs bf16 natively; on a CPU without AVX-512
BF16/AMX ``--precision fast`` runs exact, so the error is measured with autocast emulated
(``--emulate``), which says nothing about speed.

    .venv-zoo/bin/python bench/zoo.py --size 128 --images 4 --repeats 3
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np
import torch


def builders() -> dict:
    """Published configurations (the sizes OpenModelDB's models use), random weights."""
    from spandrel.architectures.DAT import DAT
    from spandrel.architectures.NAFNet import NAFNet
    from spandrel.architectures.OmniSR import OmniSR
    from spandrel.architectures.PLKSR import RealPLKSR
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
    }


def spandrel_loop(path: Path, images: list[np.ndarray]) -> tuple[float, list[np.ndarray]]:
    """(seconds for the images, after loading; outputs)."""
    from spandrel import ModelLoader

    from imgtrans.weights.safe_load import load_state_dict

    descriptor = ModelLoader().load_from_state_dict(load_state_dict(path)).eval()
    start = time.perf_counter()
    outputs = []
    for image in images:
        x = torch.from_numpy(image).permute(2, 0, 1)[None].float().div(255)
        y = descriptor(x)[0].permute(1, 2, 0)
        outputs.append((y * 255).round().clamp(0, 255).byte().numpy())
    return time.perf_counter() - start, outputs


def imgtrans_loop(path: Path, images: list[np.ndarray], precision: str = "exact") -> tuple[float, list[np.ndarray]]:
    """(seconds for the images, after identification and loading; outputs)."""
    import imgtrans

    model = imgtrans.load(weights=str(path), device="cpu", precision=precision)
    start = time.perf_counter()
    outputs = [model(image) for image in images]
    return time.perf_counter() - start, outputs


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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size", type=int, default=128)
    parser.add_argument("--images", type=int, default=4)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--only", default="", help="comma-separated architectures (default: all)")
    args = parser.parse_args()
    torch.set_num_threads(max(1, torch.get_num_threads()))
    rng = np.random.default_rng(0)
    images = [rng.integers(0, 256, (args.size, args.size, 3), dtype=np.uint8) for _ in range(args.images)]
    from imgtrans.core.precision import fast_dtype
    from safetensors.torch import save_file

    native, description = fast_dtype(torch.device("cpu"))
    print(f"{args.images} images {args.size}x{args.size}, CPU, torch {torch.__version__}, "
          f"{torch.get_num_threads()} threads, best of {args.repeats}; fast mode here: {description}")
    print(f"{'architecture':<15} {'spandrel s/img':>14} {'imgtrans s/img':>14} {'ratio':>6} {'max diff':>8}"
          f"  bf16 error (mean/max levels)")
    with tempfile.TemporaryDirectory() as tmp:
        for name, make in builders().items():
            if args.only and name.split()[0] not in args.only.split(","):
                continue
            torch.manual_seed(0)
            net = make().eval()
            path = Path(tmp) / f"{name.split()[0]}.safetensors"
            save_file({k: v.contiguous() for k, v in net.state_dict().items()}, str(path))
            spandrel_best = imgtrans_best = float("inf")
            for _ in range(args.repeats):
                t, ref = spandrel_loop(path, images)
                spandrel_best = min(spandrel_best, t)
                t, ours = imgtrans_loop(path, images)
                imgtrans_best = min(imgtrans_best, t)
            diff = max(int(np.abs(a.astype(int) - b.astype(int)).max()) for a, b in zip(ref, ours))
            mean, top, what = emulated_fast(path, images[:2], torch.bfloat16)
            print(f"{name:<15} {spandrel_best / len(images):>14.3f} {imgtrans_best / len(images):>14.3f} "
                  f"{spandrel_best / imgtrans_best:>6.2f} {diff:>8}  {mean:.3f} / {top:.0f} ({what}, emulated)",
                  flush=True)
            if native is not None:
                exact_t = min(imgtrans_loop(path, images)[0] for _ in range(args.repeats))
                fast_t = min(imgtrans_loop(path, images, "fast")[0] for _ in range(args.repeats))
                print(f"{'':<15} fast mode speed-up {exact_t / fast_t:.2f}x ({description})")


if __name__ == "__main__":
    main()
