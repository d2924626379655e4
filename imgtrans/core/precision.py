"""``--precision exact|fast``: which reduced precision a device runs natively, and the
autocast scope the runner (or a translator, for the parts it allows) runs under.

``exact`` is plain fp32. ``fast`` is bf16 autocast on CPUs with AVX-512 BF16 or AMX and on
CUDA GPUs that support bf16, fp16 autocast on other CUDA GPUs; elsewhere it runs exact and
says so. CPU autocast runs normalisation layers in whatever dtype reaches them, so within
the scope norm layers get their input cast back to fp32 (statistics computed in fp32).
"""

from __future__ import annotations

import contextlib
import logging
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator

import torch
from torch import nn

from imgtrans.errors import UsageError

log = logging.getLogger(__name__)

PRECISIONS = ("exact", "fast")
_CPU_FLAGS = ("avx512_bf16", "amx_bf16")
_NORMS = (nn.modules.batchnorm._BatchNorm, nn.modules.instancenorm._InstanceNorm, nn.GroupNorm,
          nn.LayerNorm)


def cpu_has_bf16() -> bool:
    """True when this CPU computes bf16 natively (AVX-512 BF16 or AMX): read from torch's own
    probe, else /proc/cpuinfo; never assumed, since the machine kind can change."""
    probe = getattr(torch.cpu, "_is_avx512_bf16_supported", None)
    amx = getattr(torch.cpu, "_is_amx_tile_supported", None)
    if probe is not None and amx is not None:
        return bool(probe() or amx())
    try:
        text = Path("/proc/cpuinfo").read_text()
    except OSError:
        return False
    flags = next((line.split(":", 1)[1].split() for line in text.splitlines()
                  if line.startswith("flags")), [])
    return any(flag in flags for flag in _CPU_FLAGS)


def fast_dtype(device: torch.device) -> tuple[torch.dtype | None, str]:
    """(autocast dtype, or None when the device has no fast path; a one-line description)."""
    if device.type == "cuda":
        if torch.cuda.is_bf16_supported():
            return torch.bfloat16, "bf16 autocast (CUDA)"
        return torch.float16, "fp16 autocast (CUDA)"
    if device.type == "cpu" and cpu_has_bf16():
        return torch.bfloat16, "bf16 autocast (CPU with AVX-512 BF16/AMX)"
    what = "this CPU has no AVX-512 BF16 or AMX" if device.type == "cpu" else f"no fast path on {device.type}"
    return None, f"--precision fast: {what}; running exact (fp32)"


@dataclass(frozen=True)
class Precision:
    """The precision a runner uses: ``dtype`` None means exact fp32."""

    requested: str = "exact"
    dtype: torch.dtype | None = None
    description: str = "exact (fp32)"

    @classmethod
    def resolve(cls, requested: str, device: torch.device) -> "Precision":
        if requested not in PRECISIONS:
            raise UsageError(f"--precision {requested!r}: choose exact or fast")
        if requested == "exact":
            return cls()
        dtype, description = fast_dtype(device)
        if dtype is None:
            log.warning(description)
            return cls("fast", None, description)
        _install_norm_hook()  # now, not in a compiled region's first call (a graph break)
        return cls("fast", dtype, f"fast: {description}")

    @property
    def fast(self) -> bool:
        return self.dtype is not None


@contextlib.contextmanager
def autocast(device: Any, dtype: Any) -> Iterator[None]:
    """Autocast to ``dtype`` on ``device`` (nothing when ``dtype`` is None), with norm layers
    computed in fp32."""
    if dtype is None:
        yield
        return
    _install_norm_hook()
    with torch.autocast(torch.device(device).type, dtype=dtype):
        yield


_norm_hook_installed = False
_norm_hook_lock = threading.Lock()


def _install_norm_hook() -> None:
    """Register ``_norm_in_fp32`` once per process and keep it: a hook registered per call
    gets a new key in torch's global hook table each time, and torch.compile guards on that
    table, so every call recompiled (17 s per image with ResNet-9). Outside autocast the hook
    returns at once; exact-only runs never install it. The flag is a plain bool, checked
    before the lock, so a compiled region that reaches this traces without a graph break."""
    global _norm_hook_installed
    if _norm_hook_installed:
        return
    with _norm_hook_lock:
        if not _norm_hook_installed:
            nn.modules.module.register_module_forward_pre_hook(_norm_in_fp32)
            _norm_hook_installed = True


def keep_weight_casts(device: Any) -> None:
    """Call once on a thread that runs many fast-mode forwards (the engines' translator
    thread). Autocast keeps the bf16/fp16 copies of the weights it makes only until the
    outermost autocast region ends, so every call re-casts every weight: for networks with
    many weights and few operations per image (pix2pix's U-Nets, small models) that cost more
    than bf16 saved. One outer, disabled region left open for the thread's life keeps the
    copies from call to call (fp32 code in the thread is unaffected); they are freed with the
    thread, so run it in a thread that ends with the run."""
    torch.autocast(torch.device(device).type, enabled=False).__enter__()


def _norm_in_fp32(module: nn.Module, args: tuple) -> tuple | None:
    """Global pre-hook: under autocast (thread-local, so other threads are untouched) a norm
    layer gets fp32 input, so its statistics and output are fp32."""
    if not isinstance(module, _NORMS):
        return None
    device_type = _autocast_type(args)  # e.g. "meta" (the training probes' tensors) has no autocast
    if device_type not in ("cpu", "cuda") or not torch.is_autocast_enabled(device_type):
        return None
    return tuple(a.float() if isinstance(a, torch.Tensor) and a.is_floating_point() else a for a in args)


def _autocast_type(args: tuple) -> str:
    tensor = next((a for a in args if isinstance(a, torch.Tensor)), None)
    return tensor.device.type if tensor is not None else "cpu"


def fast_scope(context: Any) -> Any:
    """For translators that autocast parts themselves (``autocast_scope = "parts"``): the
    scope to run those parts under, from ``context.precision`` (a dtype, or None: exact)."""
    return autocast(context.device, getattr(context, "precision", None))
