"""Issue 26, against a real server (uvicorn on 127.0.0.1): cancel stops running jobs within
about two seconds and keeps no partial results, aborted uploads leave nothing, concurrent
zip downloads are all complete, uploads are decoded one at a time, and a killed server's
temporary folder goes at the next start."""

from __future__ import annotations

import io
import os
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import zipfile

import pytest

pytest.importorskip("starlette", reason="the web extra is not installed (pip install 'imgtrans[web]')")
pytest.importorskip("uvicorn", reason="the web extra is not installed (pip install 'imgtrans[web]')")
httpx = pytest.importorskip("httpx", reason="the test extra is not installed")

from imgtrans.web.server import WebSettings, create_app  # noqa: E402
from imgtrans_testenv import subprocess_env  # noqa: E402
from webapp_support import LiveServer, photo, png_bytes, wait_job  # noqa: E402

pytestmark = pytest.mark.usefixtures("one_torch_thread")


@pytest.fixture
def own_tmp(tmp_path, monkeypatch):
    """The servers' temporary folders go under ``tmp_path`` (not the shared /tmp)."""
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    return tmp_path


@pytest.fixture
def live(own_tmp):
    """``live(**WebSettings fields)`` -> (server, httpx client with the page's Origin, sid)."""
    opened = []

    def start(**settings):
        server = LiveServer(create_app(WebSettings(device="cpu", **settings))).__enter__()
        client = httpx.Client(base_url=server.url, headers={"Origin": server.origin}, timeout=60)
        opened.append((server, client))
        return server, client, client.post("/api/sessions").json()["id"]

    yield start
    for server, client in opened:
        client.close()
        server.__exit__(None, None, None)


def _upload(client, sid, rgb, name="a.png"):
    reply = client.post(f"/api/s/{sid}/uploads", params={"name": name}, content=png_bytes(rgb))
    assert reply.status_code == 201, reply.text
    return reply.json()["id"]


