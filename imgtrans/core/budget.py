"""Whether an item's translation fits, decided before it runs.

``--max-pixels`` bounds what a run reads; it bounds what a run makes as well, since an
allowed input times a scale (resize x16, super-resolution with ``outscale``) or times
``samples`` can be far larger than any input. And on a CPU, running out of memory does not
raise: the system kills the process (a web server with everyone's jobs). So the memory an
image needs is estimated from what decides it together (its size, the translator's scale and
padding, the samples per input, the batch) and compared with what the machine has free; a
batch that would not fit runs one image at a time, an image that would not fit even alone
fails with the figures, and every written result is checked against ``--max-pixels``.

The estimate counts the float copies the pipeline itself makes (input, padded input,
output, finished output, :data:`WORKING_FACTOR` in all) and what the translator says its
network holds: an optional attribute ``memory_per_pixel`` (bytes per input pixel of one
image, measured; the GAN generators declare theirs). A translator that declares nothing is
counted for the pipeline's copies only, so for it the estimate is a floor that catches what
certainly cannot fit, not a promise that the rest does.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

log = logging.getLogger(__name__)

WORKING_FACTOR = 4
"""Float copies of the output held at once: the translator's result, the finished and
cropped result, the quantized pixels, and headroom for the network's own tensors."""


@dataclass(frozen=True)
class Estimate:
    """One input's translation: its result size (per sample) and the bytes it needs."""

    width: int
    height: int
    samples: int
    bytes: int

    @property
    def pixels(self) -> int:
        return self.width * self.height


def estimate(runner: Any, height: int, width: int, channels: int) -> Estimate:
    """The result of one ``height`` x ``width`` image through ``runner`` (its preprocessing:
    scale, ``pre_pad``, ``output_scale``; its samples per input and its tile size)."""
    prep = runner.prep
    scale = max(1, int(getattr(prep, "scale", 1)))
    pad = max(0, int(getattr(prep, "pre_pad", 0) or 0))
    multiple = max(1, int(getattr(prep, "size_multiple", 1)))
    in_h, in_w = _ceil_to(height + pad, multiple), _ceil_to(width + pad, multiple)
    out_h, out_w = height * scale, width * scale
    output_scale = getattr(prep, "output_scale", None)
    if output_scale:
        out_h, out_w = int(height * output_scale), int(width * output_scale)
    samples = max(1, int(runner.samples))
    model_out = in_h * scale * in_w * scale
    per_float = 4 * 4  # up to 4 channels of float32
    if getattr(runner, "tile", 0):  # tiles are quantized into an integer canvas as they finish
        output = model_out * 4 * 2
    else:
        output = model_out * per_float * WORKING_FACTOR * samples
    working = output + in_h * in_w * max(channels, 3) * 4 * 2  # the input, as float, padded
    tile = int(getattr(runner, "tile", 0) or 0)
    seen = min(in_h * in_w, (tile + 2 * int(getattr(runner, "tile_pad", 0))) ** 2) if tile else in_h * in_w
    working += int(getattr(runner.translator, "memory_per_pixel", 0) or 0) * seen * samples
    return Estimate(out_w, out_h, samples, int(working))


def refusal(runner: Any, height: int, width: int, channels: int, max_pixels: int) -> str | None:
    """Why an image of this size cannot be translated (one line), or None. Its result must
    stay within ``max_pixels``, and its working memory must fit in what the device has
    available."""
    guess = estimate(runner, height, width, channels)
    if guess.pixels > max_pixels:
        return (f"the result would be {guess.width}×{guess.height} pixels, more than the limit "
                f"of {max_pixels} (--max-pixels)")
    free = available_bytes(runner.device)
    if free is not None and guess.bytes > free:
        samples = f" ({guess.samples} samples)" if guess.samples > 1 else ""
        return (f"translating it would need about {_gib(guess.bytes)} of memory for a "
                f"{guess.width}×{guess.height} result{samples}, and {_gib(free)} are available")
    return None


def fits(runner: Any, height: int, width: int, channels: int, count: int) -> bool:
    """Whether ``count`` images of this size fit in memory together (as one batch)."""
    free = available_bytes(runner.device)
    return free is None or estimate(runner, height, width, channels).bytes * count <= free


def available_bytes(device: Any) -> int | None:
    """Memory a translation may use now: free plus reclaimable memory on a CPU (Linux's
    ``MemAvailable``, capped by a cgroup limit), free memory on a CUDA device; None when
    unknown (then nothing is refused for memory)."""
    if getattr(device, "type", str(device)) == "cuda":
        import torch

        free, _ = torch.cuda.mem_get_info(device)
        return int(free)
    free = _meminfo_available()
    limit = _cgroup_room()
    if free is None:
        return limit
    return free if limit is None else min(free, limit)


def _meminfo_available() -> int | None:
    try:
        with open("/proc/meminfo", encoding="ascii") as handle:
            for line in handle:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    return None


def _cgroup_room() -> int | None:
    """Room left under a cgroup v2 memory limit (containers), or None: the limit less what
    the group uses, not counting inactive page cache (reclaimed before anyone is killed)."""
    root = "/sys/fs/cgroup/"
    try:
        with open(root + "memory.max", encoding="ascii") as handle:
            limit = handle.read().strip()
        if limit == "max":
            return None
        with open(root + "memory.current", encoding="ascii") as handle:
            used = int(handle.read().strip())
        with open(root + "memory.stat", encoding="ascii") as handle:
            stats = dict(line.split() for line in handle if line.count(" ") == 1)
        used -= int(stats.get("inactive_file", 0))
        return max(0, int(limit) - used)
    except (OSError, ValueError):
        return None


def _ceil_to(value: int, multiple: int) -> int:
    return -(-value // multiple) * multiple


def _gib(count: int) -> str:
    return f"{count / 2**30:.1f} GiB" if count >= 2**30 else f"{count / 2**20:.0f} MiB"

