"""What passes between a Ray run's driver and its workers besides the data: the stop flag
the workers read, and the tile progress they report back.

One actor (:class:`Channel`, zero CPUs) holds both. Workers ask it whether to stop at most
twice a second, and tell it how far a tiled image is (``(item name, tiles done, in total)``,
at most every :data:`TILE_REPORT_EVERY` seconds per batch, and always the last tile). The
driver takes what was reported while it waits for results, and passes it to ``on_frames``
on its own thread, as the local engine does.
"""

from __future__ import annotations

import queue
import threading
import time
from typing import Any, Callable, Iterator

TILE_REPORT_EVERY = 0.2
"""Seconds between two tile reports of one batch (the last tile is always reported)."""
POLL_EVERY = 0.25
"""Seconds between two looks of the driver at the reported tiles while it waits for rows."""


class Channel:
    """The stop flag and the latest tile progress of each item (a Ray actor)."""

    def __init__(self) -> None:
        self.stopped = False
        self.tiles: dict[str, tuple[int, int]] = {}

    def set(self) -> None:
        self.stopped = True

    def is_set(self) -> bool:
        return self.stopped

    def report_tiles(self, names: list[str], done: int, total: int) -> None:
        for name in names:
            self.tiles.pop(name, None)  # reinserted last: the order they were heard in
            self.tiles[name] = (done, total)

    def take_tiles(self) -> list[tuple[str, int, int]]:
        """What was reported since the last call, the latest of each item."""
        heard, self.tiles = self.tiles, {}
        return [(name, done, total) for name, (done, total) in heard.items()]


def open_channel(ray: Any) -> Any:
    return ray.remote(num_cpus=0)(Channel).remote()


def forward_stop(stop: threading.Event, finished: threading.Event, channel: Any) -> None:
    """Raise the channel's flag when ``stop`` is set (a thread of the driver, until ``finished``)."""
    while not finished.is_set():
        if stop.wait(0.1):
            channel.set.remote()
            return


def stopped(channel: Any) -> bool:
    import ray

    return bool(ray.get(channel.is_set.remote()))


class StopFlag:
    """The run's stop flag as ``is_set()`` on a worker, asking the channel at most every
    ``seconds``; True for good once it was."""

    def __init__(self, channel: Any, seconds: float = 0.5) -> None:
        self.channel, self.seconds, self.last, self.stopped = channel, seconds, 0.0, False

    def is_set(self) -> bool:
        now = time.monotonic()
        if not self.stopped and now - self.last >= self.seconds:
            self.last, self.stopped = now, stopped(self.channel)
        return self.stopped


def tile_reporter(channel: Any) -> Callable[[list[str], int, int], None]:
    """A runner's ``on_tiles`` on a worker: reports to ``channel``, at most every
    :data:`TILE_REPORT_EVERY` seconds; the last tile of a batch is waited for, so the driver
    hears it before the batch's results."""
    last = [0.0]

    def report(names: list[str], done: int, total: int) -> None:
        now = time.monotonic()
        if done >= total:
            import ray

            ray.get(channel.report_tiles.remote(names, done, total))
        elif now - last[0] >= TILE_REPORT_EVERY:
            last[0] = now
            channel.report_tiles.remote(names, done, total)

    return report


def rows_hearing_tiles(rows: Iterator[Any], channel: Any,
                       on_tiles: Callable[[str, int, int], None]) -> Iterator[Any]:
    """``rows`` (a dataset's iterator), read on a thread of their own so that, while it
    waits, this thread passes the tiles reported to ``channel`` to ``on_tiles(name, done,
    total)``; the tiles heard before a row come before it. Closing this generator stops the
    reading at the next row (without waiting for it)."""
    import ray

    got: queue.SimpleQueue = queue.SimpleQueue()  # rows are results by now: small
    closing = threading.Event()
    end = object()

    def read() -> None:
        try:
            for row in rows:
                got.put((row, None))
                if closing.is_set():
                    break
            got.put((end, None))
        except BaseException as exc:  # raised on the driver's thread
            got.put((end, exc))
        finally:
            getattr(rows, "close", lambda: None)()

    def hear() -> None:
        for name, done, total in ray.get(channel.take_tiles.remote()):
            on_tiles(name, done, total)

    reader = threading.Thread(target=read, name="imgtrans-ray-rows", daemon=True)
    reader.start()
    try:
        while True:
            try:
                row, error = got.get(timeout=POLL_EVERY)
            except queue.Empty:
                hear()
                continue
            hear()
            if row is end:
                if error is not None:
                    raise error
                return
            yield row
    finally:
        closing.set()
