"""Sessions and the job queue of the web app, apart from HTTP so they stay small and testable.

A session is one open page: a random id and a private temporary folder for its uploads and
results. The folder goes when the page has been silent for ``ttl`` seconds with no job
queued or running, when the page closes, and when the server stops. Jobs run one at a time
on a single worker thread: a model on one device is fastest alone, and a second job just
waits its turn (its page shows how many jobs are ahead). A cancelled job stops within a
denoising step or a tile (its stop flag reaches the translator) and leaves no result files.
"""

from __future__ import annotations

import collections
import logging
import os
import re
import secrets
import shutil
import threading
import time
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from imgtrans.errors import ImgtransError, UsageError, bounded
from imgtrans.web.folders import RootFolder

log = logging.getLogger(__name__)


@dataclass
class Upload:
    """An uploaded image: the bytes as sent (what jobs read), a PNG of the decoded pixels
    (what the page shows: EXIF applied, any format) and the user's file name."""

    id: str
    name: str
    path: Path
    preview: Path
    width: int
    height: int
    made_by: dict | None = None
    """An imgtrans output's run (translator, weights, options, seed) from its provenance."""
    frames: int = 0
    """A video's frame count (0: an image); ``preview`` is then its first frame."""


@dataclass
class Job:
    """One unit of work and what the page needs to follow it. The worker changes it through
    :meth:`update` and the request threads read it through :meth:`snapshot`, both locked."""

    id: str
    kind: str
    run: Callable[["Job"], None]
    folder: Path
    state: str = "queued"  # queued, running, done, failed, cancelled
    stage: str = "waiting"
    done: int = 0
    total: int | None = None
    error: str | None = None
    errors: list[str] = field(default_factory=list)
    results: list[dict[str, Any]] = field(default_factory=list)
    extra: dict[str, Any] = field(default_factory=dict)
    files: list[Path] = field(default_factory=list)
    aliases: dict[str, str] = field(default_factory=dict)
    """Server paths -> the names the user knows, so messages never show temporary folders."""
    stop: threading.Event = field(default_factory=threading.Event)
    zip_lock: threading.Lock = field(default_factory=threading.Lock, repr=False)
    created: float = field(default_factory=time.monotonic)
    started: float | None = None
    finished: float | None = None
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    @property
    def active(self) -> bool:
        return self.state in ("queued", "running")

    def update(self, **changes: Any) -> None:
        with self.lock:
            for key, value in changes.items():
                setattr(self, key, value)

    def add_result(self, result: dict[str, Any]) -> None:
        with self.lock:
            self.results.append(result)

    def add_error(self, message: str) -> None:
        with self.lock:
            self.errors.append(self.clean(message))

    def add_file(self, path: Path) -> int:
        """Register a file the page may fetch; its index is its only name in URLs."""
        with self.lock:
            self.files.append(path)
            return len(self.files) - 1

    def clean(self, message: str) -> str:
        """``message`` with server paths replaced by the user's names, and any other
        absolute path (a cache folder, a package) by its last part, on one line (bounded far
        above the CLI's messages, which must come through whole)."""
        for path, name in sorted(self.aliases.items(), key=lambda kv: -len(kv[0])):
            message = message.replace(path, name)
        message = _ABSOLUTE_PATH.sub(lambda m: m.group(1) + m.group(2).rstrip("/").rsplit("/", 1)[-1],
                                     message)
        return bounded(" ".join(message.split()), 4000)

    def discard_outputs(self) -> None:
        """A cancelled job's partial results go: its files, their list and its archive."""
        with self.lock:
            self.results.clear()
            self.files.clear()
        for name in ("out", "bicubic", "results.zip"):
            target = self.folder / name
            if target.is_dir():
                shutil.rmtree(target, ignore_errors=True)
            else:
                target.unlink(missing_ok=True)

    def zip_file(self) -> Path:
        """Every result in one archive, built once (the first download waits for it, the
        others get the same complete file): stored as they are, PNG is compressed already."""
        target = self.folder / "results.zip"
        with self.zip_lock:
            if not target.is_file():
                names = [o["name"] for r in self.results for o in r["outputs"]]
                partial = target.with_name("results.zip.part")
                with zipfile.ZipFile(partial, "w", zipfile.ZIP_STORED) as archive:
                    for name in names:
                        archive.write(self.folder / "out" / name, name)
                partial.replace(target)
        return target

    def snapshot(self, ahead: int) -> dict[str, Any]:
        with self.lock:
            end = self.finished or time.monotonic()
            return {"id": self.id, "kind": self.kind, "state": self.state, "stage": self.stage,
                    "ahead": ahead, "done": self.done, "total": self.total, "error": self.error,
                    "errors": list(self.errors), "results": list(self.results),
                    "seconds": round(end - self.started, 2) if self.started else 0.0,
                    **self.extra}


