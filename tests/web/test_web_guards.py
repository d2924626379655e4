"""Issue 26, requests: another site's page cannot change anything (Origin), every error is
JSON with the app's headers whatever the body (malformed, oversized, nested 100,000 deep),
API responses are never cached, and no request makes the server use the network unless it
was started with ``--allow-downloads``."""

from __future__ import annotations

import http.server
import os
import threading

import pytest

pytest.importorskip("starlette", reason="the web extra is not installed (pip install 'imgtrans[web]')")
pytest.importorskip("httpx", reason="Starlette's TestClient needs httpx (the test extra)")

from starlette.testclient import TestClient  # noqa: E402

from imgtrans.plugin import Translator, WeightSpec  # noqa: E402
from imgtrans.plugins import hookimpl  # noqa: E402
from imgtrans.web.server import WebSettings, create_app  # noqa: E402
from webapp_support import photo, png_bytes  # noqa: E402

BASE = "http://127.0.0.1"
FOREIGN = {"Origin": "http://evil.example"}


@pytest.fixture
def client():
    """A client whose requests carry no Origin unless a test gives one."""
    with TestClient(create_app(WebSettings(device="cpu")), base_url=BASE) as client:
        yield client


def _json_error(reply, status):
    assert reply.status_code == status, reply.text
    assert reply.headers["content-type"] == "application/json"
    assert "default-src 'self'" in reply.headers["content-security-policy"]
    assert reply.headers["cache-control"] == "no-store"
    return reply.json()["error"]


def test_another_site_cannot_fill_the_session_limit(client):
    web = client.app.state.web
    for _ in range(110):  # a form post needs no preflight: text/plain, foreign Origin
        reply = client.post("/api/sessions", content=b"x", headers={**FOREIGN, "Content-Type": "text/plain"})
        assert "another site (http://evil.example)" in _json_error(reply, 403)
    assert len(web.sessions) == 0
    assert "no Origin header" in _json_error(client.post("/api/sessions"), 403)
    assert client.post("/api/sessions", headers={"Origin": "null"}).status_code == 403
    assert client.post("/api/sessions", headers={"Origin": "http://127.0.0.1:9"}).status_code == 403
    own = client.post("/api/sessions", headers={"Origin": BASE})
    assert own.status_code == 201 and len(web.sessions) == 1


def test_a_foreign_page_cannot_upload_queue_or_cancel(client):
    own = {"Origin": BASE}
    sid = client.post("/api/sessions", headers=own).json()["id"]
    data = png_bytes(photo(8, 8))
    assert client.post(f"/api/s/{sid}/uploads", content=data, headers=FOREIGN).status_code == 403
    uid = client.post(f"/api/s/{sid}/uploads", content=data, headers=own).json()["id"]
    body = {"kind": "convert", "translator": "resize", "inputs": [uid]}
    assert client.post(f"/api/s/{sid}/jobs", json=body, headers=FOREIGN).status_code == 403
    session = client.app.state.web.sessions.get(sid)
    assert session.jobs == {}
    jid = client.post(f"/api/s/{sid}/jobs", json=body, headers=own).json()["id"]
    assert client.post(f"/api/s/{sid}/jobs/{jid}/cancel", headers=FOREIGN).status_code == 403
    assert client.post(f"/api/s/{sid}/close", headers=FOREIGN).status_code == 403
    assert client.app.state.web.sessions.get(sid) is not None
    assert client.get(f"/api/s/{sid}/jobs/{jid}", headers=FOREIGN).status_code == 200  # reads: CORS guards them


@pytest.mark.parametrize("body, status, message", [
    (b"[" * 100_000, 400, "nested deeper than 32 levels"),
    (b'{"a": ' * 40 + b"1" + b"}" * 40, 400, "nested deeper than 32 levels"),
    (b'{"kind": "convert", "translator": "resize", "inputs": [', 400, "the request is not JSON"),
    (b"\xff\xfe not utf-8", 400, "the request is not JSON"),
    (b"[1, 2]", 400, "must be a JSON object"),
    (b'{"kind": "convert", "translator": "resize", "inputs": ["' + b"x" * (1 << 20) + b'"]}', 413,
     "request too large"),
    (b'{"kind": "convert", "translator": "resize", "seed": 1e400, "inputs": []}', 400,
     "seed 'inf': expected a whole number"),
    (b'{"kind": "convert", "translator": "resize", "options": {"scale": NaN}, "inputs": []}', 400,
     "option scale='nan': expected int"),
    (b'{"kind": "convert", "translator": ["resize"]}', 400, "choose a translator"),
    (b'{"kind": "convert", "translator": "resize", "options": {"scale": {"upload": "x"}}}', 400,
     "option scale: expected one value"),
])
def test_bad_bodies_get_json_errors_with_the_headers(client, body, status, message):
    own = {"Origin": BASE}
    sid = client.post("/api/sessions", headers=own).json()["id"]
    reply = client.post(f"/api/s/{sid}/jobs", content=body, headers={**own, "Content-Type": "application/json"})
    assert message in _json_error(reply, status)


def test_an_unexpected_exception_is_a_json_500_with_the_headers(client, monkeypatch):
    import imgtrans

    monkeypatch.setattr(imgtrans, "list_translators", lambda: 1 / 0)  # a bug, not an input
    reply = TestClient(client.app, base_url=BASE, raise_server_exceptions=False).get("/api/catalog")
    assert _json_error(reply, 500) == "internal error (see the server's log)"


