"""The local engine: the stages on threads of this process.

Readers decode in a thread pool, one translator thread runs the forward passes on batches of
equal-size images, writers encode and write in a thread pool. The calling thread only
schedules: it reacts to each finished read, batch and write as it happens, so every item's
result reaches ``on_result`` (always on the calling thread) as soon as the item is finished,
while later items are still being read or translated. At most ``window`` items are between
"submitted for reading" and "written", which bounds memory.
"""

from __future__ import annotations

import queue
import threading
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any, Callable

from imgtrans.core.batching import BatchSizer
from imgtrans.core.discover import WorkItem
from imgtrans.core.report import ItemResult
from imgtrans.core.runner import TranslatorRunner
from imgtrans.core import stages
from imgtrans.core.stages import EngineSettings, Loaded, Translated
from imgtrans.core.video.job import convert_video


def check_available() -> None:
    """Nothing beyond imgtrans itself is needed."""


def run(items: list[WorkItem], recipe: Any, settings: EngineSettings, *,
        on_start: Callable[[dict], None] = lambda info: None,
        on_result: Callable[[ItemResult], None] = lambda r: None,
        on_frames: Callable[[str, int, int], None] | None = None,
        stop: threading.Event | None = None) -> list[ItemResult]:
    """Load the translator once, on the thread that will run its forwards (see
    :func:`translator_thread`), then convert ``items``; ``on_frames`` gets a video's frames
    done after each batch (see :data:`imgtrans.core.video.job.Progress`)."""
    translator = translator_thread()
    try:
        loaded = translator.submit(recipe.load).result()
        sizer = BatchSizer.of(settings.batch_size, loaded.runner.device, loaded.translator.capabilities)
        on_start({**loaded.config(), "engine": "local", "batch_size": sizer.describe()})
        results = run_items(items, loaded.runner, settings, sizer=sizer, on_result=on_result,
                            on_frames=on_frames, stop=stop, translator=translator)
    except BaseException:
        translator.shutdown(wait=False, cancel_futures=True)
        raise
    translator.shutdown()
    return results


def translator_thread() -> "TranslatorThread":
    """The one thread of a run that loads the translator and runs every forward (images'
    batches and videos' frames). One thread for all of torch's work keeps its OpenMP
    threads one team: a second team (say, loading on the calling thread) makes libgomp
    throttle its spin-waits once there are more of its threads than cores, and the same
    forwards ran 1.2-1.6x slower on 2 cores; forwards on the calling thread itself ran
    up to 6x slower in a video run (glibc's main malloc arena). bench/RESULTS.md, "Video"."""
    return TranslatorThread()


class TranslatorThread:
    """Calls run in order on one daemon thread (``submit`` -> ``Future``). Daemon, unlike
    ``ThreadPoolExecutor``'s workers, which the interpreter joins at exit: a second Ctrl-C
    during a long load leaves at once."""

    def __init__(self) -> None:
        self.jobs: queue.SimpleQueue = queue.SimpleQueue()
        self.thread = threading.Thread(target=self._loop, name="imgtrans-translate", daemon=True)
        self.thread.start()

    def submit(self, fn: Callable, *args: Any) -> Future:
        future: Future = Future()
        self.jobs.put((future, fn, args))
        return future

    def _loop(self) -> None:
        while (job := self.jobs.get()) is not None:
            future, fn, args = job
            if future.set_running_or_notify_cancel():
                try:
                    future.set_result(fn(*args))
                except BaseException as exc:
                    future.set_exception(exc)

    def shutdown(self, wait: bool = True, cancel_futures: bool = False) -> None:
        if cancel_futures:
            while True:
                try:
                    job = self.jobs.get_nowait()
                except queue.Empty:
                    break
                if job is not None:
                    job[0].cancel()
        self.jobs.put(None)
        if wait and self.thread is not threading.current_thread():
            self.thread.join()


