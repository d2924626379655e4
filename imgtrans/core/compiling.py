"""``--compile``: run a translator's ``translate``/``generate`` through ``torch.compile``.

Dynamo traces the call, network included, and falls back to eager Python where it cannot
(per-image generators, file-based masks...). The first call of each input shape pays the
compilation; it is logged once. Inductor's compiled kernels are cached on disk under the
imgtrans cache folder (``$TORCHINDUCTOR_CACHE_DIR`` wins when set), so later runs of the
same network and shapes start much faster.

``IMGTRANS_COMPILE_BACKEND`` picks another torch.compile backend (``aot_eager`` traces
without generating code: the tests use it, since inductor's C++ compilation of even a tiny
network takes a minute on 2 cores).

Without ``--compile``/``--no-compile``, a run compiles by itself only in fast mode and from
:data:`AUTO_COMPILE_IMAGES` images (:func:`worth_compiling`).
"""

from __future__ import annotations

import logging
import os
import time
from typing import Any, Callable

log = logging.getLogger(__name__)

AUTO_COMPILE_IMAGES = 1000
"""Images from which a run compiles by itself (fast mode only). Measured break-even of a
cold inductor cache (bench/compile_break_even.py, bench/RESULTS.md); a warm cache repays far
sooner, which is what ``--compile`` is for."""


def worth_compiling(images: int, precision: str) -> bool:
    """Whether a run of ``images`` should compile when the user did not say: only in fast mode
    (exact promises fp32 results bit for bit, and inductor's fused kernels round differently)
    and only when the run is long enough to repay a cold compilation."""
    worth = precision == "fast" and images >= AUTO_COMPILE_IMAGES
    if worth:
        log.info("--compile chosen: %d images in fast mode (from %d it repays compiling; "
                 "--no-compile turns it off)", images, AUTO_COMPILE_IMAGES)
    return worth


def compiled(call: Callable[..., Any], name: str) -> Callable[..., Any]:
    """``call`` compiled by torch.compile, reporting the first call's time (compilation plus
    one run) once."""
    import torch

    from imgtrans.weights.cache import cache_dir

    os.environ.setdefault("TORCHINDUCTOR_CACHE_DIR", str(cache_dir() / "inductor"))
    backend = os.environ.get("IMGTRANS_COMPILE_BACKEND", "inductor")
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
