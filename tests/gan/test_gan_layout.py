"""Working out pix2pix / CycleGAN networks from state dicts, and loading them strictly."""

from __future__ import annotations

from collections import OrderedDict

import pytest
import torch
from torch import nn

from imgtrans.plugin import WeightsError, strict_load
from imgtrans_gan.layout import (
    drop_legacy_instance_norm_keys, infer_discriminator_config, infer_generator_config,
    load_discriminator, load_generator, strip_wrappers)
from imgtrans_gan.networks import DiscriminatorConfig, GeneratorConfig, init_weights


def random_model(config, seed=0) -> nn.Module:
    """Random weights and random BN running stats, so a wrong load would show."""
    torch.manual_seed(seed)
    model = init_weights(config.build(), gain=0.2)
    for m in model.modules():
        if isinstance(m, nn.BatchNorm2d):
            m.running_mean.uniform_(-0.3, 0.3)
            m.running_var.uniform_(0.5, 2.0)
            m.num_batches_tracked.fill_(7)
    return model.eval()


def assert_same_outputs(a: nn.Module, b: nn.Module, shape) -> None:
    x = torch.rand(*shape) * 2 - 1
    with torch.no_grad():
        torch.testing.assert_close(a.eval()(x), b.eval()(x), rtol=0, atol=0)


RESNETS = [GeneratorConfig(arch="resnet", n_blocks=n, norm=norm, use_dropout=dropout, ngf=ngf,
                           input_nc=i, output_nc=o)
           for n, ngf in ((6, 8), (9, 4))
           for norm in ("instance", "batch", "none")
           for dropout in (False, True)
           for i, o in [((1, 3) if dropout else (3, 1))]]
RESNETS += [GeneratorConfig(arch="resnet", n_blocks=6, ngf=64),
            GeneratorConfig(arch="resnet", n_blocks=2, ngf=4, padding_type="zero"),
            GeneratorConfig(arch="resnet", n_blocks=2, ngf=4, norm="batch", use_dropout=True,
                            padding_type="zero"),
            GeneratorConfig(arch="resnet", n_blocks=0, ngf=4)]
UNETS = [GeneratorConfig(arch="unet", num_downs=d, norm=norm, ngf=ngf, input_nc=i, output_nc=o,
                         use_dropout=True)
         for d, ngf in ((5, 8), (6, 4), (7, 4), (8, 2))
         for norm in ("batch", "instance", "none")
         for i, o in [((3, 3) if norm == "batch" else (1, 3) if norm == "none" else (3, 1))]]


@pytest.mark.parametrize("config", RESNETS + UNETS, ids=lambda c: c.describe())
def test_generator_round_trip(config):
    model = random_model(config)
    sd = model.state_dict()
    assert infer_generator_config(sd) == config
    loaded, inferred = load_generator(sd)
    assert inferred == config and not loaded.training
    assert all(torch.equal(v, loaded.state_dict()[k]) for k, v in sd.items())
    size = 16 if config.arch == "resnet" else config.size_multiple
    assert_same_outputs(model, loaded, (1, config.input_nc, size, size))


def test_unet_dropout_cannot_be_seen():
    sd = random_model(GeneratorConfig(arch="unet", num_downs=6, ngf=2, norm="batch")).state_dict()
    assert infer_generator_config(sd).use_dropout is True
    assert infer_generator_config(sd, unet_dropout=False).use_dropout is False
    model, config = load_generator(sd, unet_dropout=False)
    assert not any(isinstance(m, nn.Dropout) for m in model.modules())


def test_published_layouts_are_recognised():
    for preset, norm in (("resnet_9blocks", "instance"), ("unet_256", "batch")):
        with torch.device("meta"):
            sd = GeneratorConfig.preset(preset, norm=norm).build().state_dict()
        config = infer_generator_config(sd)
        assert config == GeneratorConfig.preset(preset, norm=norm,
                                                use_dropout=preset.startswith("unet"))


