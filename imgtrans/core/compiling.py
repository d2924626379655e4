"""``--compile``: run a translator's ``translate``/``generate`` through ``torch.compile``.

Dynamo traces the call, network included, and falls back to eager Python where it cannot
(per-image generators, file-based masks...). The first call of each input shape pays the
compilation; it is logged once. Inductor's compiled kernels are cached on disk under the
imgtrans cache folder (``$TORCHINDUCTOR_CACHE_DIR`` wins when set), so later runs of the
same network and shapes start much faster.

``IMGTRANS_COMPILE_BACKEND`` picks another torch.compile backend (``aot_eager`` traces
without generating code: the tests use it, since inductor's C++ compilation of even a tiny
network takes a minute on 2 cores).

Without ``--compile``/``--no-compile``, a run compiles by itself only in fast mode on CUDA
and from :data:`AUTO_COMPILE_IMAGES` images (:func:`worth_compiling`).
"""

from __future__ import annotations

import logging
import os
import time
from typing import Any, Callable

log = logging.getLogger(__name__)

AUTO_COMPILE_IMAGES = 2000
"""Images from which a run compiles by itself: fast mode on CUDA only. On this project's
2-core CPU (bench/compile_break_even.py, bench/RESULTS.md) compiling repays itself in exact
mode (1.32x per image, after about 1,800 images with a cold cache), where it cannot be
automatic because inductor's fused kernels are not bit-identical to eager fp32, and in fast
mode (1.1-2.9x on the bundled CycleGAN and ResNet-9 ngf 64, after 800-3,700 images cold);
it is not chosen on CPUs because inductor needs a C++ compiler there, and a missing one would
fail the images. GPUs could not be measured here: the threshold is the CPU's cold
break-even, rounded up."""


def worth_compiling(images: int, precision: str, device: Any) -> bool:
    """Whether a run of ``images`` should compile when the user did not say (see
    :data:`AUTO_COMPILE_IMAGES` for why only fast mode on CUDA)."""
    import torch

    worth = (precision == "fast" and torch.device(device).type == "cuda"
             and images >= AUTO_COMPILE_IMAGES)
    if worth:
        log.info("--compile chosen: %d images in fast mode on CUDA (from %d it repays compiling; "
                 "--no-compile turns it off)", images, AUTO_COMPILE_IMAGES)
    return worth


def compiled(call: Callable[..., Any], name: str) -> Callable[..., Any]:
    """``call`` compiled by torch.compile, reporting the first call's time (compilation plus
    one run) once."""
    import torch

    from imgtrans.weights.cache import cache_dir

    os.environ.setdefault("TORCHINDUCTOR_CACHE_DIR", str(cache_dir() / "inductor"))
    backend = os.environ.get("IMGTRANS_COMPILE_BACKEND", "inductor")
    if backend == "inductor":
        import torch._inductor.config as inductor_config

        # Weights become constants of the compiled graph: folded into its kernels, and in
        # fast mode cast to bf16 once at compile time instead of at every call.
        inductor_config.freezing = True
    fn = torch.compile(call, dynamic=False, backend=backend)
    reported = False

    def run(*args: Any, **kwargs: Any) -> Any:
        nonlocal reported
        if reported:
            return fn(*args, **kwargs)
        began = time.perf_counter()
        result = fn(*args, **kwargs)
        reported = True
        log.info("--compile: %s compiled in %.1f s (first batch included; cached in %s)",
                 name, time.perf_counter() - began, os.environ["TORCHINDUCTOR_CACHE_DIR"])
        return result

    return run
