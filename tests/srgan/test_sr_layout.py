"""Recognising SR checkpoints (all arches, three RRDBNet namings, wrappers) and loading them
strictly; every failure is a WeightsError that says what was found."""

from __future__ import annotations

import re

import pytest
import torch
from torch import nn

from imgtrans.plugin import WeightsError, unwrap_state_dict
from imgtrans_srgan.archs import SRConfig, SRGANDiscriminator
from imgtrans_srgan.layout import convert_to_basicsr, infer_sr_config, load_sr_model


def random_model(config: SRConfig, seed: int = 0) -> nn.Module:
    """Perturbed weights, PReLU slopes and BN stats, so any mix-up changes the output."""
    torch.manual_seed(seed)
    model = config.build()
    with torch.no_grad():
        for p in model.parameters():
            p.add_(torch.randn_like(p) * 0.05)
        for m in model.modules():
            if isinstance(m, nn.BatchNorm2d):
                m.running_mean.uniform_(-0.2, 0.2)
                m.running_var.uniform_(0.5, 2.0)
                m.num_batches_tracked.fill_(5)
    return model.eval()


def same_outputs(a: nn.Module, b: nn.Module, size=(8, 12)) -> None:
    x = torch.rand(1, 3, *size)
    with torch.no_grad():
        torch.testing.assert_close(a(x), b(x), rtol=0, atol=0)


def to_old(sd: dict) -> dict:
    """BasicSR RRDBNet keys -> original ESRGAN ``model.N`` keys (sr.md 1.2)."""
    blocks = len({k.split(".")[1] for k in sd if k.startswith("body.")})
    top = {"conv_first": 0, "conv_up1": 3, "conv_up2": 6, "conv_hr": 8, "conv_last": 10}
    out = {}
    for key, value in sd.items():
        name, _, leaf = key.rpartition(".")
        if m := re.fullmatch(r"body\.(\d+)\.rdb(\d)\.conv(\d)", name):
            out[f"model.1.sub.{m[1]}.RDB{m[2]}.conv{m[3]}.0.{leaf}"] = value
        elif name == "conv_body":
            out[f"model.1.sub.{blocks}.{leaf}"] = value
        else:
            out[f"model.{top[name]}.{leaf}"] = value
    return out


def to_intermediate(sd: dict) -> dict:
    """BasicSR RRDBNet keys -> xinntao/ESRGAN master keys (sr.md 1.3)."""
    renames = [(r"^body\.", "RRDB_trunk."), (r"\.rdb(\d)\.", r".RDB\1."),
               (r"^conv_body\.", "trunk_conv."), (r"^conv_up(\d)\.", r"upconv\1."),
               (r"^conv_hr\.", "HRconv.")]
    out = {}
    for key, value in sd.items():
        for pattern, repl in renames:
            key = re.sub(pattern, repl, key)
        out[key] = value
    return out


CONFIGS = (
    [SRConfig("rrdbnet", scale=s, num_feat=8, num_block=2, num_grow_ch=4) for s in (4, 2, 1)]
    + [SRConfig("srvgg", scale=s, num_feat=8, num_block=2, act_type="prelu") for s in (2, 4)]
    + [SRConfig("msrresnet", scale=s, num_feat=8, num_block=2) for s in (2, 3, 4)]
    + [SRConfig("srresnet", scale=s, num_feat=8, num_block=2, naming="lornatang")
       for s in (2, 4)]
    + [SRConfig("rrdbnet", in_ch=1, out_ch=1, scale=2, num_feat=4, num_block=1, num_grow_ch=8),
       SRConfig("srvgg", scale=3, num_feat=4, num_block=0, act_type="relu"),
       SRConfig("srresnet", in_ch=1, out_ch=1, scale=8, num_feat=4, num_block=0,
                naming="lornatang")])


@pytest.mark.parametrize("config", CONFIGS, ids=lambda c: c.describe())
def test_round_trip(config):
    model = random_model(config)
    act = None if config.act_type == "prelu" else config.act_type
    loaded, inferred = load_sr_model(model.state_dict(), act_type=act)
    assert inferred == config
    assert not loaded.training
    x = torch.rand(1, config.in_ch, 8, 12)
    with torch.no_grad():
        torch.testing.assert_close(loaded(x), model(x), rtol=0, atol=0)


@pytest.mark.parametrize("scale", [4, 2, 1])
@pytest.mark.parametrize("naming, convert", [("esrgan_old", to_old),
                                             ("esrgan_intermediate", to_intermediate)])
def test_rrdbnet_namings(scale, naming, convert):
    config = SRConfig("rrdbnet", scale=scale, num_feat=8, num_block=3, num_grow_ch=4)
    model = random_model(config, seed=scale)
    sd = model.state_dict()
    legacy = convert(sd)
    assert "conv_body.weight" not in legacy and "conv_hr.weight" not in legacy
    back, found = convert_to_basicsr(legacy)
    assert found == naming and back.keys() == sd.keys()
    assert all(back[k] is sd[k] for k in sd)  # renamed, not copied
    loaded, inferred = load_sr_model(legacy)
    assert inferred == SRConfig.from_dict({**config.to_dict(), "naming": naming})
    same_outputs(loaded, model)


def test_wrappers_prefer_params_ema():
    config = SRConfig("srvgg", scale=2, num_feat=4, num_block=1)
    ema, plain = random_model(config, 1), random_model(config, 2)
    both = {"params": plain.state_dict(), "params_ema": ema.state_dict()}
    same_outputs(load_sr_model(both)[0], ema)
    same_outputs(load_sr_model({"params": plain.state_dict()})[0], plain)