def test_wrappers_are_stripped():
    config = GeneratorConfig(n_blocks=1, ngf=4)
    model = random_model(config)
    sd = OrderedDict(("module." + k, v) for k, v in model.state_dict().items())
    sd["_metadata"] = {"": {"version": 1}}
    loaded, inferred = load_generator(sd)
    assert inferred == config
    assert_same_outputs(model, loaded, (1, 3, 16, 16))
    nested = {"state_dict": sd, "epoch": 3}
    assert list(strip_wrappers(nested)) == list(model.state_dict())
    with pytest.raises(WeightsError, match="several networks"):
        strip_wrappers({"netG": model.state_dict(), "netD": model.state_dict()})
    # a prefix is stripped only when every key has it; a stray one is named by the strict load
    both = dict(model.state_dict())
    both["module.model.1.weight"] = both["model.1.weight"]
    assert "module.model.1.weight" in strip_wrappers(both)
    assert "unexpected" in _message(both) and "module.model.1.weight" in _message(both)


def test_legacy_instance_norm_keys_are_ignored():
    config = GeneratorConfig(n_blocks=2, ngf=4, norm="instance")
    model = random_model(config)
    sd = dict(model.state_dict())
    legacy = {}
    for owner, c in (("model.2", 4), ("model.5", 8), ("model.10.conv_block.2", 16),
                     ("model.11.conv_block.6", 16), ("model.13", 8)):
        legacy[f"{owner}.running_mean"] = torch.randn(c)
        legacy[f"{owner}.running_var"] = torch.rand(c) + 0.5
        legacy[f"{owner}.num_batches_tracked"] = torch.tensor(100)
    sd.update(legacy)
    assert infer_generator_config(sd) == config  # not mistaken for batch norm
    cleaned = drop_legacy_instance_norm_keys(sd, config)
    assert set(cleaned) == set(model.state_dict())
    assert set(drop_legacy_instance_norm_keys(sd, model)) == set(model.state_dict())
    loaded, _ = load_generator(sd)
    assert_same_outputs(model, loaded, (1, 3, 16, 16))


def test_batch_norm_keys_are_kept():
    config = GeneratorConfig(n_blocks=1, ngf=4, norm="batch")
    sd = random_model(config).state_dict()
    assert drop_legacy_instance_norm_keys(sd, config) == dict(sd)


def _message(sd, **kw) -> str:
    with pytest.raises(WeightsError) as info:
        load_generator(sd, **kw)
    return str(info.value)


def test_super_resolution_checkpoint_is_refused():
    sd = {"conv_first.weight": torch.zeros(64, 3, 3, 3), "conv_first.bias": torch.zeros(64),
          "RRDB_trunk.0.RDB1.conv1.weight": torch.zeros(32, 64, 3, 3),
          "upconv1.weight": torch.zeros(64, 64, 3, 3), "conv_last.weight": torch.zeros(3, 64, 3, 3)}
    text = _message(sd)
    assert "5 tensors" in text and "conv_first.weight (64, 3, 3, 3)" in text
    assert "model.1.weight of shape (ngf, C, 7, 7)" in text
    assert "model.model.0.weight of shape (ngf, C, 4, 4)" in text


def test_garbage_and_empty_are_refused():
    assert "no tensors" in _message({})
    assert "ResNet generator" in _message({"a": torch.zeros(2), "b.c": torch.zeros(1, 1)})
    assert "no tensors" in _message({"_metadata": {}, "note": "hello"})
    # right key, wrong kernel: an SR model happening to use model.1
    assert "fit no" in _message({"model.1.weight": torch.zeros(64, 3, 3, 3)})


def test_discriminator_file_gets_a_hint():
    sd = random_model(DiscriminatorConfig(input_nc=6, ndf=4)).state_dict()
    assert "latest_net_G" in _message(sd)


def test_truncated_state_dict_names_missing_key():
    sd = dict(random_model(GeneratorConfig(n_blocks=2, ngf=4)).state_dict())
    del sd["model.10.conv_block.1.bias"]
    text = _message(sd)
    assert "missing" in text and "model.10.conv_block.1.bias" in text
    assert "ResNet generator (2 blocks" in text
    sd = dict(random_model(GeneratorConfig(n_blocks=2, ngf=4)).state_dict())
    del sd["model.15.weight"]
    assert "model.15.weight" in _message(sd)
    sd = dict(random_model(GeneratorConfig(n_blocks=2, ngf=4)).state_dict())
    del sd["model.19.weight"]
    assert "final conv model.19.weight is missing" in _message(sd)


