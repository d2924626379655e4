"""Loading a large checkpoint: imgtrans's load path vs the bare minimum, side by side.

    python bench/load_time.py [--rounds 5] [--blocks 23] [--format pth|safetensors]

Writes a RRDBNet x4 (ESRGAN/Real-ESRGAN: 23 blocks, 64 features, about 67 MB) with random
weights in BasicSR naming, then times, interleaved round after round:

* ``bare``: ``torch.load(weights_only=True)`` + ``load_state_dict(assign=True)`` into a
  network built on the meta device: the floor any loader pays;
* ``imgtrans``: ``SRTranslator.load`` through the plugin's load path (safe read, finiteness
  check, unwrapping, architecture inference, strict checks, ``build_network``), on the CPU;
* ``random init``: the network built the ordinary way (random initialisation) then
  ``load_state_dict``: what imgtrans did before ``build_network``.

Prints the median of each, the ratios to ``bare`` (the issue's bound: imgtrans <= 1.2x) and
the load average; both loaded networks are checked to give the same output.
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from pathlib import Path

import torch


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--blocks", type=int, default=23)
    parser.add_argument("--format", choices=("pth", "safetensors"), default="pth")
    parser.add_argument("--threads", type=int, default=torch.get_num_threads())
    args = parser.parse_args()
    torch.set_num_threads(args.threads)

    from imgtrans.plugin import save_state_dict, weights_at
    from imgtrans_srgan.archs import SRConfig
    from imgtrans_srgan.options import SROptions
    from imgtrans_srgan.translator import SRTranslator

    config = SRConfig(arch="rrdbnet", scale=4, num_feat=64, num_block=args.blocks)
    torch.manual_seed(0)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / f"RRDBNet_x4.{args.format}"
        state = config.build().state_dict()
        if args.format == "pth":
            torch.save({"params_ema": state}, path)
        else:
            save_state_dict(state, path)
        del state
        size_mb = path.stat().st_size / 1e6

        def bare() -> torch.nn.Module:
            sd = torch.load(path, map_location="cpu", weights_only=True)
            sd = sd.get("params_ema", sd)
            with torch.device("meta"):
                net = config.build()
            net.load_state_dict(sd, assign=True)
            return net.eval()

        def ours() -> torch.nn.Module:
            return SRTranslator.load(weights_at(path), SROptions(), torch.device("cpu")).net

        def random_init() -> torch.nn.Module:
            sd = torch.load(path, map_location="cpu", weights_only=True)
            net = config.build()
            net.load_state_dict(sd.get("params_ema", sd))
            return net.eval()

        ways = {"bare": bare, "imgtrans": ours, "random init": random_init}
        times: dict[str, list[float]] = {name: [] for name in ways}
        ours()  # warm up imports and allocator
        for _ in range(args.rounds):
            for name, way in ways.items():
                start = time.perf_counter()
                net = way()
                times[name].append(time.perf_counter() - start)
                del net
        x = torch.rand(1, 3, 16, 16)
        with torch.no_grad():
            same = torch.equal(bare()(x), ours()(x))

    median = {name: statistics.median(values) for name, values in times.items()}
    print(f"RRDBNet x4, {args.blocks} blocks, {args.format} {size_mb:.0f} MB; torch {torch.__version__}, "
          f"{args.threads} threads, {args.rounds} rounds interleaved, load average {os.getloadavg()[0]:.1f}")
    for name, seconds in median.items():
        print(f"  {name:12s} median {seconds * 1000:7.0f} ms   {seconds / median['bare']:.2f}x bare")
    print(f"  same output (imgtrans vs bare): {same}")


if __name__ == "__main__":
    main()