def _until(client, sid, jid, test, timeout=120.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        job = client.get(f"/api/s/{sid}/jobs/{jid}").json()
        if test(job):
            return job
        time.sleep(0.05)
    pytest.fail(f"job {jid} never got there: {job}")


def _cancel_seconds(client, sid, jid):
    """Cancel a running job; seconds until it reports cancelled."""
    _until(client, sid, jid, lambda j: j["stage"] == "converting")
    time.sleep(0.5)  # well inside the denoising loop / the tiles
    start = time.monotonic()
    assert client.post(f"/api/s/{sid}/jobs/{jid}/cancel").status_code == 200
    job = _until(client, sid, jid, lambda j: j["state"] != "running", timeout=30)
    assert job["state"] == "cancelled" and job["results"] == [], job
    return time.monotonic() - start


def test_cancel_stops_a_long_sdedit_job_and_the_queue_moves_on(live):
    """repeats=100 of 1000 steps would run for hours: cancel takes effect within a step, the
    job keeps no file, and another page's job queued behind it runs."""
    server, client, sid = live()
    web = server.app.state.web
    uid = _upload(client, sid, photo(32, 32))
    jid = client.post(f"/api/s/{sid}/jobs", json={
        "kind": "convert", "translator": "sdedit", "inputs": [uid],
        "options": {"steps": "1000", "strength": "1", "repeats": "100", "samples": "2"}}).json()["id"]
    other = client.post("/api/sessions").json()["id"]
    waiting = client.post(f"/api/s/{other}/jobs", json={
        "kind": "convert", "translator": "resize", "options": {"scale": "2"},
        "inputs": [_upload(client, other, photo(8, 8))]}).json()["id"]
    assert client.get(f"/api/s/{other}/jobs/{waiting}").json()["ahead"] == 1
    assert _cancel_seconds(client, sid, jid) < 2.0
    folder = web.sessions.get(sid).jobs[jid].folder
    assert not (folder / "out").exists() or not any((folder / "out").rglob("*"))
    assert wait_job(client, other, waiting)["state"] == "done"


def test_cancel_stops_a_tiled_super_resolution_job_between_tiles(live):
    server, client, sid = live(tile=32)
    uid = _upload(client, sid, photo(192, 192))  # 36 tiles
    jid = client.post(f"/api/s/{sid}/jobs", json={
        "kind": "convert", "translator": "srgan", "inputs": [uid]}).json()["id"]
    assert _cancel_seconds(client, sid, jid) < 2.0
    assert client.get(f"/api/s/{sid}/jobs/{jid}/zip").status_code == 404


def test_ctrl_c_and_cancel_are_one_flag(tmp_path):
    """The CLI's Ctrl-C sets the same stop flag (``convert(stop=...)``) the web's cancel
    does: a tiled conversion stops between tiles, and leaves no output."""
    import imgtrans

    source = tmp_path / "big.png"
    source.write_bytes(png_bytes(photo(192, 192)))
    stop, started, asked = threading.Event(), threading.Event(), []

    def press_ctrl_c():
        if started.wait(120):
            time.sleep(0.5)
            asked.append(time.monotonic())
            stop.set()

    presser = threading.Thread(target=press_ctrl_c)
    presser.start()
    report = imgtrans.convert(source, tmp_path / "out", plugin="srgan", tile=32, device="cpu",
                              stop=stop, on_start=lambda info: started.set())
    returned = time.monotonic()
    presser.join()
    assert asked and returned - asked[0] < 2.0
    assert report.interrupted and [i.status for i in report.items] == ["interrupted"]
    assert not (tmp_path / "out").exists() or not any((tmp_path / "out").iterdir())


def test_an_aborted_upload_is_counted_then_removed_at_once(live, caplog):
    server, client, sid = live(max_session_bytes=3_000_000)
    session = server.app.state.web.sessions.get(sid)
    uploads = session.folder / "uploads"
    with socket.create_connection(("127.0.0.1", server.port)) as raw:
        raw.sendall((f"POST /api/s/{sid}/uploads?name=big.png HTTP/1.1\r\nHost: 127.0.0.1:{server.port}\r\n"
                     f"Origin: {server.origin}\r\nContent-Length: 2500000\r\n\r\n").encode())
        raw.sendall(b"\0" * 2_000_000)
        deadline = time.monotonic() + 20
        while session.held_bytes < 2_000_000:
            assert time.monotonic() < deadline
            time.sleep(0.02)
        assert len(list(uploads.glob("*.part"))) == 1
        # while it lasts, it counts: a second upload of 1.5 MB does not fit beside it
        refused = client.post(f"/api/s/{sid}/uploads", content=b"\0" * 1_500_000)
        assert refused.status_code in (409, 413), refused.text
    deadline = time.monotonic() + 5
    while list(uploads.iterdir()) or session.receiving:
        assert time.monotonic() < deadline, list(uploads.iterdir())
        time.sleep(0.02)
    assert session.held_bytes == 0
    assert _upload(client, sid, photo(16, 16))  # the room is back
    assert not [r for r in caplog.records if r.levelname in ("ERROR", "CRITICAL")]


def test_concurrent_zip_downloads_are_all_complete(live):
    server, client, sid = live()
    uids = [_upload(client, sid, photo(40, 60, seed=i), name=f"p{i}.png") for i in range(4)]
    jid = client.post(f"/api/s/{sid}/jobs", json={
        "kind": "convert", "translator": "resize", "options": {"scale": "4"}, "inputs": uids}).json()["id"]
    assert wait_job(client, sid, jid)["state"] == "done"
    bodies: list[bytes] = []

    def download():
        with httpx.Client(base_url=server.url, timeout=60) as one:
            reply = one.get(f"/api/s/{sid}/jobs/{jid}/zip")
            assert reply.status_code == 200
            bodies.append(reply.content)

    threads = [threading.Thread(target=download) for _ in range(12)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert len(bodies) == 12 and len(set(bodies)) == 1
    with zipfile.ZipFile(io.BytesIO(bodies[0])) as archive:
        assert archive.testzip() is None
        assert sorted(archive.namelist()) == [f"p{i}.png" for i in range(4)]


def test_uploads_are_decoded_one_at_a_time(live):
    server, client, sid = live()
    receiver = server.app.state.web.uploads
    data = png_bytes(photo(1200, 1600))
    replies: list[int] = []

    def send(i):
        with httpx.Client(base_url=server.url, headers={"Origin": server.origin}, timeout=120) as one:
            replies.append(one.post(f"/api/s/{sid}/uploads", params={"name": f"{i}.png"},
                                    content=data).status_code)

    threads = [threading.Thread(target=send, args=(i,)) for i in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    assert replies == [201] * 4
    assert receiver.most_decoding == 1


def test_a_killed_servers_folder_goes_at_the_next_start(own_tmp, live):
    """Only folders of a server that no longer runs, recognisably ours, are removed."""
    code = ("import sys, tempfile, time; tempfile.tempdir = sys.argv[1]\n"
            "from imgtrans.web.jobs import Sessions\n"
            "s = Sessions(60); s.create(); print(s.root, flush=True); time.sleep(300)")
    killed = subprocess.Popen([sys.executable, "-c", code, str(own_tmp)], stdout=subprocess.PIPE,
                              text=True, env=subprocess_env())
    alive = subprocess.Popen([sys.executable, "-c", code, str(own_tmp)], stdout=subprocess.PIPE,
                             text=True, env=subprocess_env())
    try:
        dead_root = killed.stdout.readline().strip()
        live_root = alive.stdout.readline().strip()
        assert os.path.isdir(dead_root) and os.path.isdir(live_root)
        os.kill(killed.pid, signal.SIGKILL)
        killed.wait(30)
        stranger = own_tmp / "imgtrans-web-not-ours"
        stranger.mkdir()
        server, _, _ = live()
        assert not os.path.exists(dead_root)
        assert os.path.isdir(live_root) and stranger.is_dir()
        assert server.app.state.web.sessions.root.is_dir()
    finally:
        alive.kill()
        alive.wait(30)