def test_unexpected_and_mismatched_keys_are_named():
    sd = dict(random_model(GeneratorConfig(n_blocks=2, ngf=4)).state_dict())
    sd["model.4.extra"] = torch.zeros(1)
    assert "unexpected" in _message(sd) and "model.4.extra" in _message(sd)
    sd = dict(random_model(GeneratorConfig(n_blocks=2, ngf=4)).state_dict())
    sd["model.10.conv_block.5.weight"] = torch.zeros(16, 16, 1, 1)
    text = _message(sd)
    assert "model.10.conv_block.5.weight is (16, 16, 1, 1), expected (16, 16, 3, 3)" in text


def test_inconsistent_blocks_are_refused():
    sd = dict(random_model(GeneratorConfig(n_blocks=2, ngf=4)).state_dict())
    for leaf in ("weight", "bias"):
        sd[f"model.11.conv_block.6.{leaf}"] = sd.pop(f"model.11.conv_block.5.{leaf}")
    assert "conv_block indices" in _message(sd)
    sd = dict(random_model(GeneratorConfig(n_blocks=2, ngf=4)).state_dict())
    for key in [k for k in sd if k.startswith("model.10.")]:
        sd[key.replace("model.10.", "model.30.", 1)] = sd.pop(key)
    assert "residual blocks" in _message(sd)


def test_shallow_unet_is_refused():
    sd = dict(random_model(GeneratorConfig(arch="unet", num_downs=5, ngf=2)).state_dict())
    inner = "model.model.1.model.3.model"
    for key in [k for k in sd if k.startswith(inner + ".3.")]:
        del sd[key]
    assert "innermost" in _message(sd)


DISCRIMINATORS = [DiscriminatorConfig(arch="basic", input_nc=6, ndf=4, norm=n)
                  for n in ("batch", "instance", "none")]
DISCRIMINATORS += [DiscriminatorConfig(arch="n_layers", n_layers=n, ndf=4, input_nc=3)
                   for n in (0, 1, 2, 4, 5)]
DISCRIMINATORS += [DiscriminatorConfig(arch="pixel", input_nc=i, ndf=4, n_layers=3, norm=n)
                   for i, n in ((6, "batch"), (3, "instance"), (1, "none"))]


@pytest.mark.parametrize("config", DISCRIMINATORS, ids=lambda c: c.describe())
def test_discriminator_round_trip(config):
    model = random_model(config)
    sd = model.state_dict()
    assert infer_discriminator_config(sd) == config
    loaded, inferred = load_discriminator(sd)
    assert inferred == config
    assert_same_outputs(model, loaded, (1, config.input_nc, 128, 128))


def test_discriminator_refusals():
    with pytest.raises(WeightsError, match="PatchGAN discriminator"):
        infer_discriminator_config({"conv.weight": torch.zeros(1)})
    g = random_model(GeneratorConfig(n_blocks=1, ngf=4)).state_dict()
    with pytest.raises(WeightsError, match="fit no discriminator"):
        infer_discriminator_config(g)
    sd = dict(random_model(DiscriminatorConfig(ndf=4)).state_dict())
    del sd["model.11.weight"]
    with pytest.raises(WeightsError, match="convs are"):
        infer_discriminator_config(sd)


def test_strict_load_checks_dtypes():
    model = GeneratorConfig(n_blocks=0, ngf=2).build()
    sd = {k: v.to(torch.complex64) for k, v in model.state_dict().items()}
    with pytest.raises(WeightsError, match="dtype torch.complex64"):
        strict_load(model, sd, "test net")
    half = {k: v.half() for k, v in model.state_dict().items()}
    strict_load(model, half, "test net")  # fp16 checkpoints are fine
    assert model.model[1].weight.dtype == torch.float32
