"""Weights that name their translator: registry names and aliases, imgtrans checkpoints,
and foreign files claimed by exactly one translator's ``recognises`` check; and weights
bundled inside a plugin's own package, verified by sha256."""

from __future__ import annotations

import json
import sys
import textwrap
from pathlib import Path

import pytest

from imgtrans import checkpoints
from imgtrans.errors import UsageError, WeightsError
from imgtrans.translators.base import Translator, WeightSpec
from imgtrans.weights.bundled import forget_verified
from imgtrans.weights.cache import sha256_path
from imgtrans.weights.identify import identify_translator
from imgtrans.weights.resolve import find_spec, resolve_weights

KNOWN = [
    WeightSpec("srgan.realesrgan_x4plus", url="https://h/RealESRGAN_x4plus.pth"),
    WeightSpec("srgan.realesr_general_x4v3", url="https://h/realesr-general-x4v3.pth"),
    WeightSpec("srgan.esrgan_x4_official", url="https://h/e.pth", aliases=("RRDB_ESRGAN_x4",)),
    WeightSpec("cyclegan.sat2map", url="https://h/c.pth", aliases=("sat2map_pretrained",)),
    WeightSpec("pix2pix.sat2map", url="https://h/p.pth"),
    WeightSpec("sdedit.ddpm_cifar10_32", repo="google/ddpm-cifar10-32", aliases=("google/ddpm-cifar10-32",)),
]


class _Keys(Translator):
    """Claims state dicts that hold its ``key``."""

    key = ""

    @classmethod
    def recognises(cls, state_dict):
        return cls.key in state_dict


def _translator(name, key="", folder_file=None, broken=False):
    def recognises_folder(cls, folder):
        if broken:
            raise RuntimeError("buggy check")
        return folder_file is not None and (folder / folder_file).exists()

    return type(name, (_Keys,), {"name": name, "key": key,
                                 "recognises_folder": classmethod(recognises_folder)})


@pytest.mark.parametrize("value, expected", [
    ("srgan.realesrgan_x4plus", "srgan"),
    ("RealESRGAN_x4plus", "srgan"),            # Real-ESRGAN's -n name, any case
    ("realesr-general-x4v3", "srgan"),         # hyphens as in its file names
    ("rrdb_esrgan_x4", "srgan"),               # an alias
    ("SAT2MAP_pretrained", "cyclegan"),        # the reference's --name
    ("google/ddpm-cifar10-32", "sdedit"),      # a Hub repo id
])
def test_registry_names_and_aliases_name_their_translator(value, expected):
    assert identify_translator(value, {}, KNOWN) == expected


def test_a_name_several_translators_share_is_a_usage_error_listing_them():
    with pytest.raises(UsageError, match="cyclegan.sat2map, pix2pix.sat2map"):
        identify_translator("sat2map", {}, KNOWN)
    assert find_spec("sat2map", KNOWN, "pix2pix").name == "pix2pix.sat2map"  # --plugin decides


def _fake_checkpoint(folder, translator):
    folder.mkdir(parents=True)
    (folder / checkpoints.META_FILE).write_text(json.dumps(checkpoints.describe(translator, {"G": {}})))
    return folder


def test_checkpoints_and_run_folders_name_their_translator(tmp_path):
    _fake_checkpoint(tmp_path / "run" / "checkpoints" / "latest", "cyclegan")
    assert identify_translator(str(tmp_path / "run"), {}, KNOWN) == "cyclegan"
    assert identify_translator(str(tmp_path / "run" / "checkpoints" / "latest"), {}, KNOWN) == "cyclegan"


def test_version_1_checkpoints_name_their_translator_too(tmp_path):
    folder = tmp_path / "old"
    folder.mkdir()
    (folder / "imgtrans.json").write_text(json.dumps({
        "format": "imgtrans-checkpoint", "networks": ["G"], "plugin": "srgan", "step": 3,
        "train_options": {"scale": 4}, "sr_config": {"arch": "msrresnet"}}))
    info = checkpoints.read_checkpoint(folder)
    assert (info.translator, info.networks, info.options, info.step) == (
        "srgan", {"G": {"arch": "msrresnet"}}, {"scale": 4}, 3)
    with pytest.raises(WeightsError, match="these are srgan weights, not pix2pix weights; use --plugin srgan"):
        checkpoints.read_checkpoint(folder, "pix2pix")


def test_foreign_files_are_claimed_by_exactly_one_translator(tmp_path):
    import torch

    from imgtrans.weights import save_state_dict

    translators = {"alpha": _translator("alpha", "a.weight"), "beta": _translator("beta", "b.weight"),
                   "broken": _translator("broken", broken=True)}
    only_a = save_state_dict({"a.weight": torch.zeros(2)}, tmp_path / "a.safetensors")
    both = save_state_dict({"a.weight": torch.zeros(2), "b.weight": torch.zeros(2)}, tmp_path / "ab.safetensors")
    none = save_state_dict({"c.weight": torch.zeros(2)}, tmp_path / "c.safetensors")
    assert identify_translator(str(only_a), translators, KNOWN) == "alpha"
    with pytest.raises(UsageError, match=r"several translators \(alpha, beta\)"):
        identify_translator(str(both), translators, KNOWN)
    with pytest.raises(WeightsError, match="no installed translator recognises.*alpha, beta, broken"):
        identify_translator(str(none), translators, KNOWN)


