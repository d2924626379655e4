"""Issue 26, bounded work: every option has a declared range (checked for ``--opt`` and the
web app alike, shown by ``imgtrans info`` and the web form), results are held to
``--max-pixels``, and a job whose memory cannot fit is refused before it runs."""

from __future__ import annotations

import dataclasses
import typing

import numpy as np
import pytest

pytest.importorskip("starlette", reason="the web extra is not installed (pip install 'imgtrans[web]')")
pytest.importorskip("httpx", reason="Starlette's TestClient needs httpx (the test extra)")

from starlette.testclient import TestClient  # noqa: E402
from typer.testing import CliRunner  # noqa: E402

import imgtrans  # noqa: E402
from imgtrans.cli import app as cli  # noqa: E402
from imgtrans.translators.options import describe_options  # noqa: E402
from imgtrans.web.server import WebSettings, create_app  # noqa: E402
from webapp_support import photo, png_bytes, wait_job  # noqa: E402

BASE = "http://127.0.0.1"
BUILT_IN = ("cyclegan", "layout2im", "pix2pix", "resize", "sdedit", "srgan")


@pytest.fixture
def web():
    """(client, session id) of a fresh server; stopped after the test."""
    with TestClient(create_app(WebSettings(device="cpu", max_pixels=64 * 64)), base_url=BASE,
                    headers={"Origin": BASE}) as client:
        yield client, client.post("/api/sessions").json()["id"]


def _upload(client, sid, rgb):
    reply = client.post(f"/api/s/{sid}/uploads", params={"name": "a.png"}, content=png_bytes(rgb))
    assert reply.status_code == 201, reply.text
    return reply.json()["id"]


def _cli(*args):
    return CliRunner().invoke(cli, list(map(str, args)))


@pytest.mark.parametrize("name", BUILT_IN)
def test_every_number_option_declares_its_range(name):
    """Inference and training options alike: a number without bounds is one value away from
    exhausting memory or time (strings are paths checked by the dataclass, bools and
    choices are bounded by nature)."""
    from imgtrans.plugins.manager import get_translator

    cls = get_translator(name)
    for options in filter(None, (cls.Options, cls.TrainOptions)):
        hints = typing.get_type_hints(options)
        for info in describe_options(options):
            if info.type in ("int", "float") and not info.choices:
                assert info.min is not None and info.max is not None, f"{name} {options.__name__}.{info.name}"
                assert info.min <= info.default <= info.max if info.default is not None else True
            elif not info.choices and info.type != "bool":
                assert info.type == "str", f"{name}.{info.name}: {hints[info.name]}"


@pytest.mark.parametrize("translator, option, value, expected", [
    ("srgan", "pre_pad", "1000000", "option pre_pad='1000000' is out of range: expected 0 to 512"),
    ("sdedit", "repeats", "1000", "option repeats='1000' is out of range: expected 1 to 100"),
    ("sdedit", "strength", "nan", "option strength='nan': expected a finite number from 0.0 to 1.0"),
    ("resize", "scale", "-3", "option scale='-3' is out of range: expected 1 to 16"),
    ("layout2im", "max_objects", "30000", "option max_objects='30000' is out of range: expected 1 to 128"),
])
def test_out_of_range_options_are_refused_by_the_cli_and_the_web_alike(web, tmp_path, translator,
                                                                        option, value, expected):
    client, sid = web
    body = {"kind": "convert", "translator": translator, "options": {option: value}}
    if translator == "layout2im":
        body["layout"] = {"objects": [{"label": "red circle", "box": [0.1, 0.1, 0.5, 0.5]}]}
        (tmp_path / "in.json").write_text('{"objects": [{"label": "red circle", "box": [0, 0, 1, 1]}]}')
        source = tmp_path / "in.json"
    else:
        body["inputs"] = [_upload(client, sid, photo(8, 8))]
        source = tmp_path / "in.png"
        source.write_bytes(png_bytes(photo(8, 8)))
    reply = client.post(f"/api/s/{sid}/jobs", json=body)
    assert (reply.status_code, reply.json()["error"]) == (400, expected)
    result = _cli("convert", source, tmp_path / "out", "--plugin", translator, "--opt", f"{option}={value}")
    assert result.exit_code == 2 and expected in " ".join(result.output.split())
    assert not (tmp_path / "out").exists()


def test_ranges_are_shown_by_info_and_offered_to_the_form(web):
    client, _ = web
    catalog = {t["name"]: t for t in client.get("/api/catalog").json()["translators"]}
    options = {o["name"]: o for o in catalog["sdedit"]["options"]}
    assert (options["strength"]["min"], options["strength"]["max"]) == (0.0, 1.0)
    assert (options["samples"]["min"], options["samples"]["max"]) == (1, 64)
    assert options["mask"]["min"] is None  # a file: checked by the dataclass, not a range
    shown = _cli("info", "srgan")
    assert shown.exit_code == 0
    row = next(line for line in shown.output.splitlines() if "pre_pad" in line)
    assert "0 to 512" in row
    data = imgtrans.translator_info("layout2im")
    assert {o["name"]: o["max"] for o in data["options"]}["max_objects"] == 128


