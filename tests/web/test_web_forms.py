"""What the web form offers (path options as uploads, other text as bounded text, the
registry's "trained on" and example images beside weights), results in the input's format, and an imgtrans
output's record restoring the run that made it (issues 23 and 24)."""

from __future__ import annotations

import dataclasses
from typing import Optional

import cv2
import numpy as np
import pytest

pytest.importorskip("starlette", reason="the web extra is not installed (pip install 'imgtrans[web]')")
pytest.importorskip("httpx", reason="Starlette's TestClient needs httpx (the test extra)")

from imgtrans.errors import UsageError  # noqa: E402
from imgtrans.translators.options import MAX_TEXT_LENGTH, build_options, describe_options  # noqa: E402
from test_web_api import make_client, submit, upload  # noqa: E402,F401 (a fixture and helpers)
from webapp_support import decode_png, photo, png_bytes, wait_job  # noqa: E402


def test_path_options_are_declared_and_other_text_is_bounded():
    @dataclasses.dataclass(frozen=True)
    class Options:
        guide: Optional[str] = dataclasses.field(default=None, metadata={"path": True})
        caption: str = ""
        short: str = dataclasses.field(default="", metadata={"max_length": 5})

    infos = {o.name: o for o in describe_options(Options)}
    assert (infos["guide"].path, infos["guide"].max_length) == (True, None)
    assert (infos["caption"].path, infos["caption"].max_length) == (False, MAX_TEXT_LENGTH)
    assert build_options(Options, {"short": "12345"}).short == "12345"
    with pytest.raises(UsageError, match="at most 5"):
        build_options(Options, {"short": "123456"})


def test_the_form_uploads_paths_and_takes_prompts_as_text(make_client):  # noqa: F811
    client, _, sid = make_client()
    catalog = {t["name"]: t for t in client.get("/api/catalog").json()["translators"]}
    sdedit = {o["name"]: o for o in catalog["sdedit"]["options"]}
    assert sdedit["mask"]["file"] and sdedit["prompts"]["file"]
    assert not sdedit["prompt"]["file"] and not sdedit["negative_prompt"]["file"]
    assert sdedit["prompt"]["max_length"] == MAX_TEXT_LENGTH
    layout2im = {o["name"]: o for o in catalog["layout2im"]["options"]}
    assert layout2im["vocab"]["file"]
    uid = upload(client, sid, png_bytes(photo(16, 16))).json()["id"]
    refused = submit(client, sid, translator="sdedit", options={"prompt": "x" * (MAX_TEXT_LENGTH + 1)},
                     inputs=[uid])
    assert refused.status_code == 400 and f"at most {MAX_TEXT_LENGTH}" in refused.json()["error"]
    as_text = submit(client, sid, translator="sdedit", options={"prompts": "/etc/passwd"}, inputs=[uid])
    assert as_text.status_code == 400 and "takes a file" in as_text.json()["error"]


def test_weights_say_what_they_were_trained_on(make_client):  # noqa: F811
    client, _, _ = make_client()
    catalog = {t["name"]: t for t in client.get("/api/catalog").json()["translators"]}
    for name in ("srgan", "layout2im"):
        default = next(w for w in catalog[name]["weights"] if w["default"])
        assert default["trained_on"], name


@pytest.mark.parametrize("translator, weights", [("sdedit", "sdedit.facades_synth"),
                                                  ("layout2im", "layout2im.shapes_synth")])
def test_bundled_weights_show_examples_of_their_domain(make_client, translator, weights):  # noqa: F811
    client, _, _ = make_client()
    catalog = {t["name"]: t for t in client.get("/api/catalog").json()["translators"]}
    offered = {w["name"]: w for w in catalog[translator]["weights"]}
    assert offered[weights]["examples"] == 4
    images = []
    for n in range(4):
        got = client.get("/api/examples", params={"translator": translator, "weights": weights, "n": n})
        assert got.status_code == 200 and got.headers["content-type"] == "image/png"
        images.append(decode_png(got.content))
    assert all(i.shape == (128, 128, 3) for i in images)  # the 64 px training images, x2
    assert len({i.tobytes() for i in images}) == 4 and all(i.std() > 10 for i in images)
    first = client.get("/api/examples", params={"translator": translator, "weights": weights})
    assert first.content == client.get(f"/api/examples?translator={translator}&weights={weights}&n=0").content


