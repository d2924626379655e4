"""The Ray Data engine: the stages of :mod:`imgtrans.core.stages` on a Ray cluster.

Planning and skip-existing ran on the driver (this process) before, and stale temporary
files are cleaned up there too; decoding runs in CPU tasks, the translator is loaded once
per actor of a ``map_batches`` actor pool (one GPU each when the cluster has GPUs), and CPU
tasks write with the same atomic writer. Each row carries one pickled ``(index, value)`` pair, the value
being what the last stage made of the item (a plan item, a decoded image, translated pixels
or a result), so file names that are not UTF-8 and images of any shape pass unchanged. Each
item's result streams back to the driver as soon as its write is done. Videos are cut into
keyframe segments that a pool of actors converts in parallel (:mod:`imgtrans.engines.ray_video`).

A stop (Ctrl-C) raises a flag that the decode tasks and the actors read: the batches being
translated are finished and written, everything else comes back "interrupted". Nothing is
killed mid-write.

Without an address a private Ray instance is started on 127.0.0.1 only (all its servers
bind to loopback) and shut down at the end. ``auto`` or ``ray://host:10001`` joins a running
cluster, whose nodes must see the input and output folders under the same paths and have
the same plugins and weights.
"""

from __future__ import annotations

import importlib.util
import logging
import os
import pickle
import sys
import threading
import warnings
from dataclasses import dataclass
from typing import Any, Callable

import numpy as np

from imgtrans.core import stages
from imgtrans.core.batching import BatchSizer
from imgtrans.core.discover import WorkItem
from imgtrans.core.display import bounded
from imgtrans.core.report import ItemResult
from imgtrans.core.stages import EngineSettings, Translated
from imgtrans.engines.ray_channel import (StopFlag, forward_stop, open_channel, rows_hearing_tiles,
                                          stopped, tile_reporter)
from imgtrans.errors import ImgtransError, PluginError, UsageError

INSTALL_HINT = "pip install 'imgtrans[ray]'"
LOOPBACK = "127.0.0.1"
IO_CPUS = 0.5
"""CPU share of one decode or write task: two of them fit beside each translator actor."""
_LOOPBACK_VAR = "RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER"
"""Ray reads this when imported; "0" makes a node it starts advertise and bind 127.0.0.1."""


def check_available() -> None:
    """``--engine ray`` without Ray installed is a usage error that says what to install."""
    try:
        found = importlib.util.find_spec("ray") is not None
    except (ImportError, ValueError):
        found = False
    if not found:
        raise UsageError(f"--engine ray needs Ray, which is not installed: {INSTALL_HINT}")


def connect(address: str | None = None, num_cpus: int | None = None) -> bool:
    """Make this process a Ray driver: join ``address``, or start a private instance on
    127.0.0.1 with ``num_cpus`` CPUs (default: all). Returns False when Ray was already
    initialised here (that instance is used and left running)."""
    if address is None and "ray" not in sys.modules:
        os.environ.setdefault(_LOOPBACK_VAR, "0")
    try:
        import ray
        import ray.data  # noqa: F401  (pyarrow and pandas come with the extra)
    except ImportError as exc:
        raise UsageError(f"--engine ray cannot import Ray ({exc}): {INSTALL_HINT}") from None
    if ray.is_initialized():
        return False
    quiet = {"log_to_driver": False, "logging_level": logging.WARNING}
    if address is None:
        logging.getLogger("ray._private.authentication.authentication_token_setup").setLevel(
            logging.ERROR)  # token auth is on; the warning saying so is noise here
        ray.init(address="local", num_cpus=num_cpus or os.cpu_count() or 1,
                 include_dashboard=False, **quiet)
        if ray.util.get_node_ip_address() != LOOPBACK:
            ray.shutdown()
            raise UsageError(f"Ray was imported before imgtrans could keep its instance on "
                             f"{LOOPBACK}; set {_LOOPBACK_VAR}=0 before importing ray, or start "
                             f"Ray yourself and pass --ray-address")
    else:
        try:
            ray.init(address=address, **quiet)
        except (ConnectionError, ValueError, RuntimeError) as exc:
            raise UsageError(f"--ray-address {address}: cannot join the Ray cluster: {exc}") from None
    _quiet_ray_data()
    return True


