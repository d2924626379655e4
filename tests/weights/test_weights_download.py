import pytest

from imgtrans.errors import WeightsError
from imgtrans.weights.download import download


def _leftovers(folder):
    return sorted(p.name for p in folder.iterdir()) if folder.exists() else []


def test_good_download_with_checksum_and_progress(http_server, tmp_path):
    data = bytes(range(256)) * 9000
    url, sha = http_server.add("/w/model.pth", data)
    dest = tmp_path / "dl" / "model.pth"
    calls = []
    assert download(url, dest, sha.upper(), progress=lambda d, t: calls.append((d, t))) == dest
    assert dest.read_bytes() == data
    assert _leftovers(dest.parent) == ["model.pth"]
    assert calls[0] == (0, len(data)) and calls[-1] == (len(data), len(data))


def test_bad_checksum_keeps_nothing(http_server, tmp_path):
    url, _ = http_server.add("/w/model.pth", b"payload")
    dest = tmp_path / "dl" / "model.pth"
    with pytest.raises(WeightsError) as info:
        download(url, dest, "0" * 64)
    message = str(info.value)
    assert "expected sha256 " + "0" * 64 in message and "nothing was kept" in message
    assert not dest.exists() and _leftovers(dest.parent) == []


def test_failed_download_does_not_touch_existing_dest(http_server, tmp_path):
    url, _ = http_server.add("/w/model.pth", b"new")
    dest = tmp_path / "model.pth"
    dest.write_bytes(b"old")
    with pytest.raises(WeightsError):
        download(url, dest, "0" * 64)
    assert dest.read_bytes() == b"old"
    assert _leftovers(tmp_path) == ["model.pth"]


def test_http_404_says_where_to_place_it(http_server, tmp_path):
    dest = tmp_path / "dl" / "missing.pth"
    with pytest.raises(WeightsError) as info:
        download(http_server.base + "/missing.pth", dest)
    message = str(info.value)
    assert "HTTP 404" in message and http_server.base + "/missing.pth" in message
    assert f"place it at {dest}" in message and "IMGTRANS_CACHE_DIR" in message
    assert _leftovers(dest.parent) == []


def test_connection_refused_says_where_to_place_it(closed_port, tmp_path):
    dest = tmp_path / "dl" / "m.pth"
    url = f"http://127.0.0.1:{closed_port}/m.pth"
    with pytest.raises(WeightsError) as info:
        download(url, dest)
    assert url in str(info.value) and f"place it at {dest}" in str(info.value)
    assert _leftovers(dest.parent) == []


def test_interrupt_removes_temp_file(http_server, tmp_path):
    url, sha = http_server.add("/w/big.pth", b"z" * 3_000_000)
    dest = tmp_path / "dl" / "big.pth"

    def interrupt(done, total):
        if done:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        download(url, dest, sha, progress=interrupt)
    assert _leftovers(dest.parent) == []


@pytest.mark.parametrize("url", ["file:///etc/passwd", "ftp://h/x.pth", "model.pth"])
def test_only_http(url, tmp_path):
    with pytest.raises(WeightsError, match="only http"):
        download(url, tmp_path / "x")
    assert _leftovers(tmp_path) == []


def test_connection_closed_early_keeps_nothing(http_server, tmp_path):
    url, _ = http_server.add("/w/cut.pth", b"half" * 1000)
    http_server.truncated.add("/w/cut.pth")
    dest = tmp_path / "dl" / "cut.pth"
    with pytest.raises(WeightsError, match="place it at"):
        download(url, dest)
    assert _leftovers(dest.parent) == []
