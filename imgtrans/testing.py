"""Helpers for testing plugins, public like :mod:`imgtrans.plugin` (which plugins use at run
time; their tests use this module too). ``docs/writing-a-plugin.md`` section 5 shows them.

* :func:`plugin_host`: an isolated plugin host with the built-ins and the plugins under test,
  and nothing that happens to be installed, used by ``imgtrans.load``, the API and the CLI
  while it is open.
* :func:`sample_image`: a small deterministic image, so tests make their own data.
* :func:`run_translator`: a translator run on images through the whole pipeline, as
  ``imgtrans convert`` runs it, checking that batching changes no result.
* :func:`measure_fast_mode`: the error of ``--precision fast`` against exact, the figure a
  translator declares in ``fast_mode_error``.

Importing this module does not import torch.
"""

from __future__ import annotations

import contextlib
import importlib
import os
from dataclasses import dataclass
from types import ModuleType
from typing import Any, Iterator

from imgtrans.errors import PluginError
from imgtrans.plugins import manager
from imgtrans.plugins.selection import DISABLE_VAR, LOAD_VAR, MODULES_VAR

__all__ = ["FastModeDifference", "measure_fast_mode", "plugin_host", "run_translator", "sample_image"]


@contextlib.contextmanager
def plugin_host(*plugins: object, check: bool = True) -> Iterator[manager.PluginHost]:
    """A fresh plugin host with the built-in translators and ``plugins``, made the process's
    host for the block: ``imgtrans.load``, ``imgtrans.api`` and the CLI (typer's
    ``CliRunner``) see exactly these translators. The previous host comes back afterwards.

    Hermetic: no installed plugin is autoloaded, and the ``IMGTRANS_*`` plugin variables of
    the environment are ignored. ``plugins`` are modules or objects with ``@hookimpl``
    functions, or module names; each is registered under its module name (an object: its
    class name). Register throwaway plugin objects in the block with
    ``host.register(obj, name=...)``, which returns the plugin's record (status, error).

    With ``check`` (the default), a plugin given here that fails, or a translator it
    registered by ``"module:Class"`` reference that does not import, raises ``PluginError``
    with the error: a test must not pass on a broken plugin. ``register_commands`` hooks are
    not run: ``imgtrans.cli.app`` keeps the commands it has.
    """
    host = _hermetic_host()
    names: list[str] = []
    for plugin in plugins:
        if isinstance(plugin, str):
            plugin = importlib.import_module(plugin)
        name = _plugin_name(plugin, names)
        names.append(name)
        host.register(plugin, name=name, source="test")
    if check:
        host.load_builtins()  # imports the translator references
        failed = [f"{n}: {host.records[n].error}" for n in names if host.records[n].status != "ok"]
        if failed:
            raise PluginError("plugins under test failed: " + "; ".join(failed))
    host._commands_registered = True  # imgtrans.cli.app keeps the commands it has
    with manager._lock:
        previous, manager._host = manager._host, host
    try:
        yield host
    finally:
        with manager._lock:
            manager._host = previous


def _hermetic_host() -> manager.PluginHost:
    saved = {var: os.environ.get(var) for var in (LOAD_VAR, DISABLE_VAR, MODULES_VAR)}
    os.environ[LOAD_VAR] = ""
    os.environ.pop(DISABLE_VAR, None)
    os.environ.pop(MODULES_VAR, None)
    try:
        host = manager.PluginHost()
        host.load_all()
    finally:
        for var, value in saved.items():
            if value is None:
                os.environ.pop(var, None)
            else:
                os.environ[var] = value
    return host


def _plugin_name(plugin: object, taken: list[str]) -> str:
    base = plugin.__name__ if isinstance(plugin, (ModuleType, type)) else type(plugin).__name__
    name, n = base, 1
    while name in taken:
        n += 1
        name = f"{base}-{n}"
    return name