def _quiet_ray_data() -> None:
    """Progress and results are imgtrans's to show: no Ray Data bars or console chatter
    (its log file in the Ray session folder keeps everything)."""
    import ray.data

    context = ray.data.DataContext.get_current()
    context.enable_progress_bars = False
    context.print_on_execution_start = False
    for handler in logging.getLogger("ray.data").handlers:
        if not isinstance(handler, logging.FileHandler):
            handler.setLevel(logging.ERROR)


def run(items: list[WorkItem], recipe: Any, settings: EngineSettings, *,
        on_start: Callable[[dict], None] = lambda info: None,
        on_result: Callable[[ItemResult], None] = lambda r: None,
        on_frames: Callable[[str, int, int], None] | None = None,
        stop: threading.Event | None = None) -> list[ItemResult]:
    """Convert ``items`` on the cluster; one result per item, in input order. Images go
    through the Ray Data pipeline, videos segment by segment through a pool of actors
    (:mod:`imgtrans.engines.ray_video`); ``on_frames`` gets a video's frames done after each
    of its segments, and a tiled image's tiles as its actor reports them."""
    from imgtrans.engines import ray_video

    stop = stop or threading.Event()
    images = [item for item in items if item.video is None]
    segmented = [item for item in items if ray_video.in_segments(item)]
    stages.prepare_outputs(images)
    started = connect(settings.address)
    import ray

    finished = threading.Event()
    results: dict[WorkItem, ItemResult] = {}
    try:
        device, gpus, cpus, actors = _placement(ray, recipe.device)
        sizer = BatchSizer.of(settings.batch_size, device, recipe.cls.capabilities)
        on_start({**recipe.describe(device), "engine": "ray",
                  "ray_address": settings.address or f"local ({LOOPBACK})", "actors": actors,
                  "batch_size": sizer.describe()})
        flag = open_channel(ray)  # the stop flag, and tile progress back from the actors
        threading.Thread(target=forward_stop, args=(stop, finished, flag), daemon=True).start()
        try:  # videos first: their actors are gone when they end, Ray Data's pool stays
            if segmented:
                results.update(ray_video.run(ray, segmented, recipe, settings,
                                             _placement(ray, recipe.device, reserve=0), flag, stop,
                                             on_result, on_frames))
            if images and not stop.is_set():
                results.update(zip(images, _convert_images(
                    ray, images, recipe, settings, flag, device, (gpus, cpus, actors), sizer,
                    on_result, on_frames)))
        except ray.exceptions.RayError as exc:  # a worker died, the cluster went away...
            lines = str(exc).strip().splitlines() or [type(exc).__name__]
            raise ImgtransError(bounded(f"the Ray job failed: {lines[-1]}")) from None
    finally:
        finished.set()
        if started:
            ray.shutdown()
    on_driver = [item for item in items if item.video is not None and item not in segmented]
    if on_driver and not stop.is_set():
        results.update(_on_driver(on_driver, recipe, settings, on_result, on_frames, stop))
    for item in items:
        if item not in results:
            results[item] = stages.interrupted(item)
            on_result(results[item])
    return [results[item] for item in items]


def _convert_images(ray: Any, items: list[WorkItem], recipe: Any, settings: EngineSettings,
                    flag: Any, device: str, pool: tuple[int, int, int], sizer: BatchSizer,
                    on_result: Callable[[ItemResult], None],
                    on_frames: Callable[[str, int, int], None] | None) -> list[ItemResult]:
    """Images through the Ray Data pipeline; one result per item, in input order. A tiled
    image's tiles reach ``on_frames`` as the actors report them (:mod:`.ray_channel`)."""
    dataset = _pipeline(ray, items, recipe, settings, flag, device, pool, sizer)
    results: dict[int, ItemResult] = {}
    rows = iter(dataset.iter_rows())
    if on_frames is not None:
        sources = {item.name: str(item.source) for item in items}

        def on_tiles(name: str, done: int, total: int) -> None:
            if name in sources:
                on_frames(sources[name], done, total)

        rows = rows_hearing_tiles(rows, flag, on_tiles)
    try:
        for row in rows:
            index, value = pickle.loads(row["record"])
            if isinstance(value, _Failure):
                raise value.error()
            results[index] = value
            on_result(value)
    finally:
        getattr(rows, "close", lambda: None)()
        del rows
    for index, item in enumerate(items):
        if index not in results:  # only if the dataset lost rows: never silently
            results[index] = stages.failed(item, "lost by the Ray job")
            on_result(results[index])
    return [results[index] for index in range(len(items))]


