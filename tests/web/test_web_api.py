"""The web app's endpoints without a browser (Starlette's TestClient): uploads and their
limits, option validation as ``--opt``, path safety, the job queue, session clean-up."""

from __future__ import annotations

import time

import numpy as np
import pytest

pytest.importorskip("starlette", reason="the web extra is not installed (pip install 'imgtrans[web]')")
pytest.importorskip("httpx", reason="Starlette's TestClient needs httpx (the test extra)")

from starlette.testclient import TestClient  # noqa: E402

from imgtrans.errors import UsageError  # noqa: E402
from imgtrans.translators.options import build_options  # noqa: E402
from imgtrans.web.jobs import Job, Sessions  # noqa: E402
from imgtrans.web.server import WebSettings, create_app  # noqa: E402
from webapp_support import decode_png, photo, png_bytes, wait_job  # noqa: E402

BASE = "http://127.0.0.1"


@pytest.fixture
def make_client():
    """``make_client(**WebSettings fields)`` -> (client, web state, session id); the server
    stops (lifespan end) after the test."""
    stack = []

    def make(**settings):
        app = create_app(WebSettings(device="cpu", **settings))
        client = TestClient(app, base_url=BASE, headers={"Origin": BASE})
        client.__enter__()
        stack.append(client)
        sid = client.post("/api/sessions").json()["id"]
        return client, app.state.web, sid

    yield make
    for client in stack:
        client.__exit__(None, None, None)


def upload(client, sid, data: bytes, name="a.png"):
    return client.post(f"/api/s/{sid}/uploads", params={"name": name}, content=data)


def submit(client, sid, **body):
    return client.post(f"/api/s/{sid}/jobs", json={"kind": "convert", **body})


def test_catalog_offers_options_and_weights(make_client):
    client, _, _ = make_client()
    catalog = client.get("/api/catalog").json()
    by_name = {t["name"]: t for t in catalog["translators"]}
    sdedit = by_name["sdedit"]
    options = {o["name"]: o for o in sdedit["options"]}
    assert options["mask"]["file"] and not options["strength"]["file"]
    assert {"ddim", "ddpm"} <= set(options["scheduler"]["choices"])
    bundled = [w for w in sdedit["weights"] if w["source"] == "bundled"]
    assert bundled and bundled[0]["default"]
    assert by_name["layout2im"]["input_kind"] == "layout"
    assert catalog["limits"]["max_pixels"] == WebSettings().max_pixels


def test_upload_is_decoded_and_previewed(make_client):
    client, web, sid = make_client()
    rgb = photo(20, 30)
    reply = upload(client, sid, png_bytes(rgb), name="../../../etc/cat.png")
    assert reply.status_code == 201, reply.text
    data = reply.json()
    assert (data["name"], data["width"], data["height"]) == ("cat.png", 30, 20)
    preview = client.get(data["url"])
    assert preview.headers["content-type"] == "image/png"
    assert np.array_equal(decode_png(preview.content), rgb)
    session = web.sessions.get(sid)
    for path in session.folder.rglob("*"):  # everything stays in the session's folder
        assert path.resolve().is_relative_to(session.folder.resolve())
    assert not (session.folder.parent / "etc").exists()


def test_upload_limits_bytes_pixels_and_content(make_client):
    client, _, sid = make_client(max_upload_bytes=4000, max_pixels=40 * 40)
    big = upload(client, sid, b"\0" * 5000, name="big.png")
    assert big.status_code == 413
    assert big.json()["error"] == "big.png: too large: more than the upload limit of 4000 bytes"
    many = upload(client, sid, png_bytes(np.zeros((50, 50, 3), np.uint8)), name="many.png")
    assert many.status_code == 400
    assert many.json()["error"] == ("many.png: too large: 50×50 pixels exceeds the limit of 1600 "
                                    "(decompression bomb?)")
    text = upload(client, sid, b"hello, world", name="notes.png")
    assert (text.status_code, text.json()["error"]) == (400, "notes.png: not an image (unrecognised format)")
    cut = upload(client, sid, png_bytes(photo(10, 10))[:-12], name="cut.png")
    assert cut.json()["error"] == "cut.png: truncated PNG (missing IEND chunk)"