def sample_image(height: int = 32, width: int = 32, channels: int = 3, seed: int = 0) -> Any:
    """A deterministic uint8 image (H, W, C), or (H, W) for ``channels=1``: smooth colour
    waves (what photos mostly are) and one sharp-edged rectangle (what filters and padding
    get wrong), different for each ``seed``."""
    import numpy as np

    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:height, 0:width] / max(height, width, 1)
    planes = []
    for _ in range(channels):
        fy, fx = rng.uniform(0.5, 2.0, 2)
        phase = rng.uniform(0, 2 * np.pi)
        planes.append(0.5 + 0.35 * np.sin(2 * np.pi * (fy * y + fx * x) + phase))
    image = np.stack(planes, axis=-1)
    top, left = rng.integers(0, max(height // 2, 1)), rng.integers(0, max(width // 2, 1))
    image[top:top + max(height // 3, 1), left:left + max(width // 3, 1)] = rng.uniform(0, 1, channels)
    pixels = np.round(np.clip(image, 0, 1) * 255).astype(np.uint8)
    return pixels[..., 0] if channels == 1 else pixels


def run_translator(name: str, images: Any, *, weights: str | os.PathLike[str] | None = None,
                   options: dict[str, Any] | None = None, seed: int = 0, precision: str = "exact",
                   device: str = "cpu", batch_tolerance: int | None = 1) -> list[Any]:
    """Translator ``name`` on ``images`` as ``imgtrans convert`` runs it: options checked,
    weights resolved, then preprocessing, padding, the checks on what ``translate`` returns
    (shape, no NaN) and quantization. ``images``: one uint8/uint16 array (H, W) or (H, W, C),
    RGB(A) order, or a list. Returns the results in input order, all samples of an input
    together, each image run alone.

    ``batch_tolerance``: the images of each size are also run as one batch, and an
    ``AssertionError`` names any image whose result differs from its run alone by more than
    this many levels (batching must never change a result; 1 allows for the rounding of
    batched kernels). None skips the check. Translators of layouts take parsed inputs or
    files instead and are not batch-checked."""
    import imgtrans

    model = imgtrans.load(name, weights, device=device, options=options, seed=seed,
                          precision=precision)
    arrays = list(images) if isinstance(images, (list, tuple)) else [images]
    names = [f"image{i}" for i in range(len(arrays))]
    results = model(arrays, names)
    if not model.runner.takes_images or batch_tolerance is None:
        return results
    _check_batching(model.runner, arrays, names, results, batch_tolerance)
    return results


def _check_batching(runner: Any, arrays: list[Any], names: list[str], alone: list[Any],
                    tolerance: int) -> None:
    import numpy as np

    per_input = len(alone) // len(arrays)
    groups: dict[tuple[Any, ...], list[int]] = {}
    for i, array in enumerate(arrays):
        groups.setdefault((array.shape, array.dtype.str), []).append(i)
    for members in (m for m in groups.values() if len(m) > 1):
        depth = 16 if arrays[members[0]].dtype == np.uint16 else 8
        batched = runner.run_arrays([arrays[i] for i in members], depth, [names[i] for i in members])
        for k, i in enumerate(members):
            for s in range(per_input):
                one, many = alone[i * per_input + s], batched[k * per_input + s]
                diff = int(np.abs(one.astype(np.int64) - many.astype(np.int64)).max())
                assert diff <= tolerance, (
                    f"{names[i]}: batched with {len(members) - 1} other image(s) its result differs "
                    f"from its result alone by up to {diff} levels (tolerance {tolerance}); "
                    "batching must never change a result")


@dataclass(frozen=True)
class FastModeDifference:
    """``--precision fast`` against exact on the same 8-bit inputs: absolute differences of
    the 8-bit outputs over all pixels and channels, in levels."""

    dtype: str
    """"bf16", "fp16", or "none" for a translator that always runs exact."""
    emulated: bool
    """True when this device has no native fast path: the rounding is measured, not the speed."""
    mean: float
    p999: float
    max: int

    def __str__(self) -> str:
        where = " (emulated)" if self.emulated else ""
        return (f"{self.dtype}{where}, 8-bit levels vs exact: mean {self.mean:.2g}, "
                f"99.9th pct {self.p999:g}, max {self.max}")


def measure_fast_mode(name: str, images: list[Any], *, weights: str | os.PathLike[str] | None = None,
                      options: dict[str, Any] | None = None, seed: int = 0,
                      device: str = "cpu") -> FastModeDifference:
    """Run ``images`` (8-bit arrays, or a layout translator's inputs) through translator
    ``name`` exact and fast, one at a time, and compare, as ``bench/precision.py`` does for
    the built-ins. On a device without a native fast path (most CPUs) the fast run autocasts
    to bf16 anyway (``emulated``), so the error can be measured anywhere; the speed only on
    the device that will run it. Put the figures, with the inputs they were measured on, in
    the translator's ``fast_mode_error``."""
    import numpy as np
    import torch

    import imgtrans
    from imgtrans.core.precision import Precision

    def load(precision: str) -> Any:
        return imgtrans.load(name, weights, device=device, options=options, seed=seed,
                             precision=precision)

    exact, fast = load("exact"), load("fast")
    emulated = False
    if fast.translator.autocast_scope == "none":
        dtype = "none"
    elif fast.runner.precision.dtype is None:  # no native path: run bf16 autocast regardless
        fast.runner.precision = Precision("fast", torch.bfloat16, "bf16 autocast (emulated)")
        dtype, emulated = "bf16", True
    else:
        dtype = {torch.bfloat16: "bf16", torch.float16: "fp16"}[fast.runner.precision.dtype]
    inputs = list(images)
    names = [f"image{i}" for i in range(len(inputs))]
    ours = [np.asarray(y, np.int64).ravel() for x, n in zip(inputs, names) for y in exact([x], [n])]
    theirs = [np.asarray(y, np.int64).ravel() for x, n in zip(inputs, names) for y in fast([x], [n])]
    diff = np.abs(np.concatenate(ours) - np.concatenate(theirs))
    return FastModeDifference(dtype, emulated, float(diff.mean()), float(np.percentile(diff, 99.9)),
                         int(diff.max()))
