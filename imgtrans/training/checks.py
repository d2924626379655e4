"""Settings and data checked before the first training step.

A bad crop size or a too-small image used to surface as a traceback from deep inside a
network, after the run folder existed. The loop now builds a :class:`Checks`, checks the
batch size against the data itself, lets the task add what only it knows
(:meth:`TrainingTask.check`), and raises everything found at once: one line per problem,
``UsageError`` (exit 2) when a setting is wrong, ``DataError`` (exit 3) when only the data is.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Sequence

import torch

from imgtrans.errors import DataError, InputError, UsageError

log = logging.getLogger(__name__)


class Checks:
    """Problems found before training, and helpers that find common ones.

    ``batch_size`` is the batch of one process, ``world_size`` the number of processes.
    """

    def __init__(self, batch_size: int, world_size: int = 1) -> None:
        self.batch_size = batch_size
        self.world_size = world_size
        self.settings: list[str] = []
        self.data_problems: list[str] = []

    # -- reporting ----------------------------------------------------------------------
    def setting(self, message: str) -> None:
        """A setting (option, flag) that cannot work; the run stops with exit 2."""
        self.settings.append(message)

    def data(self, message: str) -> None:
        """Data that cannot be used with these settings; the run stops with exit 3."""
        self.data_problems.append(message)

    def raise_problems(self) -> None:
        """One line per problem; settings first, as they are usually the ones to change."""
        lines = self.settings + self.data_problems
        if not lines:
            return
        error = UsageError if self.settings else DataError
        raise error("\n".join(lines))

    # -- helpers ------------------------------------------------------------------------
    def dataset_size(self, items: int) -> None:
        """A step needs ``batch_size`` items on every process."""
        step = self.batch_size * self.world_size
        if items == 0:
            self.data("the training data holds no items")
        elif items < step:
            per = f" ({self.batch_size} on each of {self.world_size} processes)" if self.world_size > 1 else ""
            self.setting(f"a step takes {step} items{per} but the data holds only {items}: "
                         f"lower --batch-size to at most {max(1, items // self.world_size)}")

    def images_at_least(self, paths: Sequence[Path], side: int, option: str) -> None:
        """Every image must be at least ``side`` pixels high and wide (``option`` names the
        setting that asks for it)."""
        small = []
        for path in paths:
            height, width = image_size(path)
            if min(height, width) < side:
                small.append((min(height, width), path, width, height))
        if small:
            _, path, width, height = min(small)
            self.data(f"{len(small)} of {len(paths)} training image(s) are smaller than "
                      f"{option} {side} (smallest: {path}, {width}x{height}); use larger images "
                      f"or --opt {option}={_fitting(side, min(small)[0])}")

    def network(self, name: str, net: torch.nn.Module, *shapes: Sequence[int], hint: str = "") -> bool:
        """Run ``net`` in training mode on inputs of ``shapes`` without computing anything
        (meta tensors: no memory, no change to the network) and report where it fails, e.g.
        a batch-norm layer left with one value per channel, or a crop that halves to nothing.
        Networks with operations the meta device lacks are not checked. True when it ran."""
        from torch.func import functional_call

        names = {module: path or "(whole network)" for path, module in net.named_modules()}
        running: list[torch.nn.Module] = []  # the modules being run, innermost last

        def enter(module: torch.nn.Module, args: object) -> None:
            running.append(module)

        def leave(module: torch.nn.Module, args: object, output: object) -> None:
            running.pop()

        handles = [hook for module in names for hook in
                   (module.register_forward_pre_hook(enter), module.register_forward_hook(leave))]
        tensors = {k: torch.empty_like(v, device="meta") for k, v in
                   [*net.named_parameters(), *net.named_buffers()]}
        inputs = tuple(torch.empty(tuple(s), device="meta") for s in shapes)
        was_training = net.training
        net.train()
        try:
            with torch.no_grad():
                functional_call(net, tensors, inputs)
            return True
        except NotImplementedError as exc:
            log.debug("network %s not checked: %s", name, exc)
            return True
        except (RuntimeError, ValueError, IndexError) as exc:
            where = running[-1] if running else net
            given = ", ".join("x".join(str(n) for n in s) for s in shapes)
            reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            self.setting(f"network {name} cannot train on {given} inputs: {names.get(where)} "
                         f"({type(where).__name__}): {reason}" + (f"; {hint}" if hint else ""))
            return False
        finally:
            net.train(was_training)
            for handle in handles:
                handle.remove()


def image_size(path: Path) -> tuple[int, int]:
    """(height, width) from the file header when PIL reads it, else by decoding."""
    from PIL import Image

    try:
        with Image.open(path) as image:
            width, height = image.size
        return height, width
    except Exception:  # formats only the full reader knows
        from imgtrans.core.readers import read_image

        try:
            decoded = read_image(path)
        except InputError:
            return 0, 0  # unreadable: check_items has reported or skipped it already
        return decoded.height, decoded.width


def _fitting(asked: int, smallest: int) -> int:
    """A value below ``smallest`` that keeps the divisibility ``asked`` had (powers of 2)."""
    step = asked & -asked  # the largest power of 2 dividing asked
    fitting = smallest // step * step
    return fitting if fitting > 0 else smallest