def _placement(ray: Any, device: Any, reserve: int = 1) -> tuple[str, float, int, int]:
    """(device in each actor, its GPUs, its CPUs, number of actors) for ``--device``: one
    actor per GPU; without GPUs one actor per node, on all but ``reserve`` of the node's CPUs
    (images leave one for their decode and write tasks; a video's actor decodes and encodes
    itself, so it takes them all). Ray sizes the actor's torch threads to its CPUs."""
    spec = str(device or "auto").strip().lower()
    gpus = int(ray.cluster_resources().get("GPU", 0))
    if spec == "cpu":
        use_gpu = False
    elif spec == "auto":
        use_gpu = gpus > 0
    elif spec == "cuda" or spec.startswith("cuda:"):
        if not gpus:
            raise UsageError(f"device {spec!r} asked for, but the Ray cluster has no GPUs")
        use_gpu = True
    else:
        raise UsageError(f"device {spec!r} with --engine ray: use auto, cpu or cuda")
    if use_gpu:
        return "cuda", 1, 1, gpus
    cpus = [int(n.get("Resources", {}).get("CPU", 0)) for n in ray.nodes() if n.get("Alive")]
    cpus = [c for c in cpus if c >= 1] or [1]
    return "cpu", 0, max(1, min(cpus) - reserve), len(cpus)


def _pipeline(ray: Any, items: list[WorkItem], recipe: Any, settings: EngineSettings, flag: Any,
              device: str, pool: tuple[int, int, int], sizer: BatchSizer) -> Any:
    """from_items -> decode (CPU tasks) -> translate (actor pool) -> write (CPU tasks).

    The translator actors are not restarted (``max_restarts=0``; Ray Data's default is
    forever, with every task retried forever): an actor that dies (killed for memory on an
    oversized image, a crash in native code) would die again on the same batch, so the run
    ends with "the Ray job failed" and a re-run resumes it. This also removes the
    ``core_worker ... max_restarts > 0`` error line Ray printed on every run: Ray Data puts
    an actor's constructor arguments in the object store, which Ray warns about for
    restartable actors (ray-project/ray#53727)."""
    gpus, cpus, actors = pool
    data = ray.data.from_items([{"record": pickle.dumps((i, item))} for i, item in enumerate(items)],
                               override_num_blocks=len(items))
    if recipe.cls.capabilities.input_kind != "layout":  # other inputs are parsed by the actor
        data = data.map_batches(_decode_rows, fn_kwargs={"settings": settings, "flag": flag},
                                batch_size=1, batch_format="numpy", num_cpus=IO_CPUS)
    translate = dict(
        fn_constructor_kwargs={"recipe": pickle.dumps(recipe), "settings": settings,
                               "device": device, "flag": flag},
        batch_size=sizer.largest, batch_format="numpy",
        compute=ray.data.ActorPoolStrategy(size=max(1, min(actors, len(items)))),
        num_cpus=cpus, num_gpus=gpus)  # more actors than items: idle, and Ray Data warns
    with warnings.catch_warnings():  # actor options have no named parameter in Ray Data yet
        warnings.filterwarnings("ignore", message="`ray_remote_args` is deprecated")
        try:
            data = data.map_batches(_Translate, **translate, max_restarts=0)
        except TypeError:  # a Ray Data that takes no actor options: its default, and the line
            data = data.map_batches(_Translate, **translate)
    return data.map_batches(_write_rows, fn_kwargs={"settings": settings}, batch_size=1,
                            batch_format="numpy", num_cpus=IO_CPUS)