def test_results_are_held_to_max_pixels(web, tmp_path):
    """An allowed input times an allowed scale may not make a result larger than the limit:
    refused before translating (web), and in the CLI alike, the item failing with the sizes."""
    client, sid = web
    uid = _upload(client, sid, photo(20, 30))
    job = wait_job(client, sid, client.post(f"/api/s/{sid}/jobs", json={
        "kind": "convert", "translator": "resize", "options": {"scale": "4"}, "inputs": [uid]}).json()["id"])
    assert job["state"] == "done" and job["results"] == []
    assert job["errors"] == ["a.png: the result would be 120×80 pixels, more than the limit of "
                             "4096 (--max-pixels)"]
    small = wait_job(client, sid, client.post(f"/api/s/{sid}/jobs", json={
        "kind": "convert", "translator": "resize", "options": {"scale": "2"}, "inputs": [uid]}).json()["id"])
    assert small["errors"] == [] and small["results"][0]["outputs"][0]["width"] == 60
    source = tmp_path / "in.png"
    source.write_bytes(png_bytes(photo(20, 30)))
    result = _cli("convert", source, tmp_path / "out", "--plugin", "resize", "--opt", "scale=4",
                  "--max-pixels", "4096")
    assert result.exit_code != 0 and "more than the limit of 4096" in " ".join(result.output.split())
    assert not list((tmp_path / "out").glob("*.png")) if (tmp_path / "out").exists() else True


def test_every_written_result_is_checked(tmp_path):
    """A layout translator's result size is known only once it has run: the writer checks
    every result against ``--max-pixels`` and writes nothing larger."""
    source = tmp_path / "in.json"
    source.write_text('{"objects": [{"label": "red circle", "box": [0.2, 0.2, 0.6, 0.6]}]}')
    report = imgtrans.convert(source, tmp_path / "out", plugin="layout2im",
                              options={"scale": "16"}, max_pixels=500_000, device="cpu")
    (item,) = report.items
    assert item.status == "failed"
    assert item.error == "the result is 1024×1024 pixels, more than the limit of 500000 (--max-pixels)"
    assert not list(tmp_path.glob("out/*"))
    fits = imgtrans.convert(source, tmp_path / "fits", plugin="layout2im", options={"scale": "4"},
                            max_pixels=500_000, device="cpu")
    assert [i.status for i in fits.items] == ["done"]


def test_a_job_that_cannot_fit_in_memory_is_refused_with_the_figures(web, monkeypatch):
    """The estimate grows with size x scale x samples; against what the machine has free."""
    from imgtrans.core import budget

    client, sid = web
    monkeypatch.setattr(budget, "available_bytes", lambda device: 3 << 20)  # 3 MiB free
    uid = _upload(client, sid, photo(40, 40))
    small = wait_job(client, sid, client.post(f"/api/s/{sid}/jobs", json={
        "kind": "convert", "translator": "resize", "options": {"scale": "1"}, "inputs": [uid]}).json()["id"])
    assert small["errors"] == [] and len(small["results"]) == 1
    job = wait_job(client, sid, client.post(f"/api/s/{sid}/jobs", json={
        "kind": "convert", "translator": "sdedit", "options": {"samples": "64", "steps": "2"},
        "inputs": [uid]}).json()["id"])
    assert job["results"] == []
    (line,) = job["errors"]
    assert line.startswith("a.png: translating it would need about ") and "(64 samples)" in line
    assert line.endswith("and 3 MiB are available")


def test_estimates_grow_with_what_decides_memory():
    from imgtrans.core.budget import estimate
    from imgtrans.translators.base import Preprocessing

    @dataclasses.dataclass
    class Runner:
        prep: Preprocessing
        samples: int = 1
        tile: int = 0
        tile_pad: int = 10
        translator: object = None

    one = estimate(Runner(Preprocessing(scale=1)), 100, 100, 3)
    assert (one.width, one.height) == (100, 100)
    assert estimate(Runner(Preprocessing(scale=4)), 100, 100, 3).bytes > 10 * one.bytes
    assert estimate(Runner(Preprocessing(scale=1), samples=8), 100, 100, 3).bytes > 6 * one.bytes
    tiled = estimate(Runner(Preprocessing(scale=4), tile=32), 100, 100, 3)
    assert tiled.bytes < estimate(Runner(Preprocessing(scale=4)), 100, 100, 3).bytes
    assert np.isclose(tiled.pixels, 400 * 400)
    network = dataclasses.make_dataclass("Gan", [("memory_per_pixel", int, 224)])()
    declared = estimate(Runner(Preprocessing(scale=1), translator=network), 100, 100, 3)
    assert declared.bytes == one.bytes + 224 * 100 * 100  # what the network says it holds
    in_tiles = estimate(Runner(Preprocessing(scale=1), tile=20, translator=network), 100, 100, 3)
    assert in_tiles.bytes < declared.bytes - 224 * (100 * 100 - 40 * 40)  # one tile at a time


def test_gan_generators_declare_their_working_memory():
    """Their activations dwarf the pipeline's copies: a 4000x4000 photo through a reference
    CycleGAN (ngf 64) holds about 14 GB, which the estimate must see."""
    loaded = imgtrans.load("cyclegan", device="cpu")
    ngf = loaded.translator.config_.ngf
    assert loaded.translator.memory_per_pixel == 14 * ngf
