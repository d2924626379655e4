import hashlib

import pytest

from imgtrans.errors import WeightsError
from imgtrans.translators.base import WeightSpec
from imgtrans.weights import registry as registry_module
from imgtrans.weights.cache import cache_path_for
from imgtrans.weights.resolve import is_cached, lookup_spec, resolve_weights


@pytest.fixture
def bundled(tmp_path, monkeypatch):
    """A fake pretrained/ folder with one bundled file."""
    folder = tmp_path / "pretrained"
    (folder / "demo").mkdir(parents=True)
    (folder / "demo" / "tiny.safetensors").write_bytes(b"tiny")
    monkeypatch.setattr(registry_module, "pretrained_dir", lambda: folder)
    monkeypatch.setattr("imgtrans.weights.bundled.pretrained_dir", lambda: folder)
    return folder


@pytest.fixture
def known(http_server, bundled):
    url, sha = http_server.add("/w/facades.pth", b"facades weights")
    maps_url, _ = http_server.add("/w/maps.pth", b"maps weights")
    return [
        WeightSpec("pix2pix.facades", "pix2pix", url=url, sha256=sha, default=True),
        WeightSpec("pix2pix.maps", "pix2pix", url=maps_url),
        WeightSpec("cyclegan.horse2zebra", "cyclegan", file="demo/tiny.safetensors", default=True),
        WeightSpec("cyclegan.maps", "cyclegan", file="demo/absent.pth"),
    ]


def test_none_uses_default_or_nothing(known, http_server):
    path, spec = resolve_weights(None, "pix2pix", known)
    assert spec.name == "pix2pix.facades" and path.read_bytes() == b"facades weights"
    assert path == cache_path_for(spec.url)
    assert resolve_weights(None, "resize", known) == (None, None)


@pytest.mark.parametrize("value", ["pix2pix.maps", "maps"])
def test_full_and_short_names(known, value):
    path, spec = resolve_weights(value, "pix2pix", known)
    assert spec.name == "pix2pix.maps" and path.read_bytes() == b"maps weights"


def test_plugin_name_means_default_and_bundled_file(known, bundled):
    path, spec = resolve_weights("cyclegan", "cyclegan", known)
    assert spec.name == "cyclegan.horse2zebra"
    assert path == bundled / "demo" / "tiny.safetensors"


def test_missing_bundled_file(known):
    with pytest.raises(WeightsError, match="missing"):
        resolve_weights("cyclegan.maps", "cyclegan", known)


def test_name_of_another_plugin(known):
    with pytest.raises(WeightsError, match="these are pix2pix weights, not cyclegan weights; use --plugin pix2pix"):
        resolve_weights("pix2pix.facades", "cyclegan", known)
    with pytest.raises(WeightsError, match="these are pix2pix weights"):
        resolve_weights("pix2pix", "cyclegan", known)


def test_unknown_name_lists_close_names(known):
    with pytest.raises(WeightsError) as info:
        resolve_weights("facade", "pix2pix", known)
    message = str(info.value)
    assert "neither an existing file or folder nor a known weights name" in message
    assert "facades" in message and "imgtrans weights list --plugin pix2pix" in message


def test_bare_tag_of_other_plugin_is_pointed_at(known):
    with pytest.raises(WeightsError, match="pix2pix.facades: these are pix2pix weights, not cyclegan weights; use --plugin pix2pix"):
        resolve_weights("facades", "cyclegan", known)


def test_plugin_without_default(known):
    with pytest.raises(WeightsError, match="No named weights are known for 'resize'"):
        resolve_weights("resize", "resize", known)
    no_default = [s for s in known if s.name != "pix2pix.facades"]
    with pytest.raises(WeightsError, match="'pix2pix' has no default weights"):
        resolve_weights("pix2pix", "pix2pix", no_default)


def test_local_file_and_folder(known, tmp_path, monkeypatch):
    f = tmp_path / "mine.pth"
    f.write_bytes(b"x")
    assert resolve_weights(str(f), "pix2pix", known) == (f, None)
    assert resolve_weights(str(tmp_path), "pix2pix", known) == (tmp_path, None)
    monkeypatch.setenv("HOME", str(tmp_path))
    assert resolve_weights("~/mine.pth", "pix2pix", known) == (tmp_path / "mine.pth", None)
    monkeypatch.chdir(tmp_path)
    assert resolve_weights("mine.pth", "pix2pix", known)[1] is None
    with pytest.raises(WeightsError, match="no such file or folder"):
        resolve_weights("./absent.pth", "pix2pix", known)


def test_name_wins_over_same_named_file_unless_prefixed(known, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "maps").write_bytes(b"local")
    assert resolve_weights("maps", "pix2pix", known)[1].name == "pix2pix.maps"
    assert resolve_weights("./maps", "pix2pix", known)[1] is None


def test_url_downloaded_once_then_reused(http_server):
    url, _ = http_server.add("/w/other.pth", b"other")
    first, spec = resolve_weights(url, "pix2pix", [])
    second, _ = resolve_weights(url, "pix2pix", [], download_ok=False)
    assert spec is None and first == second and first.read_bytes() == b"other"
    assert http_server.requests == ["/w/other.pth"]


def test_url_of_known_spec_returns_it(known):
    path, spec = resolve_weights(known[0].url, "pix2pix", known)
    assert spec == known[0]


def test_cached_spec_reused_without_server(known, http_server):
    resolve_weights("facades", "pix2pix", known)
    http_server.files.clear()
    path, _ = resolve_weights("facades", "pix2pix", known)
    assert path.read_bytes() == b"facades weights"
    assert http_server.requests == ["/w/facades.pth"]


def test_corrupt_cache_is_fetched_again(known, http_server):
    target = cache_path_for(known[0].url)
    target.parent.mkdir(parents=True)
    target.write_bytes(b"corrupt")
    with pytest.raises(WeightsError, match="corrupt"):
        resolve_weights("facades", "pix2pix", known, download_ok=False)
    path, _ = resolve_weights("facades", "pix2pix", known)
    assert hashlib.sha256(path.read_bytes()).hexdigest() == known[0].sha256


def test_not_downloaded_and_downloads_off(known):
    with pytest.raises(WeightsError, match="weights fetch pix2pix.maps.*place it at"):
        resolve_weights("maps", "pix2pix", known, download_ok=False)
    assert not is_cached(known[1])


def test_offline_error_from_resolve(closed_port, bundled):
    spec = WeightSpec("p.t", "p", url=f"http://127.0.0.1:{closed_port}/t.pth")
    with pytest.raises(WeightsError, match="place it at .*t.pth"):
        resolve_weights("p.t", "p", [spec])


def test_lookup_spec_without_plugin(known):
    assert lookup_spec("pix2pix", known).name == "pix2pix.facades"
    assert lookup_spec("cyclegan.maps", known).name == "cyclegan.maps"
    with pytest.raises(WeightsError, match="imgtrans weights list"):
        lookup_spec("pix2pix.facadez", known)
