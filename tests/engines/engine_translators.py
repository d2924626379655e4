"""Translators for the engine tests, in a plain module so that Ray workers can import them
(the tests put this folder on the workers' PYTHONPATH). Register with
``register_plugin(engine_translators, "engine_translators")``."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from typing import Any

from imgtrans.plugins import hookimpl
from imgtrans.translators.base import Capabilities, Translator


@dataclass(frozen=True)
class DelayOptions:
    seconds: float = field(default=0.3, metadata={"help": "sleep per forward pass"})


class DelayTranslator(Translator):
    """Identity that sleeps per forward pass and counts the passes (in this process)."""

    name = "delay"
    summary = "identity, slowly, counted"
    Options = DelayOptions
    calls = 0
    lock = threading.Lock()

    def translate(self, images, context):
        with DelayTranslator.lock:
            DelayTranslator.calls += 1
        time.sleep(self.options.seconds)
        return images


class DelayTilesTranslator(DelayTranslator):
    """:class:`DelayTranslator` that may run in tiles: a tiled image takes a while per tile."""

    name = "delay_tiles"
    summary = "identity, slowly, in tiles"
    capabilities = Capabilities(fully_convolutional=True)


@dataclass(frozen=True)
class HungryOptions:
    max_batch: int = field(default=2, metadata={"help": "larger batches run out of memory"})
    max_pixels: int = field(default=48 * 48, metadata={"help": "larger images run out of memory"})
    cuda: bool = field(default=False, metadata={"help": "raise CUDA's error type"})


class HungryTranslator(Translator):
    """Identity that "runs out of memory" above a batch size or an image size, as torch
    does on the CPU (or on CUDA), and records the shapes it was given."""

    name = "hungry"
    summary = "identity with a small memory"
    capabilities = Capabilities(fully_convolutional=True)
    Options = HungryOptions
    shapes: list[tuple[int, ...]] = []

    def translate(self, images, context):
        import torch

        HungryTranslator.shapes.append(tuple(images.shape))
        if images.shape[0] > self.options.max_batch or \
                images.shape[-2] * images.shape[-1] > self.options.max_pixels:
            if self.options.cuda:
                raise torch.cuda.OutOfMemoryError("CUDA out of memory. Tried to allocate 2.00 GiB")
            raise RuntimeError("[enforce fail at alloc_cpu.cpp:117] data. DefaultCPUAllocator: "
                               "not enough memory: you tried to allocate 123456789 bytes.")
        return images


class BrokenTranslator(Translator):
    """Fails to load, as a plugin with a missing file or a bad network definition does."""

    name = "broken"
    summary = "cannot be loaded"

    @classmethod
    def load(cls, weights, options, device):
        raise RuntimeError("network definition is broken")

    def translate(self, images, context):  # pragma: no cover - never loaded
        return images


@hookimpl
def register_translators(register: Any) -> None:
    for cls in (DelayTranslator, DelayTilesTranslator, HungryTranslator, BrokenTranslator):
        register(cls)