def test_wrappers_lornatang_checkpoint_and_prefixes():
    config = SRConfig("srresnet", scale=2, num_feat=4, num_block=1, naming="lornatang")
    model, ema = random_model(config, 3), random_model(config, 4)
    compiled = {f"_orig_mod.{k}": v for k, v in model.state_dict().items()}
    ckpt = {"epoch": 7, "best_psnr": 27.1, "params": {"note": "not weights"},
            "state_dict": compiled,
            "ema_state_dict": ema.state_dict(), "optimizer": {"state": {}, "param_groups": []}}
    same_outputs(load_sr_model(ckpt)[0], model)
    ddp = {f"module._orig_mod.{k}": v for k, v in model.state_dict().items()}
    assert unwrap_state_dict({"model": ddp}).keys() == model.state_dict().keys()
    net_g = {f"netG.{k}": v for k, v in model.state_dict().items()}
    assert unwrap_state_dict({"only": net_g}).keys() == model.state_dict().keys()


def test_x2_pixel_unshuffle_needs_even_sizes():
    config = SRConfig("rrdbnet", scale=2, num_feat=4, num_block=1, num_grow_ch=4)
    model, inferred = load_sr_model({"params_ema": random_model(config).state_dict()})
    assert inferred.size_multiple == 2
    with torch.no_grad():
        assert model(torch.rand(1, 3, 6, 10)).shape == (1, 3, 12, 20)
        with pytest.raises(ValueError, match="divisible by 2"):
            model(torch.rand(1, 3, 7, 10))


def test_srvgg_activation_override():
    relu = random_model(SRConfig("srvgg", scale=2, num_feat=4, num_block=1, act_type="relu"))
    assert infer_sr_config(relu.state_dict()).act_type == "leakyrelu"  # documented guess
    assert infer_sr_config(relu.state_dict(), act_type="relu").act_type == "relu"
    with pytest.raises(WeightsError, match="no PReLU slopes"):
        infer_sr_config(relu.state_dict(), act_type="prelu")
    prelu = random_model(SRConfig("srvgg", scale=2, num_feat=4, num_block=1))
    with pytest.raises(WeightsError, match="have PReLU slopes"):
        infer_sr_config(prelu.state_dict(), act_type="relu")


def test_gan_generator_is_refused_with_a_hint():
    from imgtrans_gan.networks import GeneratorConfig

    gen = GeneratorConfig(ngf=4, n_blocks=1).build()
    with pytest.raises(WeightsError, match="pix2pix/CycleGAN generator") as err:
        load_sr_model(gen.state_dict())
    assert "model.1.weight" in str(err.value) and "SRVGGNetCompact" in str(err.value)


def test_discriminator_is_refused_with_a_hint():
    d = SRGANDiscriminator(channels=4, input_size=16)
    with pytest.raises(WeightsError, match="discriminator"):
        load_sr_model(d.state_dict())


@pytest.mark.parametrize("obj, message", [
    ({"foo.weight": torch.zeros(2, 2)}, "fit no super-resolution layout"),
    ({"epoch": 3, "lr": 0.1}, "holds no tensors"),
    ({"params": {}}, "holds no tensors"),
    ([torch.zeros(1)], "expected a state dict"),
])
def test_garbage_is_refused(obj, message):
    with pytest.raises(WeightsError, match=message):
        load_sr_model(obj)


def test_esrgan_plus_is_refused():
    config = SRConfig("rrdbnet", num_feat=4, num_block=1, num_grow_ch=4)
    old = to_old(random_model(config).state_dict())
    old["model.1.sub.0.RDB1.conv1x1.weight"] = torch.zeros(4, 4, 1, 1)
    with pytest.raises(WeightsError, match=r"ESRGAN\+") as err:
        load_sr_model(old)
    assert "conv1x1" in str(err.value)


def test_old_x8_is_refused():
    config = SRConfig("rrdbnet", num_feat=4, num_block=1, num_grow_ch=4)
    old = to_old(random_model(config).state_dict())
    hr, last = old.pop("model.8.weight"), old.pop("model.10.weight")
    old.update({"model.9.weight": hr, "model.11.weight": hr, "model.13.weight": last})
    for key in ("model.8.bias", "model.10.bias"):
        old[key.replace("8", "11").replace("10", "13")] = old.pop(key)
    with pytest.raises(WeightsError, match=r"3 upsampling stage.*x8"):
        load_sr_model(old)


def test_strict_load_names_the_problem_keys():
    config = SRConfig("msrresnet", scale=2, num_feat=4, num_block=2)
    sd = random_model(config).state_dict()
    broken = dict(sd)
    del broken["body.0.conv2.bias"]
    broken["conv_hr.extra"] = torch.zeros(1)
    broken["conv_hr.weight"] = torch.zeros(4, 4, 5, 5)
    with pytest.raises(WeightsError) as err:
        load_sr_model(broken)
    text = str(err.value)
    assert "MSRResNet x2" in text and "missing key(s): body.0.conv2.bias" in text
    assert "unexpected key(s): conv_hr.extra" in text
    assert "conv_hr.weight is (4, 4, 5, 5), expected (4, 4, 3, 3)" in text


def test_a_missing_upconv2_weight_is_reported_as_missing():
    """The second upsampling stage is recognised by any of its keys, so a file that lost
    ``upconv2.weight`` is diagnosed as missing that key, not as having an unexpected bias."""
    from imgtrans.errors import WeightsError
    from imgtrans_srgan.archs import SRConfig
    from imgtrans_srgan.layout import load_sr_model

    net = SRConfig(arch="msrresnet", in_ch=3, out_ch=3, scale=4, num_feat=8, num_block=2).build()
    sd = dict(net.state_dict())
    del sd["upconv2.weight"]
    with pytest.raises(WeightsError) as info:
        load_sr_model(sd)
    assert "missing key(s): upconv2.weight" in str(info.value)
    assert "unexpected" not in str(info.value)