def test_examples_are_only_those_the_catalogue_offers(make_client):  # noqa: F811
    client, _, _ = make_client()
    catalog = {t["name"]: t for t in client.get("/api/catalog").json()["translators"]}
    assert all(w["examples"] == 0 for w in catalog["srgan"]["weights"])  # none for these weights
    cases = {  # query -> words of the one-line 404
        "translator=nope&weights=sdedit.facades_synth": "nope",
        "translator=sdedit&weights=sdedit.nope": "'sdedit.nope' are not offered for sdedit",
        "translator=sdedit&weights=../../etc/passwd": "are not offered",
        "translator=sdedit&weights=pretrained/examples/sdedit_facades_synth/0.png": "are not offered",
        "translator=layout2im&weights=sdedit.facades_synth": "not offered for layout2im",
        "translator=sdedit&weights=sdedit.facades_synth&n=4": "has 4 example images (n=0 to 3): no example n='4'",
        "translator=sdedit&weights=sdedit.facades_synth&n=-1": "no example n='-1'",
        "translator=sdedit&weights=sdedit.facades_synth&n=%C2%B2": "no example",
        "translator=srgan&weights=srgan.photos_x4": "has no example images",
    }
    for query, words in cases.items():
        got = client.get(f"/api/examples?{query}")
        assert got.status_code == 404 and words in got.json()["error"], (query, got.text)
        assert "\n" not in got.json()["error"]


@pytest.mark.parametrize("kind, data, media", [
    ("jpg", lambda rgb: cv2.imencode(".jpg", rgb)[1].tobytes(), "image/jpeg"),
    ("png", png_bytes, "image/png"),
    ("tiff", lambda rgb: cv2.imencode(".tiff", rgb)[1].tobytes(), "image/png")])  # browsers show no TIFF
def test_results_keep_the_inputs_format(make_client, kind, data, media):  # noqa: F811
    client, _, sid = make_client()
    uid = upload(client, sid, data(photo(12, 16)), name=f"in.{kind}").json()["id"]
    job = wait_job(client, sid, submit(client, sid, translator="resize", options={"scale": "2"},
                                       inputs=[uid]).json()["id"])
    assert job["state"] == "done", job
    out = job["results"][0]["outputs"][0]
    reply = client.get(out["url"])
    assert reply.headers["content-type"] == media
    assert out["name"].endswith(".png" if media == "image/png" else f".{kind}")


def test_an_output_brings_back_the_run_that_made_it(make_client):  # noqa: F811
    client, _, sid = make_client()
    uid = upload(client, sid, png_bytes(photo(12, 16))).json()["id"]
    assert client.post(f"/api/s/{sid}/uploads", params={"name": "x.png"},
                       content=png_bytes(photo(8, 8))).json()["made_by"] is None  # not an output
    job = wait_job(client, sid, submit(client, sid, translator="resize",
                                       options={"scale": "3", "interpolation": "nearest"},
                                       inputs=[uid]).json()["id"])
    output = client.get(job["results"][0]["outputs"][0]["url"]).content
    made_by = upload(client, sid, output, name="result.png").json()["made_by"]
    assert made_by["translator"] == "resize"
    assert {k: str(v) for k, v in made_by["options"].items()} == {"scale": "3", "interpolation": "nearest"}
    again = wait_job(client, sid, submit(client, sid, translator="resize", options=made_by["options"],
                                         inputs=[uid]).json()["id"])
    assert again["state"] == "done"
    assert np.array_equal(decode_png(client.get(again["results"][0]["outputs"][0]["url"]).content),
                          decode_png(output))