@dataclass
class Session:
    id: str
    folder: Path
    last_seen: float = field(default_factory=time.monotonic)
    uploads: dict[str, Upload] = field(default_factory=dict)
    upload_bytes: int = 0
    receiving: dict[str, int] = field(default_factory=dict)
    """Bytes of uploads still arriving, by upload id: they count against the session's
    limit while they last."""
    jobs: dict[str, Job] = field(default_factory=dict)

    @property
    def held_bytes(self) -> int:
        return self.upload_bytes + sum(list(self.receiving.values()))

    @property
    def busy(self) -> bool:
        return bool(self.receiving) or any(job.active for job in list(self.jobs.values()))


class Sessions:
    """All sessions, under one temporary root folder that the server removes when it stops."""

    def __init__(self, ttl: float, max_sessions: int = 100) -> None:
        self.ttl = ttl
        self.max_sessions = max_sessions
        self._root = RootFolder()
        self.root = self._root.path
        self._sessions: dict[str, Session] = {}
        self._lock = threading.Lock()
        self._closed = threading.Event()
        self._janitor: threading.Thread | None = None

    def create(self) -> Session:
        self.expire()
        with self._lock:
            if len(self._sessions) >= self.max_sessions:
                raise UsageError(f"too many open pages ({self.max_sessions}); close some and retry")
            sid = secrets.token_urlsafe(18)
            folder = self.root / sid
            (folder / "uploads").mkdir(parents=True)
            (folder / "jobs").mkdir()
            session = self._sessions[sid] = Session(sid, folder)
            return session

    def get(self, sid: str) -> Session | None:
        """The session, marked as seen now; None when unknown or expired."""
        with self._lock:
            session = self._sessions.get(sid)
            if session is not None:
                session.last_seen = time.monotonic()
            return session

    def __len__(self) -> int:
        return len(self._sessions)

    def remove(self, sid: str, queue: "JobQueue | None" = None) -> None:
        """End a session: cancel its jobs, delete its folder (a job still running keeps it
        until expiry, so the worker never writes into a deleted folder)."""
        with self._lock:
            session = self._sessions.get(sid)
        if session is None:
            return
        if queue is not None:
            for job in list(session.jobs.values()):
                queue.cancel(job)
        if session.busy:
            session.last_seen = -self.ttl  # expires as soon as its job stops
            return
        self._drop(session)

    def expire(self, now: float | None = None) -> list[str]:
        """Remove the sessions silent for longer than ``ttl`` and not busy; their ids."""
        now = time.monotonic() if now is None else now
        with self._lock:
            gone = [s for s in self._sessions.values()
                    if now - s.last_seen > self.ttl and not s.busy]
        for session in gone:
            self._drop(session)
        return [s.id for s in gone]

    def _drop(self, session: Session) -> None:
        with self._lock:
            self._sessions.pop(session.id, None)
        shutil.rmtree(session.folder, ignore_errors=True)
        log.debug("session %s removed", session.id[:6])

    def start_janitor(self, interval: float) -> None:
        """Expire sessions every ``interval`` seconds, so idle folders go without traffic."""
        def loop() -> None:
            while not self._closed.wait(interval):
                try:
                    self.expire()
                except Exception:  # a janitor must never die
                    log.exception("expiring sessions failed")

        self._janitor = threading.Thread(target=loop, name="imgtrans-web-janitor", daemon=True)
        self._janitor.start()

    def close(self) -> None:
        """Forget every session and remove the root folder (server shutdown)."""
        self._closed.set()
        with self._lock:
            self._sessions.clear()
        self._root.remove()


