"""Fixtures for the weights tests: a local HTTP server and an isolated cache, so no test
touches the network or the user's real cache."""

from __future__ import annotations

import hashlib
import socket
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest


@dataclass
class FileServer:
    """Serves ``files`` (URL path → bytes) and records every requested path."""

    base: str
    files: dict[str, bytes] = field(default_factory=dict)
    requests: list[str] = field(default_factory=list)
    truncated: set[str] = field(default_factory=set)
    """Paths whose response claims twice its real length, then closes the connection."""

    def add(self, path: str, data: bytes) -> tuple[str, str]:
        """Serve ``data`` at ``path``; return its URL and sha256."""
        self.files[path] = data
        return self.base + path, hashlib.sha256(data).hexdigest()


@pytest.fixture
def http_server():
    server = ThreadingHTTPServer(("127.0.0.1", 0), BaseHTTPRequestHandler)
    state = FileServer(base=f"http://127.0.0.1:{server.server_address[1]}")

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802 (http.server naming)
            state.requests.append(self.path)
            data = state.files.get(self.path)
            if data is None:
                self.send_error(404, "Not Found")
                return
            self.send_response(200)
            claimed = 2 * len(data) if self.path in state.truncated else len(data)
            self.send_header("Content-Length", str(claimed))
            self.send_header("Connection", "close")
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *args):
            pass

    server.RequestHandlerClass = Handler
    thread = threading.Thread(target=server.serve_forever, args=(0.02,), daemon=True)
    thread.start()
    yield state
    server.shutdown()
    server.server_close()
    thread.join()


@pytest.fixture
def closed_port() -> int:
    """A local port nothing listens on (connections are refused)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(autouse=True)
def isolated_cache(tmp_path, monkeypatch):
    """Every test gets its own empty cache folder."""
    cache = tmp_path / "cache"
    monkeypatch.setenv("IMGTRANS_CACHE_DIR", str(cache))
    return cache