def test_a_page_cannot_fill_the_disk(make_client):
    data = png_bytes(photo(10, 10))
    client, _, sid = make_client(max_session_bytes=2 * len(data))
    assert [upload(client, sid, data).status_code for _ in range(3)] == [201, 201, 409]
    assert "reload it to start afresh" in upload(client, sid, data).json()["error"]


@pytest.mark.parametrize("options", [{"scal": "2"}, {"scale": "two"}, {"scale": "99"},
                                     {"interpolation": "lanczos"}])
def test_options_are_checked_as_opt_is(make_client, options):
    from imgtrans.plugins.manager import get_translator

    client, _, sid = make_client()
    uid = upload(client, sid, png_bytes(photo())).json()["id"]
    reply = submit(client, sid, translator="resize", options=options, inputs=[uid])
    with pytest.raises(UsageError) as expected:
        build_options(get_translator("resize").Options, options, translator="resize")
    assert (reply.status_code, reply.json()["error"]) == (400, str(expected.value))


def test_no_endpoint_reads_server_paths(make_client, tmp_path):
    client, _, sid = make_client()
    secret = tmp_path / "secret.png"
    secret.write_bytes(png_bytes(photo()))
    uid = upload(client, sid, png_bytes(photo())).json()["id"]
    weights = submit(client, sid, translator="srgan", weights=str(secret), inputs=[uid])
    assert weights.status_code == 400 and "are not offered for srgan" in weights.json()["error"]
    mask = submit(client, sid, translator="sdedit", options={"mask": str(secret)}, inputs=[uid])
    assert mask.json()["error"] == "option 'mask' takes a file: choose one of your uploads"
    other = submit(client, sid, translator="resize", inputs=["../" + uid])
    assert other.status_code == 404
    for url in (f"/api/s/{sid}/uploads/..%2F..%2Fsecret", f"/api/s/{sid}/jobs/x/files/0",
                f"/api/s/{sid}/../../etc/passwd", "/static/../server.py", "/api/s/nosuch/uploads/x"):
        reply = client.get(url)
        assert reply.status_code == 404, url
        assert b"import" not in reply.content
    assert client.get("/api/catalog", headers={"host": "evil.example"}).status_code == 400


def test_convert_job_results_and_messages(make_client):
    client, _, sid = make_client()
    good = upload(client, sid, png_bytes(photo(12, 16)), name="good.png").json()["id"]
    jid = submit(client, sid, translator="resize", options={"scale": "2"}, inputs=[good]).json()["id"]
    job = wait_job(client, sid, jid)
    assert job["state"] == "done" and job["errors"] == [] and job["error"] is None
    (result,) = job["results"]
    out = result["outputs"][0]
    assert (out["width"], out["height"], out["name"]) == (32, 24, "good.png")
    assert decode_png(client.get(out["url"]).content).shape == (24, 32, 3)
    assert result["bicubic"] is None  # resize is the baseline itself
    archive = client.get(f"/api/s/{sid}/jobs/{jid}/zip")
    assert archive.status_code == 200 and archive.content[:2] == b"PK"


def test_super_resolution_gets_a_bicubic_baseline(make_client):
    client, _, sid = make_client()
    uid = upload(client, sid, png_bytes(photo(12, 16)), name="small.png").json()["id"]
    job = wait_job(client, sid, submit(client, sid, translator="srgan", inputs=[uid]).json()["id"])
    assert job["state"] == "done", job
    (result,) = job["results"]
    assert (result["outputs"][0]["width"], result["outputs"][0]["height"]) == (64, 48)
    assert decode_png(client.get(result["bicubic"]).content).shape[:2] == (48, 64)


