"""The web app behind ``imgtrans serve``: a thin HTTP layer over the Python API.

Every translation is ``imgtrans.convert`` on a per-job input folder (or ``imgtrans.load``
for a layout model's labels), run by the single worker of :class:`~imgtrans.web.jobs.JobQueue`;
the pages in ``static/`` are the whole user interface. Nothing a client sends is ever joined
into a server path: uploads, jobs and result files are looked up by ids the server made,
weights are registry names the catalogue offers (bundled or already downloaded ones, unless
the server allows downloads), and options declared as paths (field metadata ``"path": True``)
accept only an upload of the same session; other free-text options are text of bounded
length. Requests that change state must come from the app's own pages (``Origin``); option
values are checked against their declared ranges as ``--opt`` is, and each job's results
against ``--max-pixels`` and the memory free (``imgtrans.core.budget``) before it runs.

Endpoints (JSON unless said otherwise; errors are ``{"error": "<one line>"}``)::

    GET  /api/catalog                  translators, options, offered weights, limits
    GET  /api/examples?translator=T&weights=W&n=I   PNG: example I of what the offered weights
                                        W were trained on (the catalogue says how many)
    POST /api/sessions                 a new session -> {"id"}
    GET  /api/s/{sid}                  keep the session alive
    POST /api/s/{sid}/close            end it now (its folder is removed)
    POST /api/s/{sid}/uploads?name=N   raw image or short video bytes -> {"id", "name", "width",
                                        "height", "frames" (0: an image), "url", "made_by" (an
                                        imgtrans output's run: translator, weights, options, seed)}
    GET  /api/s/{sid}/uploads/{uid}    the decoded upload (a video's first frame) as PNG
    POST /api/s/{sid}/jobs             {"kind": "convert" | "labels", "translator", "weights",
                                        "options", "seed", "inputs": [uid...] | "layout": {...}}
    GET  /api/s/{sid}/jobs/{jid}       state, jobs ahead, progress, results, error lines
    POST /api/s/{sid}/jobs/{jid}/cancel     stops within a step or tile; no result is kept
    GET  /api/s/{sid}/jobs/{jid}/files/{n}   one result, in its input's format (see catalog.output_format)
    GET  /api/s/{sid}/jobs/{jid}/zip         every result of the job (built once)
"""

from __future__ import annotations

import contextlib
import json
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.middleware.trustedhost import TrustedHostMiddleware
from starlette.requests import Request
from starlette.responses import FileResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

import imgtrans
from imgtrans.api import ConvertSettings
from imgtrans.errors import ImgtransError, UsageError
from imgtrans.web.catalog import (example_png, offered_weights, output_format, parse_seed,
                                  translator_entry)
from imgtrans.web.folders import remove_stale_roots
from imgtrans.web.jobs import (Job, JobQueue, Session, Sessions, Upload, display_name, link_or_copy,
                               new_id, safe_stem)
from imgtrans.web.responses import (InternalErrors, SameOrigin, SecurityHeaders, http_error,
                                    json_response, read_json, usage_error)
from imgtrans.web.uploads import Receiver
from imgtrans.web.work import run_convert, run_labels

STATIC = Path(__file__).parent / "static"
LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "::1", "[::1]")


@dataclass(frozen=True)
class WebSettings:
    """What the server decides for every job; pages cannot change these."""

    device: str = "auto"
    max_pixels: int = ConvertSettings.max_pixels
    max_upload_bytes: int = 64 << 20
    session_ttl: float = 1800.0
    max_inputs: int = 64
    max_uploads: int = 500
    max_session_bytes: int = 2 << 30
    allow_downloads: bool = False
    """Offer (and fetch) registry weights that are not on this machine yet."""
    decode_slots: int = 1
    """Uploads decoded at once: each may take ~17 bytes per pixel at its peak."""
    batch_pixels: int = 16_000_000
    """Input pixels a job's batch may hold together: jobs with larger images run one at a time."""
    max_video_frames: int = 300
    """Frames a video upload may have (a short clip); 0 refuses videos."""
    tile: int = 128
    """Images larger than this many pixels square run in tiles of it, with translators that
    allow tiles: a cancel is seen between tiles (one forward pass cannot be interrupted)."""


