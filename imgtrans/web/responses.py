"""The web app's HTTP plumbing: JSON responses and errors, bounded JSON bodies, the headers
every response carries, and the refusal of requests that another site's page sends.

Everything here is ASGI middleware or a small helper, so that no request, however malformed,
gets anything but a JSON error with the app's headers: an exception nobody expected becomes
a JSON 500 inside the header middleware (Starlette's own 500 page is outside it, plain text,
without the headers).
"""

from __future__ import annotations

import json
import logging
from typing import Any
from urllib.parse import urlsplit

from starlette.exceptions import HTTPException
from starlette.requests import ClientDisconnect, Request
from starlette.responses import Response

log = logging.getLogger(__name__)

JSON_LIMIT = 1 << 20
JSON_DEPTH = 32
"""Deepest nesting a request may have: a layout is 4 levels deep; 100,000 ``[`` would make
the parser recurse until Python gives up."""
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
_CSP = ("default-src 'self'; img-src 'self' blob: data:; style-src 'self'; script-src 'self'; "
        "connect-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'")


class SecurityHeaders:
    """Pages may load only what this server serves (no CDN can sneak in), and are never
    framed; API responses are never cached (they hold one session's state)."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        api = scope.get("path", "").startswith("/api/")

        async def send_with_headers(message: Any) -> None:
            if message["type"] == "http.response.start":
                message.setdefault("headers", [])
                message["headers"] += [(b"content-security-policy", _CSP.encode()),
                                       (b"x-content-type-options", b"nosniff"),
                                       (b"referrer-policy", b"no-referrer")]
                if api:
                    message["headers"].append((b"cache-control", b"no-store"))
            await send(message)

        await self.app(scope, receive, send_with_headers)


class SameOrigin:
    """Requests that change state (anything but GET, HEAD, OPTIONS) must come from the app's
    own pages: their ``Origin`` must name this server (the ``Host`` the request was sent to).
    A browser always sends ``Origin`` with such requests, and another site cannot forge it;
    a missing one is refused too (``Content-Type: text/plain`` needs no preflight, so CORS
    alone does not stop a foreign page from posting)."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "http" and scope["method"] not in SAFE_METHODS:
            headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
            reason = origin_problem(headers.get("origin"), headers.get("host"))
            if reason is not None:
                await json_response({"error": reason}, 403)(scope, receive, send)
                return
        await self.app(scope, receive, send)


def origin_problem(origin: str | None, host: str | None) -> str | None:
    """Why a state-changing request with this ``Origin`` and ``Host`` is refused, or None."""
    if not origin:
        return "refused: the request has no Origin header (only this app's pages may change things)"
    parts = urlsplit(origin)
    if (parts.scheme not in ("http", "https") or not host
            or parts.netloc.lower() != host.strip().lower()):
        shown = origin if len(origin) <= 100 else origin[:99] + "…"
        return f"refused: the request comes from another site ({shown})"
    return None


class InternalErrors:
    """An exception that no handler turned into a response becomes a JSON 500 (logged with
    its traceback), inside :class:`SecurityHeaders` so it carries the headers."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def tracked(message: Any) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, receive, tracked)
        except ClientDisconnect:
            log.debug("client went away during %s %s", scope["method"], scope.get("path"))
        except Exception:
            log.exception("internal error in %s %s", scope["method"], scope.get("path"))
            if not started:
                await json_response({"error": "internal error (see the server's log)"}, 500)(
                    scope, receive, send)


def json_response(data: Any, status: int = 200) -> Response:
    return Response(json.dumps(data, default=str), status, media_type="application/json")


async def http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    return json_response({"error": exc.detail}, exc.status_code)


async def usage_error(request: Request, exc: Exception) -> Response:
    return json_response({"error": " ".join(str(exc).split())}, 400)


async def read_json(request: Request) -> dict[str, Any]:
    """The body as a JSON object: at most :data:`JSON_LIMIT` bytes and :data:`JSON_DEPTH`
    levels; anything else is a 4xx with one line saying why."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > JSON_LIMIT:
        raise HTTPException(413, f"request too large: more than {JSON_LIMIT} bytes")
    body = bytearray()
    try:
        async for chunk in request.stream():
            body += chunk
            if len(body) > JSON_LIMIT:
                raise HTTPException(413, f"request too large: more than {JSON_LIMIT} bytes")
    except ClientDisconnect:
        raise HTTPException(400, "the request was cut off") from None
    if _too_deep(body):
        raise HTTPException(400, f"the request is nested deeper than {JSON_DEPTH} levels")
    try:
        data = json.loads(body)
    except (ValueError, RecursionError):
        raise HTTPException(400, "the request is not JSON") from None
    if not isinstance(data, dict):
        raise HTTPException(400, "the request must be a JSON object")
    return data


def _too_deep(body: bytes | bytearray) -> bool:
    """Whether brackets outside strings nest deeper than :data:`JSON_DEPTH` (a scan, before
    the recursive parser sees them)."""
    depth, in_string, escaped = 0, False, False
    for byte in body:
        if in_string:
            if escaped:
                escaped = False
            elif byte == 0x5C:  # backslash
                escaped = True
            elif byte == 0x22:  # quote
                in_string = False
        elif byte == 0x22:
            in_string = True
        elif byte in (0x5B, 0x7B):  # [ {
            depth += 1
            if depth > JSON_DEPTH:
                return True
        elif byte in (0x5D, 0x7D):
            depth -= 1
    return False