def test_a_fallback_translator_is_asked_only_when_no_other_claims_a_file(tmp_path):
    import torch

    from imgtrans.weights import save_state_dict

    asked = []

    def everything(cls, state_dict):
        asked.append(sorted(state_dict))
        return "SomeArch"

    zoo = type("zoo", (_Keys,), {"name": "zoo", "fallback": True, "recognises": classmethod(everything)})
    translators = {"alpha": _translator("alpha", "a.weight"), "zoo": zoo}
    only_a = save_state_dict({"a.weight": torch.zeros(2)}, tmp_path / "a.safetensors")
    other = save_state_dict({"c.weight": torch.zeros(2)}, tmp_path / "c.safetensors")
    assert identify_translator(str(only_a), translators, KNOWN) == "alpha"
    assert asked == []  # alpha's file never reaches the fallback
    assert identify_translator(str(other), translators, KNOWN) == "zoo"
    assert asked == [["c.weight"]]


def test_a_check_that_cannot_decide_adds_its_reason_to_the_error(tmp_path):
    import torch

    from imgtrans.weights import save_state_dict

    def missing_library(cls, state_dict):
        raise WeightsError("pip install 'imgtrans[zoo]' to load other architectures")

    zoo = type("zoo", (_Keys,), {"name": "zoo", "fallback": True,
                                 "recognises": classmethod(missing_library)})
    other = save_state_dict({"c.weight": torch.zeros(2)}, tmp_path / "c.safetensors")
    with pytest.raises(WeightsError, match=r"recognises these weights.*pip install 'imgtrans\[zoo\]'"):
        identify_translator(str(other), {"zoo": zoo}, KNOWN)


def test_folders_ask_recognises_folder_and_a_broken_check_counts_as_no(tmp_path):
    (tmp_path / "ref").mkdir()
    (tmp_path / "ref" / "latest_net_G_A.pth").write_bytes(b"")
    translators = {"alpha": _translator("alpha", folder_file="latest_net_G_A.pth"),
                   "broken": _translator("broken", broken=True)}
    assert identify_translator(str(tmp_path / "ref"), translators, KNOWN) == "alpha"


def test_unknown_values_say_what_was_tried(tmp_path):
    with pytest.raises(WeightsError, match="nor a known weights name"):
        identify_translator("no_such_weights", {}, KNOWN)
    with pytest.raises(WeightsError, match="no such file or folder"):
        identify_translator(str(tmp_path / "missing.pth"), {}, KNOWN)


# -- weights bundled in a plugin's own package ------------------------------------------------

@pytest.fixture
def bundling_plugin(tmp_path, monkeypatch):
    """An importable package ``tinybundle`` whose translator bundles ``weights/w.bin``."""
    package = tmp_path / "site" / "tinybundle"
    (package / "weights").mkdir(parents=True)
    (package / "weights" / "w.bin").write_bytes(b"bundled weights")
    digest = sha256_path(package / "weights" / "w.bin")
    (package / "__init__.py").write_text(textwrap.dedent(f'''
        from imgtrans.plugin import Translator, WeightSpec, hookimpl

        class Tiny(Translator):
            name = "tiny"
            summary = "bundles its weights"
            requires_weights = True
            known_weights = (WeightSpec("tiny.w", file="weights/w.bin", sha256="{digest}", default=True),)

            @classmethod
            def load(cls, weights, options, device):
                self = cls(options, device)
                self.loaded_from = weights
                return self

        @hookimpl
        def register_translators(register):
            register(Tiny)
    '''))
    monkeypatch.syspath_prepend(str(tmp_path / "site"))
    forget_verified()
    yield package
    forget_verified()
    sys.modules.pop("tinybundle", None)


def test_a_plugin_bundles_weights_inside_its_own_package(bundling_plugin, register_plugin):
    import importlib

    import imgtrans

    register_plugin(importlib.import_module("tinybundle"), "tinybundle")
    loaded = imgtrans.load("tiny")  # default weights, from the package folder
    assert Path(loaded.translator.loaded_from) == bundling_plugin / "weights" / "w.bin"
    assert imgtrans.load("tiny.w").translator.name == "tiny"  # the weights name the translator


def test_a_corrupted_bundle_is_refused(bundling_plugin, register_plugin):
    import importlib

    from imgtrans.plugins import manager

    register_plugin(importlib.import_module("tinybundle"), "tinybundle")
    (bundling_plugin / "weights" / "w.bin").write_bytes(b"bundled weightZ")
    with pytest.raises(WeightsError, match="corrupt or were changed"):
        resolve_weights(None, "tiny", manager.known_weight_specs())