def run_items(items: list[WorkItem], runner: TranslatorRunner, settings: EngineSettings, *,
              sizer: BatchSizer | None = None,
              on_result: Callable[[ItemResult], None] = lambda r: None,
              on_frames: Callable[[str, int, int], None] | None = None,
              stop: threading.Event | None = None,
              translator: TranslatorThread | None = None) -> list[ItemResult]:
    """Convert ``items`` with ``runner``; one result per item, in input order. A tiled
    image's progress reaches ``on_frames`` too, as ``(input, tiles done, tiles in total)``
    after each tile, on the calling thread. ``translator``: the :func:`translator_thread`
    the runner was loaded on (None: a new one, shut down at the end)."""
    sizer = sizer or BatchSizer.of(settings.batch_size, runner.device, runner.translator.capabilities)
    stop = stop or threading.Event()
    owned = translator is None
    translator = translator or translator_thread()
    translator.submit(runner.keep_weight_casts)
    pipeline = _Pipeline(runner, settings, sizer, on_result, stop, translator)
    if on_frames is not None:
        pipeline.hear_tiles(items, on_frames)
    before, runner.should_stop = runner.should_stop, stop.is_set  # a stop reaches into a batch
    try:
        pipeline.run([item for item in items if item.video is None])
        pipeline.convert_videos([item for item in items if item.video is not None], on_frames)
    finally:
        runner.should_stop = before
        runner.on_tiles = None
        if owned:
            translator.shutdown(wait=False, cancel_futures=True)  # its work is done or abandoned
    for item in items:
        if item not in pipeline.results:
            pipeline.finish(item, stages.interrupted(item))
    return [pipeline.results[item] for item in items]


