"""Helpers of the web app tests (a plain module the test files import): images as PNG bytes,
and polling a job to its end."""

from __future__ import annotations

import time

import cv2
import numpy as np
import pytest


def png_bytes(rgb: np.ndarray) -> bytes:
    ok, data = cv2.imencode(".png", cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR))
    assert ok
    return data.tobytes()


def decode_png(data: bytes) -> np.ndarray:
    """RGB(A) pixels of PNG bytes."""
    pixels = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_UNCHANGED)
    return cv2.cvtColor(pixels, cv2.COLOR_BGRA2RGBA if pixels.shape[2] == 4 else cv2.COLOR_BGR2RGB)


def photo(height: int = 48, width: int = 64, seed: int = 0) -> np.ndarray:
    """A smooth test picture with some texture (random noise compresses badly)."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:height, 0:width]
    rgb = np.stack([x * 255 // max(1, width - 1), y * 255 // max(1, height - 1),
                    (x + y) * 127 // max(1, width + height)], axis=-1)
    return np.clip(rgb + rng.integers(0, 24, rgb.shape), 0, 255).astype(np.uint8)


def wait_job(client, sid: str, jid: str, timeout: float = 120.0) -> dict:
    """Poll a job (through an httpx-like client) until it ends; its last snapshot."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        job = client.get(f"/api/s/{sid}/jobs/{jid}").json()
        if job["state"] not in ("queued", "running"):
            return job
        time.sleep(0.05)
    pytest.fail(f"job {jid} did not finish in {timeout} s")


class LiveServer:
    """``app`` served by uvicorn on a free 127.0.0.1 port in a thread (``with`` starts and
    stops it, running the app's lifespan); ``url`` is its address, ``origin`` what its pages
    send as ``Origin``."""

    def __init__(self, app) -> None:
        import socket

        import uvicorn

        self.app = app
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        self.url = self.origin = f"http://127.0.0.1:{self.port}"
        self.server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="on"))

    def __enter__(self) -> "LiveServer":
        import threading

        self.thread = threading.Thread(target=self.server.run, kwargs={"sockets": [self.sock]},
                                       daemon=True)
        self.thread.start()
        deadline = time.monotonic() + 30
        while not self.server.started:
            assert time.monotonic() < deadline and self.thread.is_alive(), "the server did not start"
            time.sleep(0.02)
        return self

    def __exit__(self, *exc_info) -> None:
        self.server.should_exit = True
        self.thread.join(15)