def test_job_errors_are_the_cli_lines_without_server_paths(make_client):
    client, web, sid = make_client()
    layout = {"objects": [{"label": "purple blob", "box": [0.1, 0.1, 0.5, 0.5]}]}
    job = wait_job(client, sid, submit(client, sid, translator="layout2im", layout=layout).json()["id"])
    assert job["state"] == "done" and job["results"] == []
    (line,) = job["errors"]
    assert line.startswith("layout.json: ") and "'purple blob'" in line and "\n" not in line
    assert str(web.sessions.root) not in line
    labels = wait_job(client, sid, client.post(f"/api/s/{sid}/jobs", json={
        "kind": "labels", "translator": "layout2im"}).json()["id"])
    assert "red circle" in labels["labels"] and "__image__" not in labels["labels"]
    # weights nobody can fetch (the reference's Google Drive files) are not even offered
    weights = client.post(f"/api/s/{sid}/jobs", json={
        "kind": "labels", "translator": "layout2im", "weights": "layout2im.coco"})
    assert weights.status_code == 400 and "are not offered for layout2im" in weights.json()["error"]
    uid = upload(client, sid, png_bytes(photo())).json()["id"]
    failed = wait_job(client, sid, submit(client, sid, translator="sdedit", options={"steps": "2000"},
                                          inputs=[uid]).json()["id"])
    assert failed["state"] == "failed"
    assert failed["error"] == "steps=2000 is more than the model's 1000 training steps"


def test_a_layout_size_gives_the_images_its_aspect(make_client):
    client, _, sid = make_client()
    layout = {"size": [200, 100], "objects": [{"label": "red circle", "box": [20, 10, 90, 80]}]}
    job = wait_job(client, sid, submit(client, sid, translator="layout2im", layout=layout,
                                       options={"samples": "1"}).json()["id"])
    assert job["state"] == "done" and job["errors"] == [], job
    out = job["results"][0]["outputs"][0]
    assert (out["width"], out["height"]) == (64, 32)
    assert decode_png(client.get(out["url"]).content).shape[:2] == (32, 64)


def test_jobs_queue_one_at_a_time_and_cancel(make_client, test_translators):
    client, web, sid = make_client()
    uid = upload(client, sid, png_bytes(photo())).json()["id"]
    ids = [submit(client, sid, translator="slow", options={"seconds": "0.6"}, inputs=[uid]).json()["id"]
           for _ in range(3)]
    deadline = time.monotonic() + 10
    while client.get(f"/api/s/{sid}/jobs/{ids[0]}").json()["state"] != "running":
        assert time.monotonic() < deadline
        time.sleep(0.02)
    states = [client.get(f"/api/s/{sid}/jobs/{j}").json() for j in ids]
    assert [s["state"] for s in states] == ["running", "queued", "queued"]
    assert [s["ahead"] for s in states] == [0, 1, 2]
    cancelled = client.post(f"/api/s/{sid}/jobs/{ids[2]}/cancel").json()
    assert cancelled["state"] == "cancelled"
    assert wait_job(client, sid, ids[0])["state"] == "done"
    assert client.get(f"/api/s/{sid}/jobs/{ids[1]}").json()["state"] in ("running", "done")
    assert wait_job(client, sid, ids[1])["state"] == "done"


def test_sessions_expire_and_shutdown_removes_everything(make_client):
    sessions = Sessions(ttl=0.05)
    try:
        old = sessions.create()
        (old.folder / "uploads" / "x.png").write_bytes(b"x")
        busy = sessions.create()
        busy.jobs["j"] = Job("j", "convert", run=print, folder=busy.folder)  # queued: kept
        time.sleep(0.1)
        assert sessions.expire() == [old.id]
        assert not old.folder.exists() and busy.folder.exists()
    finally:
        sessions.close()
    assert not sessions.root.exists()

    client, web, sid = make_client()
    root = web.sessions.root
    client.post(f"/api/s/{sid}/close")
    assert web.sessions.get(sid) is None and client.get(f"/api/s/{sid}").status_code == 404
    client.__exit__(None, None, None)
    assert not root.exists()


def test_serve_without_the_extra_is_a_usage_error(monkeypatch):
    import importlib.util

    from typer.testing import CliRunner

    from imgtrans.cli import app

    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec",
                        lambda name, *a: None if name == "uvicorn" else real(name, *a))
    result = CliRunner().invoke(app, ["serve"])
    assert result.exit_code == 2
    assert "pip install 'imgtrans[web]'" in " ".join(result.output.split())