@dataclass
class _Failure:
    """A translator that could not be loaded on a worker: the driver raises it."""

    kind: str
    message: str

    @classmethod
    def of(cls, exc: Exception) -> "_Failure":
        if isinstance(exc, ImgtransError):
            return cls(type(exc).__name__, str(exc))
        hint = "; every node needs the same plugins installed" if isinstance(exc, ImportError) else ""
        return cls("PluginError", f"cannot load the translator on a Ray worker: "
                                  f"{type(exc).__name__}: {exc}{hint}")

    def error(self) -> ImgtransError:
        import imgtrans.errors

        kind = getattr(imgtrans.errors, self.kind, None)
        try:
            if isinstance(kind, type) and issubclass(kind, ImgtransError):
                return kind(self.message)
        except TypeError:  # an error type that wants more than a message
            pass
        return PluginError(self.message)


def _rows(batch: dict[str, np.ndarray]) -> list[tuple[int, Any]]:
    return [pickle.loads(blob) for blob in batch["record"]]


def _batch(rows: list[tuple[int, Any]]) -> dict[str, np.ndarray]:
    column = np.empty(len(rows), dtype=object)
    column[:] = [pickle.dumps(row, protocol=5) for row in rows]
    return {"record": column}


def _decode_rows(batch: dict[str, np.ndarray], *, settings: EngineSettings,
                 flag: Any) -> dict[str, np.ndarray]:
    stopping = stopped(flag)
    return _batch([(i, stages.interrupted(item) if stopping else stages.decode(item, settings))
                   for i, item in _rows(batch)])


def _write_rows(batch: dict[str, np.ndarray], *, settings: EngineSettings) -> dict[str, np.ndarray]:
    return _batch([(i, stages.write(value, settings) if isinstance(value, Translated) else value)
                   for i, value in _rows(batch)])


class _Translate:
    """One actor of the pool: loads the translator once, then translates batches of rows."""

    def __init__(self, recipe: bytes, settings: EngineSettings, device: str, flag: Any) -> None:
        self.settings, self.flag, self.failure = settings, flag, None
        try:
            self.runner = pickle.loads(recipe).load(device).runner
        except Exception as exc:  # reported by the driver, with the local engine's exit code
            self.failure = _Failure.of(exc)
            return
        self.sizer = BatchSizer.of(settings.batch_size, self.runner.device, self.runner.translator.capabilities)
        self.read_input = None if self.runner.takes_images else self.runner.translator.read_input
        self._thread = threading.local()
        self.runner.should_stop = StopFlag(flag).is_set  # a stop reaches into a batch
        self.runner.on_tiles = tile_reporter(flag)

    def __call__(self, batch: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        rows = _rows(batch)
        if self.failure is not None:
            return _batch([(i, self.failure) for i, _ in rows])
        if not getattr(self._thread, "casts_kept", False):  # the actor's threads end with the run
            self.runner.keep_weight_casts()
            self._thread.casts_kept = True
        stopping = stopped(self.flag)
        outcomes: dict[int, Any] = {}
        groups: dict[tuple, list[tuple[int, stages.Loaded]]] = {}
        for i, value in rows:
            if isinstance(value, WorkItem):
                value = stages.decode(value, self.settings, self.read_input) if not stopping \
                    else stages.interrupted(value)
            if isinstance(value, ItemResult):
                outcomes[i] = value
            elif stopping:
                outcomes[i] = stages.interrupted(value.item)
            else:
                groups.setdefault(stages.batch_key(value.data), []).append((i, value))
        for key, members in groups.items():
            size = self.sizer.size_for(key)
            for start in range(0, len(members), size):
                chunk = members[start:start + size]
                translated = stages.translate_batch([one for _, one in chunk], self.runner, self.sizer,
                                                    self.settings.max_pixels)
                outcomes.update((i, outcome) for (i, _), outcome in zip(chunk, translated))
        return _batch([(i, outcomes[i]) for i, _ in rows])


def _on_driver(items: list[WorkItem], recipe: Any, settings: EngineSettings,
               on_result: Callable[[ItemResult], None], on_frames: Any,
               stop: threading.Event) -> dict[WorkItem, ItemResult]:
    """Videos written as folders of frames or as animations: on this process, with the
    local engine (they are not cut into segments)."""
    from imgtrans.engines import local

    loaded = recipe.load()
    return dict(zip(items, local.run_items(items, loaded.runner, settings, on_result=on_result,
                                           on_frames=on_frames, stop=stop)))
