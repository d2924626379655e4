"""``fast_scope`` as plugins import it: torch-free until called.

Translator modules import their plugin API names at the top and must stay torch-free (listing
plugins imports them all); :mod:`imgtrans.core.precision`, which needs torch at the top, is
imported on the first call, when a translator is already running.
"""

from __future__ import annotations

from typing import Any


def fast_scope(context: Any) -> Any:
    """For translators that autocast parts themselves (``autocast_scope = "parts"``): the
    context manager to run those parts under, from ``context.precision`` (a torch dtype, or
    None: exact fp32, the scope does nothing). Norm layers inside compute in fp32."""
    from imgtrans.core.precision import fast_scope as scope

    return scope(context)
