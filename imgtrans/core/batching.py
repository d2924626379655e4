"""How many images share a forward pass, and what happens when they do not fit in memory.

``batch_size="auto"`` runs the translator's ``capabilities.cpu_batch_size`` images at a
time on a CPU (1 unless measured otherwise: a ResNet-9 generator takes 0.60 s per image
alone and 0.73 s per image in fours on this project's reference CPU). On CUDA the first batch of each image size
is a trial of one image whose peak memory tells how many such images fit into what is free.

Whatever the size, running out of memory halves the batch for that image size (and the
halved size is kept), and one image that still does not fit is cut into ever smaller tiles
when the translator is fully convolutional. Only then does the image fail.
"""

from __future__ import annotations

import logging
from typing import Any, Callable

from imgtrans.errors import UsageError

# torch is imported where it is used: engines' decode and write workers import this module
# through imgtrans.core.stages and never need it.

log = logging.getLogger(__name__)

AUTO = "auto"
MAX_AUTO = 32
"""Largest batch ``auto`` picks on CUDA: beyond this the GPU is busy anyway."""
HEADROOM = 0.8
"""Share of the free memory an ``auto`` batch may plan to use (fragmentation, other users)."""
MIN_TILE = 32
"""Smallest tile tried before an image is given up as too large for the memory."""


def parse_batch_size(value: Any) -> int | str:
    """A positive int, or ``"auto"`` (also for None); anything else is a usage error."""
    if value is None or (isinstance(value, str) and value.strip().lower() == AUTO):
        return AUTO
    try:
        size = int(value)
    except (TypeError, ValueError):
        size = 0
    if isinstance(value, bool) or size < 1 or (isinstance(value, float) and value != size):
        raise UsageError(f"--batch-size {value!r}: give a positive whole number or auto")
    return size


def is_out_of_memory(exc: BaseException) -> bool:
    """True for the errors that mean "too large for the memory", on CUDA or on the CPU."""
    import torch

    if isinstance(exc, (torch.cuda.OutOfMemoryError, MemoryError)):
        return True
    text = str(exc)
    return isinstance(exc, RuntimeError) and ("out of memory" in text.lower()
                                              or "DefaultCPUAllocator" in text)


def release_memory(device: Any) -> None:
    """Give cached CUDA blocks back after an out-of-memory error, so a smaller retry fits."""
    if getattr(device, "type", None) == "cuda":
        import torch

        torch.cuda.empty_cache()


def estimate_batch(free_bytes: int, per_image_bytes: float, limit: int = MAX_AUTO) -> int:
    """How many images of ``per_image_bytes`` fit in ``HEADROOM`` of ``free_bytes``."""
    if per_image_bytes <= 0:
        return limit
    return max(1, min(limit, int(free_bytes * HEADROOM // per_image_bytes)))


class BatchSizer:
    """Batch size and tile size per batch key (one image size and layout).

    One sizer serves one loaded translator. Its decisions only ever lower a size, so two
    threads that race on it cost at most a smaller batch.
    """

    def __init__(self, requested: Any, device: Any, cpu_batch: int = 1, cpu_batch_max_pixels: int = 0) -> None:
        self.requested = parse_batch_size(requested)
        self.device = device
        self.cpu_batch = max(1, int(cpu_batch))
        """What ``auto`` means on a CPU: the translator's ``capabilities.cpu_batch_size``..."""
        self.cpu_batch_max_pixels = max(0, int(cpu_batch_max_pixels))
        """...for images of at most this many pixels (0: any); larger ones run alone."""
        self.cuda = str(getattr(device, "type", device)).startswith("cuda")
        self._caps: dict[tuple, int] = {}
        self._tiles: dict[tuple, int] = {}

    @classmethod
    def of(cls, requested: Any, device: Any, capabilities: Any) -> "BatchSizer":
        """The sizer for a translator with ``capabilities`` (its CPU batch choice)."""
        return cls(requested, device, capabilities.cpu_batch_size, capabilities.cpu_batch_max_pixels)

    @property
    def largest(self) -> int:
        """The most images one batch may hold (sizes queues and Ray batches)."""
        if self.requested != AUTO:
            return int(self.requested)
        return MAX_AUTO if self.cuda else self.cpu_batch

    def describe(self) -> str:
        """For the console and the report: the size, or how auto decides it."""
        if self.requested != AUTO:
            return str(self.requested)
        if self.cuda:
            return "auto (measured per image size)"
        if self.cpu_batch > 1 and self.cpu_batch_max_pixels:
            return f"auto ({self.cpu_batch} on CPU up to {self.cpu_batch_max_pixels} pixels per image, else 1)"
        return f"auto ({self.cpu_batch} on CPU)"

    def size_for(self, key: tuple) -> int:
        """Images per forward pass for images of ``key``."""
        if key in self._caps:
            return self._caps[key]
        if self.requested == AUTO:
            if self.cuda:
                return 1  # a trial of one sizes the batch
            return self.cpu_batch if self._batched_on_cpu(key) else 1
        return int(self.requested)

    def _batched_on_cpu(self, key: tuple) -> bool:
        """Whether ``auto`` batches images of ``key`` ((height, width, ...) for images and
        frames) on a CPU: when no pixel limit applies or they are within it."""
        if not self.cpu_batch_max_pixels or len(key) < 2:
            return True
        height, width = key[0], key[1]
        if not (isinstance(height, int) and isinstance(width, int)):
            return True
        return height * width <= self.cpu_batch_max_pixels

    def tile_for(self, key: tuple) -> int | None:
        """The tile size an out-of-memory fallback chose for ``key``, if any."""
        return self._tiles.get(key)

    def shrink(self, key: tuple, failed: int) -> int:
        """After ``failed`` images of ``key`` ran out of memory: half as many from now on."""
        size = max(1, failed // 2)
        self._caps[key] = min(self._caps.get(key, size), size)
        return self._caps[key]

    def smaller_tile(self, key: tuple, height: int, width: int, current: int) -> int | None:
        """The next tile size to try for ``key`` after ``current`` (0: untiled) ran out of
        memory on one image; None when tiles would get smaller than :data:`MIN_TILE`."""
        largest_below = 1 << ((max(height, width, 2) - 1).bit_length() - 1)
        tile = current // 2 if current else largest_below
        if tile < MIN_TILE:
            return None
        self._tiles[key] = tile
        return tile

    def run(self, key: tuple, count: int, forward: Callable[[], Any]) -> Any:
        """Run ``forward`` (``count`` images of ``key``). With ``auto`` on CUDA, the first
        run of a key is the trial: its peak memory per image sets the key's batch size."""
        if not self.cuda or self.requested != AUTO or key in self._caps:
            return forward()
        import torch

        device = self.device
        torch.cuda.synchronize(device)
        free, _ = torch.cuda.mem_get_info(device)
        cached = torch.cuda.memory_reserved(device) - torch.cuda.memory_allocated(device)
        before = torch.cuda.memory_allocated(device)
        torch.cuda.reset_peak_memory_stats(device)
        result = forward()
        per_image = (torch.cuda.max_memory_allocated(device) - before) / count
        size = estimate_batch(free + cached, per_image)
        self._caps.setdefault(key, size)
        log.debug("auto batch size for %s: %d (%.0f MiB per image, %.0f MiB free)", key, size,
                  per_image / 2**20, (free + cached) / 2**20)
        return result
