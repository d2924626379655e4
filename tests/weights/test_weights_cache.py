import hashlib
from pathlib import Path

from imgtrans.weights.cache import cache_dir, cache_path_for, sha256_file


def test_env_override(tmp_path, monkeypatch):
    monkeypatch.setenv("IMGTRANS_CACHE_DIR", str(tmp_path / "mine"))
    assert cache_dir() == tmp_path / "mine"
    assert cache_path_for("https://h/x/model.pth") == tmp_path / "mine" / "weights" / "h" / "x" / "model.pth"


def test_xdg_then_home(tmp_path, monkeypatch):
    monkeypatch.delenv("IMGTRANS_CACHE_DIR")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert cache_dir() == tmp_path / "xdg" / "imgtrans"
    monkeypatch.setenv("XDG_CACHE_HOME", "")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert cache_dir() == tmp_path / "home" / ".cache" / "imgtrans"


def test_path_from_url(isolated_cache):
    weights = isolated_cache / "weights" / "h"
    assert cache_path_for("https://h/a/b%20c.pth") == weights / "a" / "b_c.pth"
    with_query = cache_path_for("https://h/a/b%20c.pth?download=1#frag")
    assert with_query.parent == weights / "a" and with_query.name.startswith("b_c-") and with_query.suffix == ".pth"
    escaped = cache_path_for("https://h/a/..%2F..%2Fetc%2Fpasswd")
    assert escaped.parent == weights / "a" and "/" not in escaped.name
    assert escaped.resolve().is_relative_to(isolated_cache.resolve())
    url = "https://h/a/"
    assert cache_path_for(url) == weights / "a" / hashlib.sha256(url.encode()).hexdigest()
    assert cache_path_for("https://h/..").name == hashlib.sha256(b"https://h/..").hexdigest()


def test_same_file_name_under_different_urls_does_not_collide(isolated_cache):
    a = cache_path_for("https://hub.example/org1/model/resolve/main/model.safetensors")
    b = cache_path_for("https://hub.example/org2/model/resolve/main/model.safetensors")
    assert a != b and a.name == b.name == "model.safetensors"


def test_sha256_file(tmp_path):
    p = tmp_path / "f"
    p.write_bytes(b"x" * 3_000_000)
    assert sha256_file(p) == hashlib.sha256(b"x" * 3_000_000).hexdigest()
    assert sha256_file(Path(p), chunk_size=7) == sha256_file(p)


def test_the_whole_url_is_the_key(isolated_cache):
    """Port and query pick other files: two servers or two versions never share a cache entry."""
    urls = ["http://h/m.pth", "http://h:8080/m.pth", "http://h:8081/m.pth", "http://h/m.pth?v=1",
            "http://h/m.pth?v=2", "http://h/m.pth#x"]
    assert len({cache_path_for(u) for u in urls}) == len(urls)
    assert cache_path_for("http://h:8080/m.pth").parent.name == "h_8080"