class WebApp:
    """Sessions, the job queue and the request handlers of one server."""

    def __init__(self, settings: WebSettings) -> None:
        from imgtrans.api import max_file_bytes

        self.settings = settings
        self.upload_limit = min(settings.max_upload_bytes, max_file_bytes(settings.max_pixels))
        self.uploads = Receiver(max_pixels=settings.max_pixels, upload_limit=self.upload_limit,
                                session_limit=settings.max_session_bytes,
                                max_uploads=settings.max_uploads, slots=settings.decode_slots,
                                max_video_frames=settings.max_video_frames)
        self.sessions = Sessions(settings.session_ttl)
        self.queue = JobQueue()
        self._labels: dict[tuple[str, str | None], list[str]] = {}

    # -- catalogue ------------------------------------------------------------------------
    def catalog(self, request: Request | None = None) -> Any:
        data = {"version": imgtrans.__version__,
                "translators": [self._entry(t["name"]) for t in imgtrans.list_translators()],
                "limits": {"max_upload_bytes": self.upload_limit,
                           "max_pixels": self.settings.max_pixels,
                           "max_inputs": self.settings.max_inputs,
                           "max_video_frames": self.settings.max_video_frames},
                "downloads": self.settings.allow_downloads}
        return data if request is None else json_response(data)

    async def example(self, request: Request) -> Response:
        """An image of what weights were trained on: only registry weights the catalogue
        offers, by index (never a path); 404 with the reason otherwise."""
        query = request.query_params
        name, weights, index = query.get("translator", ""), query.get("weights", ""), query.get("n", "0")
        try:
            entry = self._translator(name)
        except ImgtransError as exc:
            raise HTTPException(404, " ".join(str(exc).split())) from None
        offered = {w["name"]: w["examples"] for w in entry["weights"]}
        if weights not in offered:
            raise HTTPException(404, f"weights {weights[:80]!r} are not offered for {entry['name']}; "
                                     f"choose one of: {', '.join(offered) or 'none'}")
        count = offered[weights]
        if not (index.isascii() and index.isdigit() and len(index) < 4 and int(index) < count):
            raise HTTPException(404, f"{weights} has {count or 'no'} example image{'s' * (count != 1)}"
                                     f"{f' (n=0 to {count - 1})' if count else ''}: "
                                     f"no example n={index[:20]!r}")
        png = await run_in_threadpool(example_png, weights, int(index))
        return Response(png, media_type="image/png", headers={"Cache-Control": "max-age=3600"})

    # -- sessions and uploads -------------------------------------------------------------
    async def new_session(self, request: Request) -> Response:
        return json_response({"id": self.sessions.create().id}, 201)

    async def ping(self, request: Request) -> Response:
        self._session(request)
        return json_response({"ok": True})

    async def close_session(self, request: Request) -> Response:
        self.sessions.remove(request.path_params["sid"], self.queue)
        return Response(status_code=204)

    async def upload(self, request: Request) -> Response:
        """Raw image bytes -> an upload of the session (see :mod:`imgtrans.web.uploads`)."""
        session = self._session(request)
        name = display_name(request.query_params.get("name", "image"))
        upload = await self.uploads.receive(request, session, name)
        if upload is None:  # the client went away: nobody reads this
            return Response(status_code=400)
        return json_response({"id": upload.id, "name": name, "width": upload.width,
                              "height": upload.height, "made_by": upload.made_by,
                              "frames": upload.frames,
                              "url": f"/api/s/{session.id}/uploads/{upload.id}"}, 201)

    async def upload_file(self, request: Request) -> Response:
        upload = self._upload(self._session(request), request.path_params["uid"])
        return FileResponse(upload.preview, media_type="image/png")

    # -- jobs -----------------------------------------------------------------------------
    async def create_job(self, request: Request) -> Response:
        session = self._session(request)
        body = await read_json(request)
        kind = body.get("kind", "convert")
        if kind not in ("convert", "labels"):
            raise UsageError(f"unknown job kind {kind!r}: convert or labels")
        entry = self._translator(body.get("translator"))
        weights = offered_weights(entry, body.get("weights"))
        jid = new_id()
        job = Job(jid, kind, run=lambda job: None, folder=session.folder / "jobs" / jid)
        job.aliases[str(session.folder)] = "…"
        if kind == "labels":
            job.run = partial(run_labels, name=entry["name"], weights=weights,
                              device=self.settings.device, cache=self._labels,
                              allow_downloads=self.settings.allow_downloads)
        else:
            options = self._options(entry, body.get("options") or {}, session, job)
            seed = parse_seed(body.get("seed"))  # every check before the job's folder is made
            sources = self._inputs(entry, body, session, job)
            settings = ConvertSettings(plugin=entry["name"], weights=weights, options=options,
                                       device=self.settings.device, seed=seed,
                                       overwrite=True, workers=1,
                                       output_format=output_format(entry, sources),
                                       batch_size=self._batch_size(sources),
                                       tile=self._tile(entry, sources),
                                       max_pixels=self.settings.max_pixels,
                                       allow_downloads=self.settings.allow_downloads)
            job.run = partial(run_convert, settings=settings, sources=sources,
                              urls=f"/api/s/{session.id}")
        session.jobs[jid] = job
        self.queue.submit(job)
        return json_response({"id": jid}, 202)

    async def job_status(self, request: Request) -> Response:
        job = self._job(request)
        return json_response(job.snapshot(self.queue.ahead(job)))

    async def cancel_job(self, request: Request) -> Response:
        job = self._job(request)
        self.queue.cancel(job)
        return json_response(job.snapshot(self.queue.ahead(job)))

    async def job_file(self, request: Request) -> Response:
        job = self._job(request)
        index = request.path_params["n"]
        if not 0 <= index < len(job.files):
            raise HTTPException(404, "no such result")
        return FileResponse(job.files[index])  # the type from the name: PNG, JPEG, WebP or BMP

    async def job_zip(self, request: Request) -> Response:
        job = self._job(request)
        if job.active:
            raise HTTPException(409, "the job is still running")
        if not job.results:
            raise HTTPException(404, "this job has no results")
        target = await run_in_threadpool(job.zip_file)
        return FileResponse(target, media_type="application/zip",
                            filename=f"imgtrans-{job.id}.zip")

    # -- checking what a page asks for ----------------------------------------------------
    def _translator(self, name: Any) -> dict[str, Any]:
        if not isinstance(name, str) or not name:
            raise UsageError("choose a translator")
        return self._entry(name)  # an unknown name raises the CLI's error, with suggestions

    def _entry(self, name: str) -> dict[str, Any]:
        return translator_entry(name, self.settings.allow_downloads)

    def _tile(self, entry: dict[str, Any], sources: dict[str, Any]) -> int:
        """:attr:`WebSettings.tile` when the translator allows tiles and an input is larger."""
        side = max((max(u.width, u.height) for _, u, _ in sources.values() if u is not None), default=0)
        return self.settings.tile if entry["fully_convolutional"] and side > self.settings.tile else 0

    def _batch_size(self, sources: dict[str, Any]) -> int | str:
        """"auto" when a full batch of the job's largest input fits :attr:`WebSettings.batch_pixels`,
        else as many as fit (at least 1): a budgeted few large images at a time."""
        largest = max((u.width * u.height for _, u, _ in sources.values() if u is not None), default=0)
        if largest * 8 <= self.settings.batch_pixels:
            return "auto"
        return max(1, self.settings.batch_pixels // max(1, largest))

    def _options(self, entry: dict[str, Any], raw: Any, session: Session, job: Job) -> dict[str, str]:
        """Page values as ``--opt`` strings, checked by ``build_options`` as ``--opt`` is; an
        option that takes a file gets the path of one of the session's uploads."""
        from imgtrans.api import check_options

        if not isinstance(raw, dict):
            raise UsageError("options must be an object of name: value")
        takes_file = {o["name"] for o in entry["options"] if o["file"]}
        options: dict[str, str] = {}
        for key, value in raw.items():
            if key in takes_file:
                if not (isinstance(value, dict) and isinstance(value.get("upload"), str)):
                    raise UsageError(f"option {key!r} takes a file: choose one of your uploads")
                upload = self._upload(session, value["upload"])
                options[key] = str(upload.path)
                job.aliases[str(upload.path)] = upload.name
            elif isinstance(value, (dict, list)):
                raise UsageError(f"option {key}: expected one value")
            else:
                options[key] = ("true" if value else "false") if isinstance(value, bool) \
                    else "none" if value is None else str(value)
        check_options(entry["name"], options)
        return options

    def _inputs(self, entry: dict[str, Any], body: dict[str, Any], session: Session,
                job: Job) -> dict[str, Any]:
        """Fill the job's input folder: links to uploads, or the layout as a JSON file.
        Returns file name -> (name shown to the user, upload or None, order)."""
        in_dir = job.folder / "in"
        in_dir.mkdir(parents=True)
        job.aliases[str(in_dir) + "/"] = ""
        if entry["input_kind"] == "layout":
            layout = body.get("layout")
            if not isinstance(layout, (dict, list)):
                raise UsageError(f"{entry['name']} translates layouts: send one as \"layout\"")
            name = safe_stem(layout.get("name", "layout") if isinstance(layout, dict) else "layout")
            (in_dir / f"{name}.json").write_text(json.dumps(layout), encoding="utf-8")
            return {f"{name}.json": (f"{name}.json", None, 0)}
        ids = body.get("inputs")
        if not isinstance(ids, list) or not ids:
            raise UsageError("add at least one image")
        if len(ids) > self.settings.max_inputs:
            raise UsageError(f"at most {self.settings.max_inputs} images per run")
        sources: dict[str, Any] = {}
        for order, uid in enumerate(ids):
            upload = self._upload(session, uid)
            stem, n = safe_stem(Path(upload.name).stem), 1
            while any(Path(f).stem.casefold() == stem.casefold() for f in sources):
                n += 1
                stem = f"{safe_stem(Path(upload.name).stem)}-{n}"
            file = f"{stem}{upload.path.suffix}"
            link_or_copy(upload.path, in_dir / file)
            sources[file] = (upload.name, upload, order)
        return sources

    def _session(self, request: Request) -> Session:
        session = self.sessions.get(request.path_params["sid"])
        if session is None:
            raise HTTPException(404, "this page's session has expired: reload the page")
        return session

    @staticmethod
    def _upload(session: Session, uid: Any) -> Upload:
        upload = session.uploads.get(uid) if isinstance(uid, str) else None
        if upload is None:
            raise HTTPException(404, "unknown upload (was the page reloaded?)")
        return upload

    def _job(self, request: Request) -> Job:
        job = self._session(request).jobs.get(request.path_params["jid"])
        if job is None:
            raise HTTPException(404, "no such job")
        return job


def create_app(settings: WebSettings | None = None, *,
               allowed_hosts: tuple[str, ...] | None = LOOPBACK_HOSTS) -> Starlette:
    """The ASGI app. ``allowed_hosts`` guards a loopback server against DNS rebinding
    (None: any Host header, for an explicit ``--host``). Its temporary folder is removed
    at shutdown (the lifespan's end)."""
    web = WebApp(settings or WebSettings())

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette):
        remove_stale_roots()  # of earlier servers that were killed
        web.sessions.start_janitor(min(60.0, max(1.0, web.settings.session_ttl / 4)))
        try:
            yield
        finally:
            web.queue.close()
            web.sessions.close()

    routes = [
        Route("/", lambda request: FileResponse(STATIC / "index.html")),
        Mount("/static", StaticFiles(directory=STATIC), name="static"),
        Route("/api/catalog", web.catalog),
        Route("/api/examples", web.example),
        Route("/api/sessions", web.new_session, methods=["POST"]),
        Route("/api/s/{sid}", web.ping),
        Route("/api/s/{sid}/close", web.close_session, methods=["POST"]),
        Route("/api/s/{sid}/uploads", web.upload, methods=["POST"]),
        Route("/api/s/{sid}/uploads/{uid}", web.upload_file),
        Route("/api/s/{sid}/jobs", web.create_job, methods=["POST"]),
        Route("/api/s/{sid}/jobs/{jid}", web.job_status),
        Route("/api/s/{sid}/jobs/{jid}/cancel", web.cancel_job, methods=["POST"]),
        Route("/api/s/{sid}/jobs/{jid}/files/{n:int}", web.job_file),
        Route("/api/s/{sid}/jobs/{jid}/zip", web.job_zip),
    ]
    middleware = [Middleware(SecurityHeaders), Middleware(InternalErrors), Middleware(SameOrigin)]
    if allowed_hosts is not None:
        middleware.insert(2, Middleware(TrustedHostMiddleware, allowed_hosts=list(allowed_hosts)))
    app = Starlette(routes=routes, middleware=middleware, lifespan=lifespan,
                    exception_handlers={HTTPException: http_error, ImgtransError: usage_error})
    app.state.web = web
    return app
