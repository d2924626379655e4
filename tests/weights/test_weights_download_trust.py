"""Downloads that can be trusted: nothing incomplete is cached, a hash is recorded at the
first download and checked at every use, stalled or endless transfers end, and a stop
request ends a download at once."""

from __future__ import annotations

import socket
import struct
import threading
import time

import pytest

from imgtrans.errors import WeightsError
from imgtrans.weights.cache import cache_path_for, recorded_sha256, sha256_file
from imgtrans.weights.download import download, incomplete_reason
from imgtrans.weights.resolve import fetch_url


def _safetensors(payload_len: int) -> bytes:
    header = ('{"w":{"dtype":"U8","shape":[%d],"data_offsets":[0,%d]}}' % (payload_len, payload_len)).encode()
    return struct.pack("<Q", len(header)) + header + bytes(range(256)) * (payload_len // 256) + bytes(payload_len % 256)


class RawServer:
    """A one-file server on 127.0.0.1 that misbehaves on purpose: ``body`` is sent without a
    Content-Length and the connection closed (``cut`` bytes early), or trickled."""

    def __init__(self, body: bytes, cut: int = 0, trickle: float = 0.0, hang: bool = False) -> None:
        self.body, self.cut, self.trickle, self.hang = body, cut, trickle, hang
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(4)
        self.url = f"http://127.0.0.1:{self.sock.getsockname()[1]}/w/model.safetensors"
        self.closed = threading.Event()
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        while not self.closed.is_set():
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            with conn:
                conn.recv(65536)
                if self.hang:
                    self.closed.wait(10)
                    continue
                conn.sendall(b"HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n")
                body = self.body[: len(self.body) - self.cut]
                try:
                    if self.trickle:
                        for i in range(len(body)):
                            if self.closed.wait(self.trickle):
                                break
                            conn.sendall(body[i:i + 1])
                    else:
                        conn.sendall(body)
                except OSError:
                    pass

    def close(self) -> None:
        self.closed.set()
        self.sock.close()


@pytest.fixture
def raw_server():
    servers = []

    def make(*args, **kwargs):
        servers.append(RawServer(*args, **kwargs))
        return servers[-1]

    yield make
    for server in servers:
        server.close()


def test_a_cut_download_without_content_length_is_never_cached(raw_server):
    server = raw_server(_safetensors(4096), cut=1000)
    with pytest.raises(WeightsError, match="arrived incomplete.*declares"):
        fetch_url(server.url)
    path = cache_path_for(server.url)
    assert not path.exists() and list(path.parent.iterdir()) == []


def test_incomplete_zip_checkpoints_are_recognised(tmp_path):
    import torch

    whole = tmp_path / "m.pth"
    torch.save({"w": torch.zeros(100)}, whole)
    assert incomplete_reason(whole) is None
    cut = tmp_path / "cut.pth"
    cut.write_bytes(whole.read_bytes()[:-200])
    assert "end record" in incomplete_reason(cut)


def test_hash_recorded_at_first_download_and_checked_at_every_use(http_server):
    url, sha = http_server.add("/w/m.pth", b"first version of the weights")
    path = fetch_url(url)
    assert recorded_sha256(path) == sha
    path.write_bytes(b"first version of the weightZ")  # corrupted on disk
    with pytest.raises(WeightsError, match="is corrupt"):
        fetch_url(url, download_ok=False)
    assert fetch_url(url).read_bytes() == b"first version of the weights"  # fetched again
    assert http_server.requests.count("/w/m.pth") == 2


def test_a_stalled_server_times_out(raw_server):
    server = raw_server(b"", hang=True)
    started = time.monotonic()
    with pytest.raises(WeightsError, match="could not download"):
        download(server.url, cache_path_for(server.url), timeout=0.5)
    assert time.monotonic() - started < 5


def test_a_trickling_server_is_stopped_by_the_stall_limit_and_the_deadline(raw_server, tmp_path):
    server = raw_server(_safetensors(4096), trickle=0.05)  # about 20 bytes/s: under 1 KB per second
    with pytest.raises(WeightsError, match="stalled"):
        download(server.url, tmp_path / "a", timeout=1.0)
    server = raw_server(_safetensors(4096), trickle=0.0005)
    with pytest.raises(WeightsError, match="deadline"):
        download(server.url, tmp_path / "b", timeout=10, deadline=0.5)
    assert not (tmp_path / "a").exists() and not (tmp_path / "b").exists()


def test_a_stop_request_ends_the_download_at_once(raw_server, tmp_path):
    server = raw_server(_safetensors(4096), trickle=0.01)
    stop = threading.Event()
    threading.Timer(0.3, stop.set).start()
    started = time.monotonic()
    with pytest.raises(KeyboardInterrupt):
        download(server.url, tmp_path / "m", should_stop=stop.is_set, timeout=10)
    assert time.monotonic() - started < 3
    assert list(tmp_path.iterdir()) == []


def test_timeouts_come_from_the_environment(raw_server, monkeypatch, tmp_path):
    server = raw_server(b"", hang=True)
    monkeypatch.setenv("IMGTRANS_DOWNLOAD_TIMEOUT", "0.3")
    with pytest.raises(WeightsError):
        download(server.url, tmp_path / "m")
    monkeypatch.setenv("IMGTRANS_DOWNLOAD_TIMEOUT", "soon")
    with pytest.raises(WeightsError, match="IMGTRANS_DOWNLOAD_TIMEOUT"):
        download(server.url, tmp_path / "m")


def test_legacy_cached_files_get_a_hash_recorded(http_server):
    url, sha = http_server.add("/w/old.pth", b"cached before hashes were recorded")
    path = cache_path_for(url)
    path.parent.mkdir(parents=True)
    path.write_bytes(b"cached before hashes were recorded")
    assert fetch_url(url, download_ok=False) == path and recorded_sha256(path) == sha
    assert sha256_file(path) == sha
