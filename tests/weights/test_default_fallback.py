"""Defaults are published models; when one is not downloaded and cannot be now, its bundled
stand-in runs instead, quickly, with one warning that says what the stand-in was trained on
and how to get the real default."""

from __future__ import annotations

import logging
import socket
import time

import pytest

import imgtrans
from imgtrans.errors import WeightsError
from imgtrans.translators.base import WeightSpec
from imgtrans.weights.registry import load_registry, parse_registry
from imgtrans.weights.resolve import resolve_weights

BUNDLED = next(s for s in load_registry() if s.name == "cyclegan.day2night_synth")


def published(url: str, sha256: str | None = None) -> WeightSpec:
    return WeightSpec(name="cyclegan.published", url=url, sha256=sha256, default=True,
                      fallback=BUNDLED.name, trained_on="photos")


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def online(monkeypatch):
    """As a user's machine: no offline switch (the test session sets HF_HUB_OFFLINE)."""
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    monkeypatch.delenv("IMGTRANS_OFFLINE", raising=False)


def fallback_warnings(caplog) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING
            and "using the bundled" in r.getMessage()]


def test_a_refusing_server_falls_back_at_once_with_one_warning(online, caplog):
    spec = published(f"http://127.0.0.1:{closed_port()}/w.pth")
    started = time.perf_counter()
    with caplog.at_level(logging.WARNING):
        path, used = resolve_weights(None, "cyclegan", [spec, BUNDLED])
    assert time.perf_counter() - started < 3
    assert used is BUNDLED and (path / "imgtrans.json").is_file()
    (line,) = fallback_warnings(caplog)
    assert "cyclegan.published is not downloaded" in line and "Connection refused" in line
    assert BUNDLED.trained_on in line and "imgtrans weights fetch cyclegan.published" in line


@pytest.mark.parametrize("switch", ["IMGTRANS_OFFLINE", "HF_HUB_OFFLINE"])
def test_the_offline_switches_fall_back_without_trying(online, monkeypatch, http_server, caplog, switch):
    url, _ = http_server.add("/w.pth", b"never fetched")
    monkeypatch.setenv(switch, "1")
    with caplog.at_level(logging.WARNING):
        _, used = resolve_weights(None, "cyclegan", [published(url), BUNDLED])
    assert used is BUNDLED and http_server.requests == []
    assert f"{switch} is set" in fallback_warnings(caplog)[0]


def test_a_server_that_answers_but_has_no_file_falls_back(online, http_server, caplog):
    with caplog.at_level(logging.WARNING):
        _, used = resolve_weights(None, "cyclegan", [published(http_server.base + "/gone.pth"), BUNDLED])
    assert used is BUNDLED and "HTTP 404" in fallback_warnings(caplog)[0]


def test_a_default_is_downloaded_when_it_can_be_then_used_offline(online, monkeypatch, http_server, caplog):
    url, sha = http_server.add("/w.pth", b"the published weights")
    path, used = resolve_weights(None, "cyclegan", [published(url, sha), BUNDLED])
    assert used.name == "cyclegan.published" and path.read_bytes() == b"the published weights"
    monkeypatch.setenv("IMGTRANS_OFFLINE", "1")  # cached now: no fallback, no request
    with caplog.at_level(logging.WARNING):
        again, used = resolve_weights(None, "cyclegan", [published(url, sha), BUNDLED])
    assert again == path and used.name == "cyclegan.published" and not fallback_warnings(caplog)
    assert http_server.requests == ["/w.pth"]


def test_named_weights_are_never_swapped(online, monkeypatch):
    """Only a default falls back: weights asked for by name fail with what to do."""
    monkeypatch.setenv("IMGTRANS_OFFLINE", "1")
    spec = published(f"http://127.0.0.1:{closed_port()}/w.pth")
    with pytest.raises(WeightsError, match="IMGTRANS_OFFLINE is set.*imgtrans weights fetch cyclegan.published"):
        resolve_weights("cyclegan.published", "cyclegan", [spec, BUNDLED])


def test_built_in_defaults_and_what_runs_without_a_download():
    known = {s.name: s for s in load_registry()}
    defaults = {s.plugin: s for s in known.values() if s.default}
    assert defaults["srgan"].name == "srgan.realesr_general_x4v3" and defaults["srgan"].sha256
    assert defaults["cyclegan"].name == "cyclegan.style_monet"
    for plugin in ("srgan", "cyclegan", "sdedit", "pix2pix", "layout2im"):
        bundled = imgtrans.bundled_weights(plugin)
        assert known[bundled].file, plugin  # the demo's weights: bundled, never a download
        assert known[bundled].trained_on and defaults[plugin].trained_on


def test_the_session_default_is_the_bundled_stand_in(caplog):
    """Tests run offline (HF_HUB_OFFLINE): loading a default never reaches for the network."""
    with caplog.at_level(logging.WARNING):
        loaded = imgtrans.load("cyclegan", device="cpu")
    assert loaded.weight_spec.name == BUNDLED.name
    assert loaded.config()["trained_on"] == BUNDLED.trained_on
    assert len(fallback_warnings(caplog)) == 1


def test_a_fallback_must_be_bundled_weights_of_the_same_translator():
    entries = [{"name": "srgan.a", "url": "https://example.org/a.pth", "default": True,
                "fallback": "srgan.b"}, {"name": "srgan.b", "url": "https://example.org/b.pth"}]
    with pytest.raises(WeightsError, match="fallback 'srgan.b' must name bundled weights"):
        parse_registry({"weights": entries})