class _Pipeline:
    """The scheduling state of one run; every method runs on the calling thread."""

    def __init__(self, runner: TranslatorRunner, settings: EngineSettings, sizer: BatchSizer,
                 on_result: Callable[[ItemResult], None], stop: threading.Event,
                 translator: TranslatorThread) -> None:
        self.runner, self.settings, self.sizer = runner, settings, sizer
        self.translator = translator
        self.on_result, self.stop = on_result, stop
        self.window = max(2 * sizer.largest, 2 * settings.workers)
        self.read_input = None if runner.takes_images else runner.translator.read_input
        self.results: dict[WorkItem, ItemResult] = {}
        self.events: queue.SimpleQueue = queue.SimpleQueue()
        self.buckets: dict[tuple, list[Loaded]] = {}
        self.reads: dict[Future, WorkItem] = {}
        self.batches: dict[Future, list[Loaded]] = {}
        self.writes: dict[Future, WorkItem] = {}
        self.open = 0  # items submitted for reading and not finished yet

    def finish(self, item: WorkItem, result: ItemResult) -> None:
        self.results[item] = result
        self.on_result(result)

    def hear_tiles(self, items: list[WorkItem], on_tiles: Callable[[str, int, int], None]) -> None:
        """Pass the runner's tile progress (translator thread) to ``on_tiles`` on the calling
        thread, by input: ``(input, tiles done, tiles in total)``."""
        sources = {item.name: str(item.source) for item in items if item.video is None}

        def heard(names: list[str], done: int, total: int) -> None:
            for name in names:
                if name in sources:
                    self.events.put(("tiles", lambda s=sources[name]: on_tiles(s, done, total)))

        self.runner.on_tiles = heard

    def run(self, items: list[WorkItem]) -> None:
        stages.prepare_outputs(items)
        pending = iter(items)
        exhausted = False
        readers = ThreadPoolExecutor(self.settings.workers, thread_name_prefix="imgtrans-read")
        translator = self.translator
        writers = ThreadPoolExecutor(self.settings.workers, thread_name_prefix="imgtrans-write")
        pools = (readers, translator, writers)
        try:
            while True:
                stopping = self.stop.is_set()
                if stopping:
                    self._drop_queued_work()
                while not stopping and not exhausted and self.open < self.window:
                    item = next(pending, None)
                    if item is None:
                        exhausted = True
                    else:
                        self.open += 1
                        self._submit(readers, self.reads, item, "read", stages.decode, item,
                                     self.settings, self.read_input)
                if not stopping:
                    self._flush(translator, everything=not self.reads)
                if not (self.reads or self.batches or self.writes):
                    if stopping or (exhausted and not self.buckets):
                        break
                try:
                    kind, future = self.events.get(timeout=0.2)
                except queue.Empty:
                    continue
                self._handle(kind, future, writers)
        except BaseException:  # a failing on_result, or a second Ctrl-C: leave at once
            for pool in pools:
                pool.shutdown(wait=False, cancel_futures=True)
            raise
        readers.shutdown()
        writers.shutdown()

    def convert_videos(self, videos: list[WorkItem],
                       on_frames: Callable[[str, int, int], None] | None) -> None:
        """Each video in turn on the translator thread, as images' batches (its frames
        stream inside; see :func:`translator_thread`). Frame progress comes back through
        ``events`` to ``on_frames``, on the calling thread."""
        if not videos:
            return

        def heard(source: str, done: int, total: int) -> None:
            self.events.put(("tiles", lambda: on_frames(source, done, total)))

        pool = self.translator
        try:
            for item in videos:
                if self.stop.is_set():
                    break
                future = pool.submit(convert_video, item, self.runner, self.sizer, self.settings,
                                     self.stop, heard if on_frames is not None else None)
                future.add_done_callback(lambda f: self.events.put(("video", f)))
                while True:
                    try:
                        kind, event = self.events.get(timeout=0.2)
                    except queue.Empty:
                        continue
                    if kind == "video":
                        break
                    event()  # a video's or a tile's progress
                self.finish(item, future.result())
        except BaseException:  # a failing callback, or a second Ctrl-C: the batch in flight ends it
            self.stop.set()
            pool.shutdown(wait=False, cancel_futures=True)
            raise

    def _submit(self, pool: ThreadPoolExecutor | TranslatorThread, table: dict, context: Any, kind: str,
                fn: Callable, *args: Any) -> None:
        future = pool.submit(fn, *args)
        table[future] = context
        future.add_done_callback(lambda f: self.events.put((kind, f)))

    def _flush(self, translator: TranslatorThread, everything: bool) -> None:
        """Queue full buckets for the translator; when no read is in flight (the input is
        exhausted or the window is full), queue the partial ones too."""
        for key in list(self.buckets):
            bucket = self.buckets[key]
            size = self.sizer.size_for(key)
            while len(bucket) >= size or (everything and bucket):
                batch, bucket[:] = bucket[:size], bucket[size:]
                self._submit(translator, self.batches, batch, "batch", stages.translate_batch,
                             batch, self.runner, self.sizer, self.settings.max_pixels)
            if not bucket:
                del self.buckets[key]

    def _handle(self, kind: str, future: Future, writers: ThreadPoolExecutor) -> None:
        if kind == "tiles":  # not a future: the call to make here
            future()
        elif kind == "read":
            item = self.reads.pop(future)
            if future.cancelled() or self.stop.is_set():
                self.open -= 1  # reported as interrupted at the end
                return
            outcome = future.result()
            if isinstance(outcome, ItemResult):
                self.open -= 1
                self.finish(item, outcome)
            else:
                self.buckets.setdefault(stages.batch_key(outcome.data), []).append(outcome)
        elif kind == "batch":
            batch = self.batches.pop(future)
            if future.cancelled():
                self.open -= len(batch)
                return
            for one, outcome in zip(batch, future.result()):
                if isinstance(outcome, Translated):  # written even when stopping: in flight
                    self._submit(writers, self.writes, one.item, "write", stages.write, outcome,
                                 self.settings)
                else:
                    self.open -= 1
                    self.finish(one.item, outcome)
        else:
            item = self.writes.pop(future)
            self.open -= 1
            self.finish(item, future.result())

    def _drop_queued_work(self) -> None:
        """On stop: reads and batches not started yet are not run, decoded images waiting
        for a batch are let go; all of them end as "interrupted"."""
        for future in list(self.reads) + list(self.batches):
            future.cancel()  # its done callback still reports it, as cancelled
        for bucket in self.buckets.values():
            self.open -= len(bucket)
        self.buckets.clear()
