"""The garbage collector in the ``imgtrans`` console-script process.

Starting a command (typer, torch, the plugins, a loaded network) leaves 2-3 x 10^5 Python
objects that live until the process ends. Python's cyclic collector scans them over and over
while they are made (about 430 collections before ``imgtrans convert``'s first image), and
all of them again in the interpreter's collections at exit; it finds nothing worth freeing
(a few thousand small objects, no tensors). Measured for a one-image ``convert``: 0.25 s of
CPU at start-up and 0.4 s at exit (bench/RESULTS.md).

So, in the console script's own process only (:func:`imgtrans.cli.main` calls :func:`own`;
tests running ``app`` and library users keep Python's defaults): a command may pause
collections while it starts up (:func:`startup`), after which what start-up made is moved
out of the collector's sight (``gc.freeze``) and collections resume for the work itself; and
at exit what is still alive is frozen too (:func:`freeze_survivors`), so the interpreter's
last collections skip it. No result depends on any of this.
"""

from __future__ import annotations

import contextlib
import gc
from typing import Callable, Iterator

_owned = False


def own() -> None:
    """This process is the ``imgtrans`` command's: its collector may be tuned."""
    global _owned
    _owned = True


@contextlib.contextmanager
def startup() -> Iterator[Callable[[], None]]:
    """Within the block, no cyclic collections until the callable it gives is called
    (start-up is over: say, the translator is loaded); then everything alive is frozen and
    collections resume. Leaving the block calls it if nobody did. Outside an owned process,
    or with collections already off, the callable does nothing."""
    if not (_owned and gc.isenabled()):
        yield lambda: None
        return
    gc.disable()

    def started() -> None:
        if not gc.isenabled():
            gc.freeze()
            gc.enable()

    try:
        yield started
    finally:
        started()


def freeze_survivors() -> None:
    """At exit of an owned process: what is alive is left out of the final collections."""
    if _owned:
        gc.freeze()
