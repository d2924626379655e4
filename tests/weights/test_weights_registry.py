import json

import pytest

import imgtrans
from imgtrans.errors import WeightsError
from imgtrans.translators.base import WeightSpec
from imgtrans.weights.registry import load_registry, parse_registry, pretrained_dir

GOOD = {"name": "pix2pix.facades", "plugin": "pix2pix", "url": "https://h/f.pth",
        "sha256": "a" * 64, "license": "BSD", "source": "https://src", "description": "d",
        "default": True, "options": {"direction": "AtoB"}, "preprocessing": {"scale": 1}}


def _bad(entry_or_data, match):
    data = entry_or_data if "weights" in entry_or_data else {"weights": [entry_or_data]}
    with pytest.raises(WeightsError, match=match):
        parse_registry(data)


def test_parse_good_entry():
    [spec] = parse_registry({"weights": [GOOD]})
    assert spec == WeightSpec(**GOOD) and spec.tag == "facades"


def test_unknown_field_names_the_entry():
    _bad({**GOOD, "licence": "MIT"}, r"entry 0 \('pix2pix.facades'\): unknown field\(s\) licence")


@pytest.mark.parametrize("change, match", [
    ({"plugin": None}, "wrong type"),
    ({"default": "yes"}, "'default' has the wrong type"),
    ({"name": "cyclegan.facades"}, "name must be '<translator>.<tag>'"),
    ({"name": "pix2pix"}, "name must be"),
    ({"name": "pix2pix."}, "name must be"),
    ({"url": None}, "needs a 'url', a 'file' or a 'repo'"),
    ({"sha256": "abc"}, "64 hex digits"),
])
def test_invalid_entries(change, match):
    _bad({**GOOD, **change}, match)


def test_missing_required_field():
    entry = dict(GOOD)
    del entry["name"]
    _bad(entry, "missing required field 'name'")


def test_plugin_field_is_optional_and_read_off_the_name():
    entry = dict(GOOD)
    del entry["plugin"]
    [spec] = parse_registry({"weights": [entry]})
    assert spec.plugin == "pix2pix"


def test_top_level_shape_duplicates_and_defaults():
    _bad({"weights": {}}, "expected an object")
    _bad({"weights": [], "extra": 1}, "expected an object")
    _bad({"weights": ["x"]}, "entry 0: expected an object")
    _bad({"weights": [GOOD, GOOD]}, "duplicate name")
    _bad({"weights": [GOOD, {**GOOD, "name": "pix2pix.maps"}]}, "already the default")


def test_load_registry_reads_file_once(tmp_path):
    path = tmp_path / "registry.json"
    path.write_text(json.dumps({"weights": [GOOD]}))
    load_registry.cache_clear()
    first = load_registry(path)
    path.write_text(json.dumps({"weights": []}))
    assert load_registry(path) == first and len(first) == 1
    first.append("mutating the result must not change the cache")
    assert len(load_registry(path)) == 1
    load_registry.cache_clear()
    assert load_registry(path) == []


def test_bad_json_and_missing_file(tmp_path):
    load_registry.cache_clear()
    assert load_registry(tmp_path / "nope.json") == []
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    with pytest.raises(WeightsError, match="cannot read the weights registry"):
        load_registry(bad)


def test_shipped_registry_is_valid():
    load_registry.cache_clear()
    assert isinstance(load_registry(), list)
    assert (pretrained_dir() / "registry.json").is_file()


def test_pretrained_dir_prefers_wheel_folder(tmp_path, monkeypatch):
    package = tmp_path / "site" / "imgtrans"
    (package / "_pretrained").mkdir(parents=True)
    monkeypatch.setattr(imgtrans, "__file__", str(package / "__init__.py"))
    assert pretrained_dir() == package / "_pretrained"
    (package / "_pretrained").rmdir()
    assert pretrained_dir() == tmp_path / "site" / "pretrained"
