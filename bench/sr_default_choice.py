"""Which Real-ESRGAN model is srgan's default: CPU time of the two candidates, side by side.

    python bench/sr_default_choice.py [--size 128] [--rounds 3]

``realesr-general-x4v3`` (SRVGGNetCompact: 64 features, 32 convolutions, 1.2 M parameters)
and ``RealESRGAN_x4plus`` (RRDBNet: 23 blocks, 16.7 M parameters), built with random
weights (time does not depend on the values; the published files cannot be downloaded
here), one ``--size`` x ``--size`` RGB image each, x4, interleaved rounds, fp32 on the CPU.
Prints the median seconds per image, megapixels of output per second and the ratio.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time

import torch


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--size", type=int, default=128)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    from imgtrans_srgan.archs import SRConfig

    models = {"realesr-general-x4v3": SRConfig(arch="srvgg", num_feat=64, num_block=32, scale=4),
              "RealESRGAN_x4plus": SRConfig(arch="rrdbnet", num_feat=64, num_block=23, scale=4)}
    nets = {name: config.build().eval() for name, config in models.items()}
    x = torch.rand(1, 3, args.size, args.size)
    times: dict[str, list[float]] = {name: [] for name in nets}
    with torch.inference_mode():
        for net in nets.values():
            net(x)  # warm up
        for _ in range(args.rounds):
            for name, net in nets.items():
                start = time.perf_counter()
                net(x)
                times[name].append(time.perf_counter() - start)
    print(f"{args.size}x{args.size} -> x4, fp32, {torch.get_num_threads()} threads, torch {torch.__version__}, "
          f"{args.rounds} interleaved rounds, load average {os.getloadavg()[0]:.1f}")
    median = {name: statistics.median(t) for name, t in times.items()}
    megapixels = (4 * args.size) ** 2 / 1e6
    for name, seconds in median.items():
        params = sum(p.numel() for p in nets[name].parameters()) / 1e6
        print(f"  {name:22s} {params:5.1f} M params  {seconds:7.3f} s/image  {megapixels / seconds:6.2f} MP/s")
    ratio = median["RealESRGAN_x4plus"] / median["realesr-general-x4v3"]
    print(f"  RealESRGAN_x4plus takes {ratio:.1f}x the time of realesr-general-x4v3")


if __name__ == "__main__":
    main()