def test_api_responses_are_not_cached_and_pages_may_be(client):
    assert client.get("/api/catalog").headers["cache-control"] == "no-store"
    assert client.get("/api/s/nosuch").headers["cache-control"] == "no-store"
    assert "cache-control" not in client.get("/static/app.css").headers


# -- no network ----------------------------------------------------------------------------

class _Counting(http.server.BaseHTTPRequestHandler):
    requests: list[str] = []

    def do_GET(self):  # noqa: N802 (http.server's name)
        type(self).requests.append(self.path)
        self.send_response(404)
        self.end_headers()

    def log_message(self, *args):
        pass


@pytest.fixture
def registry_far_away(register_plugin):
    """A translator whose only (default) weights are a registry entry on a local HTTP
    server that counts the requests it gets."""
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Counting)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    _Counting.requests = []
    url = f"http://127.0.0.1:{server.server_address[1]}/far/weights.pth"

    class Remote(Translator):
        name = "remote"
        summary = "identity that insists on weights"
        requires_weights = True
        known_weights = (WeightSpec("remote.far", url=url, default=True, description="not here"),)

        def translate(self, images, context):
            return images

    class Plugin:
        @hookimpl
        def register_translators(self, register):
            register(Remote)

    register_plugin(Plugin(), "remote_plugin")
    yield _Counting.requests
    server.shutdown()


def test_weights_that_would_be_downloaded_are_not_offered_nor_fetched(registry_far_away, tmp_path):
    own = {"Origin": BASE}
    with TestClient(create_app(WebSettings(device="cpu")), base_url=BASE, headers=own) as client:
        catalog = {t["name"]: t for t in client.get("/api/catalog").json()["translators"]}
        assert catalog["remote"]["weights"] == [] and catalog["remote"]["default_missing"] == "remote.far"
        assert [w["source"] for w in catalog["resize"]["weights"]] == []
        assert all(w["source"] in ("bundled", "cached") for t in catalog.values() for w in t["weights"])
        sid = client.post("/api/sessions").json()["id"]
        uid = client.post(f"/api/s/{sid}/uploads", content=png_bytes(photo(8, 8))).json()["id"]
        for weights in (None, "remote.far"):
            reply = client.post(f"/api/s/{sid}/jobs", json={
                "kind": "convert", "translator": "remote", "weights": weights, "inputs": [uid]})
            error = reply.json()["error"]
            assert reply.status_code == 400 and "remote.far" in error
            assert str(tmp_path.parent) not in error and "/" not in error.replace("/api", "")
        # the srgan entries that need a download (Real-ESRGAN...) are left out too
        assert {w["name"] for w in catalog["srgan"]["weights"]} == {
            w["name"] for w in catalog["srgan"]["weights"] if w["source"] == "bundled"}
    assert registry_far_away == []  # not one request left the machine's test server

    with TestClient(create_app(WebSettings(device="cpu", allow_downloads=True)), base_url=BASE,
                    headers=own) as client:
        catalog = {t["name"]: t for t in client.get("/api/catalog").json()["translators"]}
        assert [w["source"] for w in catalog["remote"]["weights"]] == ["download"]


def test_the_api_refuses_downloads_when_told(registry_far_away, tmp_path):
    import imgtrans
    from imgtrans.errors import WeightsError

    source = tmp_path / "a.png"
    source.write_bytes(png_bytes(photo(8, 8)))
    with pytest.raises(WeightsError, match="remote.far are neither bundled nor downloaded"):
        imgtrans.convert(source, tmp_path / "out", plugin="remote", allow_downloads=False)
    with pytest.raises(WeightsError, match="downloads are off"):
        imgtrans.load("remote.far", allow_downloads=False)
    assert registry_far_away == []
    with pytest.raises(WeightsError):  # allowed: it asks the (local) server, which has nothing
        imgtrans.load("remote", "remote.far")
    assert registry_far_away == ["/far/weights.pth"]


def test_serve_offers_downloads_only_when_asked(monkeypatch):
    import uvicorn
    from typer.testing import CliRunner

    import imgtrans.web.server as server
    from imgtrans.cli import app

    made = []
    real = server.create_app
    monkeypatch.setattr(server, "create_app", lambda settings, **kw: made.append(settings) or real(settings, **kw))
    monkeypatch.setattr(uvicorn.Server, "run", lambda self, sockets=None: None)
    monkeypatch.delenv("IMGTRANS_OFFLINE", raising=False)  # serve sets it: undone after the test
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    for args, allowed in ((["serve", "--port", "0"], False), (["serve", "--port", "0", "--allow-downloads"], True)):
        result = CliRunner().invoke(app, args)
        assert result.exit_code == 0, result.output
        assert made.pop().allow_downloads is allowed
    assert os.environ.get("IMGTRANS_OFFLINE") == "1"  # the plain serve switched downloads off


def test_a_default_that_is_not_here_gives_way_to_its_bundled_stand_in(client):
    """A registry default that would need a download (srgan's published Real-ESRGAN model)
    names bundled weights to use offline: the page is offered those, as the default."""
    import imgtrans
    from imgtrans.api import local_weights

    default = next(w for w in imgtrans.translator_info("srgan")["weights"] if w["default"])
    if default["local"] or not default.get("fallback"):
        pytest.skip("srgan's default weights are on this machine")
    assert local_weights("srgan", None) == default["fallback"]
    assert local_weights("srgan", "srgan.photos_x4") == "srgan.photos_x4"
    srgan = next(t for t in client.get("/api/catalog").json()["translators"] if t["name"] == "srgan")
    assert srgan["default_missing"] is None
    assert [w["name"] for w in srgan["weights"] if w["default"]] == [default["fallback"]]
