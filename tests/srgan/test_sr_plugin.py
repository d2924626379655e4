"""srgan as a plugin: which files it claims, imgtrans checkpoints of both format versions,
whose checkpoint is whose, and a torch-free translator module."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys

import numpy as np
import pytest
import torch

import imgtrans
from imgtrans.checkpoints import write_checkpoint
from imgtrans.plugin import WeightsError
from imgtrans_gan.networks import DiscriminatorConfig, GeneratorConfig
from imgtrans_srgan.archs import SRConfig, SRGANDiscriminator
from imgtrans_srgan.options import SROptions
from imgtrans_srgan.translator import SRTranslator
from imgtrans_testenv import subprocess_env

SR_NETS = [SRConfig("rrdbnet", scale=s, num_feat=8, num_block=2, num_grow_ch=4) for s in (4, 2)]
SR_NETS += [SRConfig("srvgg", scale=4, num_feat=8, num_block=2),
            SRConfig("srvgg", scale=2, num_feat=8, num_block=1, act_type="relu"),
            SRConfig("msrresnet", scale=3, num_feat=8, num_block=2),
            SRConfig("srresnet", scale=4, num_feat=8, num_block=1, naming="lornatang")]


def _state_dict(config):
    torch.manual_seed(0)
    return config.build().state_dict()


def _esrgan_namings(sd: dict) -> list[dict]:
    """The same RRDBNet in the original ESRGAN ``model.N`` and the xinntao master namings."""
    top = {"conv_first": 0, "conv_up1": 3, "conv_up2": 6, "conv_hr": 8, "conv_last": 10}
    blocks = len({k.split(".")[1] for k in sd if k.startswith("body.")})
    old, intermediate = {}, {}
    for key, value in sd.items():
        name, _, leaf = key.rpartition(".")
        if m := re.fullmatch(r"body\.(\d+)\.rdb(\d)\.conv(\d)", name):
            old[f"model.1.sub.{m[1]}.RDB{m[2]}.conv{m[3]}.0.{leaf}"] = value
            intermediate[f"RRDB_trunk.{m[1]}.RDB{m[2]}.conv{m[3]}.{leaf}"] = value
        elif name == "conv_body":
            old[f"model.1.sub.{blocks}.{leaf}"] = value
            intermediate[f"trunk_conv.{leaf}"] = value
        else:
            old[f"model.{top[name]}.{leaf}"] = value
            renamed = {"conv_up1": "upconv1", "conv_up2": "upconv2", "conv_hr": "HRconv"}
            intermediate[f"{renamed.get(name, name)}.{leaf}"] = value
    return [old, intermediate]


@pytest.mark.parametrize("config", SR_NETS, ids=lambda c: c.describe())
def test_sr_networks_are_recognised_wrapped_or_not(config):
    sd = _state_dict(config)
    wrapped = [sd, {"params_ema": sd, "params": sd}, {"params": {f"module.{k}": v for k, v in sd.items()}},
               {"state_dict": {f"_orig_mod.{k}": v for k, v in sd.items()}, "epoch": 7}]
    for candidate in wrapped:
        assert SRTranslator.recognises(candidate)


def test_all_esrgan_namings_are_recognised():
    for naming in _esrgan_namings(_state_dict(SR_NETS[0])):
        assert SRTranslator.recognises(naming) and SRTranslator.recognises({"params": naming})


def test_gan_networks_discriminators_and_garbage_are_not_recognised():
    from imgtrans_gan.cyclegan import CycleGANTranslator
    from imgtrans_gan.pix2pix import Pix2PixTranslator

    gan = [GeneratorConfig(arch="resnet", ngf=4, n_blocks=2), GeneratorConfig(arch="unet", ngf=4, num_downs=5),
           DiscriminatorConfig(input_nc=6, ndf=4), DiscriminatorConfig(arch="pixel", ndf=4)]
    for config in gan:
        sd = config.build().state_dict()
        assert not SRTranslator.recognises(sd) and not SRTranslator.recognises({"params": sd})
    assert not SRTranslator.recognises(SRGANDiscriminator(channels=4, input_size=16).state_dict())
    for candidate in ({}, {"epoch": 3}, {"params": {}}, [torch.zeros(1)], None, "x.pth",
                      {"conv_first.weight": torch.zeros(64, 3, 3, 3)}):
        assert not SRTranslator.recognises(candidate)
    # and the GAN family does not claim SR networks
    for config in SR_NETS:
        sd = _state_dict(config)
        assert not Pix2PixTranslator.recognises(sd) and not CycleGANTranslator.recognises(sd)
    for naming in _esrgan_namings(_state_dict(SR_NETS[0])):
        assert not Pix2PixTranslator.recognises(naming)


def test_esrgan_plus_is_not_recognised():
    old = _esrgan_namings(_state_dict(SR_NETS[0]))[0]
    old["model.1.sub.0.RDB1.conv1x1.weight"] = torch.zeros(8, 8, 1, 1)
    assert not SRTranslator.recognises(old)


def test_no_folder_is_recognised(tmp_path):
    (tmp_path / "latest_net_G.pth").write_bytes(b"")
    assert not SRTranslator.recognises_folder(tmp_path)


def test_version_1_checkpoint_loads_like_version_2(host, tmp_path):
    config = SRConfig("msrresnet", scale=2, num_feat=8, num_block=2)
    torch.manual_seed(4)
    net = config.build()
    with torch.no_grad():
        for p in net.parameters():
            p.add_(torch.randn_like(p) * 0.05)
    torch.save({"params": net.state_dict()}, tmp_path / "m.pth")
    options = {"arch": "msrresnet", "scale": 2, "num_feat": 8, "num_block": 2}
    v2 = write_checkpoint(tmp_path / "v2", "srgan", {"G": net}, {"G": config.to_dict()},
                          options=options, step=3, epoch=1)
    v1 = tmp_path / "v1"
    v1.mkdir()
    shutil.copy(v2 / "G.safetensors", v1 / "G.safetensors")
    (v1 / "imgtrans.json").write_text(json.dumps({
        "format": "imgtrans-checkpoint", "plugin": "srgan", "networks": ["G"], "step": 3,
        "epoch": 1, "train_options": options, "sr_config": config.to_dict()}))
    image = np.random.default_rng(0).integers(0, 256, (14, 18, 3), dtype=np.uint8)
    outputs = [imgtrans.load("srgan", weights, options={"outscale": None})(image)
               for weights in (v1, v2, tmp_path / "m.pth")]
    assert outputs[0].shape == (28, 36, 3)
    assert all(np.array_equal(outputs[0], other) for other in outputs[1:])


def test_another_translators_checkpoint_is_a_clear_error(host, tmp_path):
    gen = GeneratorConfig(arch="resnet", ngf=4, n_blocks=1)
    ck = write_checkpoint(tmp_path / "p2p", "pix2pix", {"G": gen.build()}, {"G": gen.to_dict()})
    with pytest.raises(WeightsError, match="these are pix2pix weights"):
        imgtrans.load("srgan", ck)
    with pytest.raises(WeightsError, match="these are pix2pix weights"):  # without the core's check
        SRTranslator.load(ck, SROptions(), torch.device("cpu"))
    bare = write_checkpoint(tmp_path / "bare", "srgan", {"G": SR_NETS[2].build()})
    with pytest.raises(WeightsError, match="no configuration"):
        SRTranslator.load(bare, SROptions(), torch.device("cpu"))


def _python(code: str) -> None:
    result = subprocess.run([sys.executable, "-c", code], env=subprocess_env(), capture_output=True, text=True)
    assert result.returncode == 0, result.stderr


def test_translator_module_imports_without_torch():
    _python("""
import sys
from imgtrans.plugin import describe_options
from imgtrans_srgan.translator import SRTranslator
describe_options(SRTranslator.Options), describe_options(SRTranslator.TrainOptions)
assert "torch" not in sys.modules, "the translator module imported torch"
""")


def test_training_and_inference_do_not_import_the_translator_module():
    _python("""
import sys
import imgtrans_srgan.inference, imgtrans_srgan.training
assert "imgtrans_srgan.translator" not in sys.modules
""")
