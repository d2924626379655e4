"""The published reference pix2pix/CycleGAN checkpoints are in the shipped registry, with
the reference URLs, and every entry belongs to a registered translator."""

from __future__ import annotations

import json
import re

from typer.testing import CliRunner

from imgtrans.plugins.manager import get_host
from imgtrans.translators.options import build_options
from imgtrans.weights.registry import load_registry

CYCLEGAN = {"apple2orange", "orange2apple", "summer2winter_yosemite", "winter2summer_yosemite",
            "horse2zebra", "zebra2horse", "monet2photo", "style_monet", "style_cezanne",
            "style_ukiyoe", "style_vangogh", "sat2map", "map2sat", "cityscapes_photo2label",
            "cityscapes_label2photo", "facades_photo2label", "facades_label2photo",
            "iphone2dslr_flower"}
PIX2PIX = {"edges2shoes", "sat2map", "map2sat", "facades_label2photo", "day2night"}


def _specs(plugin):
    """The published (downloadable) entries; bundled demo weights have a file instead."""
    return {s.tag: s for s in load_registry() if s.plugin == plugin and s.url}


def test_published_names():
    assert len(CYCLEGAN) == 18 and len(PIX2PIX) == 5
    assert set(_specs("cyclegan")) == CYCLEGAN
    assert set(_specs("pix2pix")) == PIX2PIX


def test_urls_and_contract():
    for tag, spec in _specs("cyclegan").items():
        assert spec.url == f"http://efrosgans.eecs.berkeley.edu/cyclegan/pretrained_models/{tag}.pth"
        assert spec.preprocessing == {"netG": "resnet_9blocks", "norm": "instance", "load_size": 256}
        assert spec.license == "BSD-2-Clause" and "junyanz/pytorch-CycleGAN-and-pix2pix" in spec.source
        assert re.search(r"\S -> \S", spec.description), spec.description
        # style_monet is the cyclegan default (photo -> painting), with a bundled stand-in offline
        assert spec.options == {} and spec.default == (tag == "style_monet") and spec.file is None
        assert (spec.fallback == "cyclegan.day2night_synth") == spec.default
    for tag, spec in _specs("pix2pix").items():
        assert spec.url == f"http://efrosgans.eecs.berkeley.edu/pix2pix/models-pytorch/{tag}.pth"
        assert spec.preprocessing == {"netG": "unet_256", "norm": "batch"}
        assert "direction" in spec.description and " -> " in spec.description
        assert spec.options == ({"direction": "BtoA"} if tag == "facades_label2photo" else {})
        assert not spec.default and spec.file is None


def test_every_entry_belongs_to_a_registered_translator_and_its_options_are_valid():
    translators = get_host().translators
    for spec in load_registry():
        assert spec.plugin in translators, spec.name
        build_options(translators[spec.plugin].Options, spec.options, translator=spec.plugin)


def test_weights_list_shows_them():
    from imgtrans.cli import app

    result = CliRunner().invoke(app, ["weights", "list", "--plugin", "cyclegan", "--json"])
    assert result.exit_code == 0, result.output
    listed = json.loads(result.stdout)
    assert {e["name"].split(".", 1)[1] for e in listed if e["url"]} == CYCLEGAN
    assert [e["name"] for e in listed if e["file"]] == ["cyclegan.day2night_synth",  # bundled demos
                                                        "cyclegan.photos_stylize"]
