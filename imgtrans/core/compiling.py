"""``--compile``: run a translator's ``translate``/``generate`` through ``torch.compile``.

Dynamo traces the call, network included, and falls back to eager Python where it cannot
(per-image generators, file-based masks...). The first call of each input shape pays the
compilation; it is logged once. Inductor's compiled kernels are cached on disk under the
imgtrans cache folder (``$TORCHINDUCTOR_CACHE_DIR`` wins when set), so later runs of the
same network and shapes start much faster.
"""

from __future__ import annotations

import logging
import os
import time
from typing import Any, Callable

log = logging.getLogger(__name__)


def compiled(call: Callable[..., Any], name: str) -> Callable[..., Any]:
    """``call`` compiled by torch.compile, reporting the first call's time (compilation plus
    one run) once."""
    import torch

    from imgtrans.weights.cache import cache_dir

    os.environ.setdefault("TORCHINDUCTOR_CACHE_DIR", str(cache_dir() / "inductor"))
    fn = torch.compile(call, dynamic=False)
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
