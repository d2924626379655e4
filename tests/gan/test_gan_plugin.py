"""pix2pix and CycleGAN as plugins: which files they claim, imgtrans checkpoints of both
format versions, whose checkpoint is whose, and torch-free translator modules."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from dataclasses import asdict
from pathlib import Path

import numpy as np
import pytest
import torch
from typer.testing import CliRunner

import imgtrans
from imgtrans.checkpoints import write_checkpoint
from imgtrans.cli import app
from imgtrans.plugin import WeightsError
from imgtrans_gan.cyclegan import CycleGANTranslator
from imgtrans_gan.networks import DiscriminatorConfig, GeneratorConfig, init_weights
from imgtrans_gan.options import CycleGANTrainOptions, GeneratorOptions, Pix2PixTrainOptions
from imgtrans_gan.pix2pix import Pix2PixTranslator
from imgtrans_srgan.archs import SRConfig
from imgtrans_testenv import ROOT, subprocess_env

GANS = (Pix2PixTranslator, CycleGANTranslator)
RESNET = GeneratorConfig(arch="resnet", ngf=4, n_blocks=2, norm="instance")
UNET = GeneratorConfig(arch="unet", ngf=4, num_downs=5, norm="batch", use_dropout=True)
SR_NETS = [SRConfig("rrdbnet", num_feat=8, num_block=1, num_grow_ch=4),
           SRConfig("srvgg", scale=2, num_feat=8, num_block=2),
           SRConfig("msrresnet", scale=2, num_feat=8, num_block=2),
           SRConfig("srresnet", scale=2, num_feat=8, num_block=1, naming="lornatang")]


def _net(config, seed=0):
    torch.manual_seed(seed)
    return init_weights(config.build(), "normal", 0.05).eval()


@pytest.mark.parametrize("config", [RESNET, UNET, GeneratorConfig.preset("unet_256")],
                         ids=["resnet", "unet", "unet_256"])
def test_both_recognise_reference_generators_wrapped_or_not(config):
    with torch.device("meta"):  # recognising reads keys and shapes only
        sd = config.build().state_dict()
    prefixed = {f"module.{k}": v for k, v in sd.items()}
    for candidate in (sd, prefixed, {"state_dict": prefixed, "epoch": 3}):
        assert all(cls.recognises(candidate) for cls in GANS)


def test_discriminators_sr_networks_and_garbage_are_not_recognised():
    others = [_net(DiscriminatorConfig(input_nc=6, ndf=4)).state_dict(),
              _net(DiscriminatorConfig(arch="pixel", ndf=4)).state_dict()]
    others += [config.build().state_dict() for config in SR_NETS]
    others += [{"params_ema": SR_NETS[0].build().state_dict()}]
    garbage = [{}, {"epoch": 3}, {"model.1.weight": torch.zeros(4, 3, 3, 3)}, [torch.zeros(1)],
               None, "latest_net_G.pth", {"netG": RESNET.build().state_dict(),
                                          "netD": RESNET.build().state_dict()}]
    for candidate in others + garbage:
        assert not any(cls.recognises(candidate) for cls in GANS)


def test_reference_folders(tmp_path):
    def folder(name, *files):
        (tmp_path / name).mkdir()
        for file in files:
            (tmp_path / name / file).write_bytes(b"")
        return tmp_path / name

    cases = {folder("pix2pix", "latest_net_G.pth", "latest_net_D.pth"): (True, False),
             folder("cyclegan", "latest_net_G_A.pth", "latest_net_G_B.pth"): (False, True),
             folder("one_side", "latest_net_G_B.pth"): (False, True),
             folder("mixed", "latest_net_G.pth", "latest_net_G_A.pth"): (False, True),
             folder("empty"): (False, False),
             folder("no_generator", "latest_net_D_A.pth"): (False, False),
             tmp_path / "missing": (False, False)}
    for path, expected in cases.items():
        found = (Pix2PixTranslator.recognises_folder(path), CycleGANTranslator.recognises_folder(path))
        assert found == expected, path.name


def _v1(folder: Path, v2: Path, meta: dict) -> Path:
    """The same weights as the v2 checkpoint, described as imgtrans 0.1 wrote it."""
    folder.mkdir()
    for file in v2.glob("*.safetensors"):
        shutil.copy(file, folder / file.name)
    (folder / "imgtrans.json").write_text(json.dumps({"format": "imgtrans-checkpoint", **meta}))
    return folder


def test_version_1_pix2pix_checkpoint_loads_like_version_2(host, tmp_path):
    options = Pix2PixTrainOptions(generator="unet", depth=5, ngf=4)
    net = _net(UNET)
    torch.save(net.state_dict(), tmp_path / "latest_net_G.pth")
    d = DiscriminatorConfig(input_nc=6, ndf=4)
    v2 = write_checkpoint(tmp_path / "v2", "pix2pix", {"G": net, "D": _net(d)},
                          {"G": UNET.to_dict(), "D": d.to_dict()}, options=asdict(options), step=5)
    v1 = _v1(tmp_path / "v1", v2, {"plugin": "pix2pix", "networks": ["D", "G"], "step": 5,
                                   "epoch": 1, "train_options": asdict(options),
                                   "generators": {"G": UNET.to_dict()},
                                   "discriminators": {"D": d.to_dict()}})
    image = np.random.default_rng(0).integers(0, 256, (40, 36, 3), dtype=np.uint8)
    outputs = [imgtrans.load("pix2pix", weights, seed=3)(image)
               for weights in (v1, v2, tmp_path / "latest_net_G.pth")]
    assert all(np.array_equal(outputs[0], other) for other in outputs[1:])
    exported = CliRunner().invoke(app, ["export", "pix2pix", str(v1), str(tmp_path / "ref")])
    assert exported.exit_code == 0, exported.output
    ref = torch.load(tmp_path / "ref" / "latest_net_G.pth", weights_only=True)
    assert all(torch.equal(ref[k], v) for k, v in net.state_dict().items())


def test_version_1_cyclegan_checkpoint_loads_like_version_2(host, tmp_path):
    options = CycleGANTrainOptions(n_blocks=2, ngf=4)
    g_a, g_b = _net(RESNET, 1), _net(RESNET, 2)
    configs = {"G_A": RESNET.to_dict(), "G_B": RESNET.to_dict()}
    v2 = write_checkpoint(tmp_path / "v2", "cyclegan", {"G_A": g_a, "G_B": g_b}, configs,
                          options=asdict(options))
    v1 = _v1(tmp_path / "v1", v2, {"plugin": "cyclegan", "networks": ["G_A", "G_B"],
                                   "train_options": asdict(options), "generators": configs})
    image = np.random.default_rng(1).integers(0, 256, (32, 28, 3), dtype=np.uint8)
    by_direction = {}
    for direction in ("AtoB", "BtoA"):
        one, two = (imgtrans.load("cyclegan", w, options={"direction": direction})(image)
                    for w in (v1, v2))
        assert np.array_equal(one, two)
        by_direction[direction] = one
    assert not np.array_equal(by_direction["AtoB"], by_direction["BtoA"])


def test_bundled_version_1_checkpoints_still_export(host, tmp_path):
    exported = CliRunner().invoke(app, ["export", "cyclegan", str(ROOT / "pretrained" / "cyclegan_day2night_synth"),
                                        str(tmp_path / "ref")])
    assert exported.exit_code == 0, exported.output
    assert sorted(p.name for p in (tmp_path / "ref").iterdir()) == ["latest_net_G_A.pth", "latest_net_G_B.pth"]
    assert CycleGANTranslator.recognises_folder(tmp_path / "ref")


def test_another_translators_checkpoint_is_a_clear_error(host, tmp_path):
    v2 = write_checkpoint(tmp_path / "cg", "cyclegan", {"G_A": _net(RESNET), "G_B": _net(RESNET)},
                          {"G_A": RESNET.to_dict(), "G_B": RESNET.to_dict()})
    with pytest.raises(WeightsError, match="these are cyclegan weights"):
        imgtrans.load("pix2pix", v2)
    with pytest.raises(WeightsError, match="these are cyclegan weights"):  # without the core's check
        Pix2PixTranslator.load(v2, GeneratorOptions(), torch.device("cpu"))
    with pytest.raises(WeightsError, match="these are cyclegan weights"):
        Pix2PixTranslator.export(v2, tmp_path / "out", "reference")
    sr = write_checkpoint(tmp_path / "sr", "srgan", {"G": SR_NETS[1].build()}, {"G": SR_NETS[1].to_dict()})
    with pytest.raises(WeightsError, match="these are srgan weights"):
        CycleGANTranslator.load(sr, GeneratorOptions(), torch.device("cpu"))


def test_a_checkpoint_without_the_generator_config_is_refused(tmp_path):
    v2 = write_checkpoint(tmp_path / "ck", "pix2pix", {"G": _net(UNET)})
    with pytest.raises(WeightsError, match="no configuration"):
        Pix2PixTranslator.load(v2, GeneratorOptions(), torch.device("cpu"))
    with pytest.raises(WeightsError, match="no network 'G_B'"):
        CycleGANTranslator.load(write_checkpoint(tmp_path / "cg", "cyclegan", {"G_A": _net(RESNET)},
                                                 {"G_A": RESNET.to_dict()}),
                                GeneratorOptions(direction="BtoA"), torch.device("cpu"))


def _python(code: str) -> None:
    result = subprocess.run([sys.executable, "-c", code], env=subprocess_env(), capture_output=True, text=True)
    assert result.returncode == 0, result.stderr


def test_translator_modules_import_without_torch():
    _python("""
import sys
from imgtrans.plugin import describe_options
from imgtrans_gan.cyclegan import CycleGANTranslator
from imgtrans_gan.pix2pix import Pix2PixTranslator
for cls in (Pix2PixTranslator, CycleGANTranslator):
    describe_options(cls.Options), describe_options(cls.TrainOptions)
assert "torch" not in sys.modules, "a translator module imported torch"
""")


def test_training_and_inference_do_not_import_the_translator_modules():
    _python("""
import sys
import imgtrans_gan.inference, imgtrans_gan.training
found = {"imgtrans_gan.pix2pix", "imgtrans_gan.cyclegan", "imgtrans_gan.base"} & set(sys.modules)
assert not found, found
""")