class JobQueue:
    """First come, first served, one job at a time on one worker thread."""

    def __init__(self) -> None:
        self._pending: collections.deque[Job] = collections.deque()
        self._cond = threading.Condition()
        self._current: Job | None = None
        self._closed = False
        self._thread = threading.Thread(target=self._work, name="imgtrans-web-worker",
                                        daemon=True)
        self._thread.start()

    def submit(self, job: Job) -> None:
        with self._cond:
            if self._closed:
                raise RuntimeError("the job queue is closed")
            self._pending.append(job)
            self._cond.notify()

    def ahead(self, job: Job) -> int:
        """How many jobs run before ``job`` (0 when it runs or ran)."""
        with self._cond:
            if job not in self._pending:
                return 0
            return self._pending.index(job) + (self._current is not None)

    @property
    def running(self) -> Job | None:
        return self._current

    def cancel(self, job: Job) -> None:
        """A queued job is dropped; a running one stops at its next stop check (a denoising
        step, a tile, a batch) and its partial results are discarded."""
        with self._cond:
            if job in self._pending:
                self._pending.remove(job)
                job.update(state="cancelled", stage="cancelled", finished=time.monotonic())
                return
        if job.state == "running":
            job.stop.set()
            job.update(stage="stopping")

    def close(self, timeout: float = 5.0) -> None:
        """Cancel what waits, ask the running job to stop, wait a little for it."""
        with self._cond:
            self._closed = True
            pending, self._pending = list(self._pending), collections.deque()
            current = self._current
            self._cond.notify_all()
        for job in pending:
            job.update(state="cancelled", stage="cancelled")
        if current is not None:
            current.stop.set()
        self._thread.join(timeout)

    def _work(self) -> None:
        while True:
            with self._cond:
                while not self._pending and not self._closed:
                    self._cond.wait()
                if self._closed:
                    return
                job = self._current = self._pending.popleft()
            job.update(state="running", stage="starting", started=time.monotonic())
            try:
                job.run(job)
                state, error = ("cancelled" if job.stop.is_set() else "done"), None
            except KeyboardInterrupt:  # a download interrupted by the stop flag
                state, error = "cancelled", None
            except ImgtransError as exc:
                state, error = "failed", job.clean(str(exc))
            except Exception as exc:  # the page gets one line; the log keeps the traceback
                log.exception("web job %s failed", job.id)
                state, error = "failed", job.clean(f"internal error: {type(exc).__name__}: {exc}")
            if job.stop.is_set():  # whatever the stop interrupted: no partial results
                state, error = "cancelled", None
                job.discard_outputs()
            job.update(state=state, error=error, stage=state, finished=time.monotonic())
            with self._cond:
                self._current = None


def new_id() -> str:
    """A short random id for uploads and jobs (never a path: ids are looked up, not joined)."""
    return secrets.token_hex(8)


def link_or_copy(source: Path, target: Path) -> None:
    """Give a job its own input file without copying bytes when the disk allows."""
    try:
        os.link(source, target)
    except OSError:
        shutil.copyfile(source, target)


def display_name(raw: str) -> str:
    """A user's file name as shown back: base name only, printable, bounded."""
    name = raw.replace("\\", "/").rsplit("/", 1)[-1]
    name = "".join(c for c in name if c.isprintable()).strip()
    return name[:120] or "image"


def safe_stem(raw: Any) -> str:
    """A file stem made only of word characters, dots and dashes (no separators, no '..')."""
    stem = re.sub(r"[^\w.-]+", "_", str(raw)).strip("._-")[:60]
    return stem or "image"


_ABSOLUTE_PATH = re.compile(r"(^|[\s'\"(=])(/(?:[^\s'\"():,;]+/)+[^\s'\"():,;]*)")
"""An absolute POSIX path in a message (at least two parts), after a space, quote or '='."""
