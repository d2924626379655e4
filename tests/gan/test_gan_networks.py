"""The pix2pix / CycleGAN networks: reference layouts, figures from gan.md, test modes."""

from __future__ import annotations

import copy

import pytest
import torch
from torch import nn

from imgtrans_gan.modes import set_pix2pix_test_mode
from imgtrans_gan.networks import (
    DiscriminatorConfig, GeneratorConfig, NLayerDiscriminator, PixelDiscriminator,
    ResnetGenerator, UnetGenerator, UnetSkipConnectionBlock, init_weights)


def n_params(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


def shapes(model: nn.Module) -> dict[str, tuple[int, ...]]:
    return {k: tuple(v.shape) for k, v in model.state_dict().items()}


@pytest.mark.parametrize("preset, norm, keys, params", [
    ("resnet_9blocks", "instance", 48, 11_378_179),
    ("resnet_6blocks", "instance", 36, 7_837_699),
    ("unet_256", "batch", 82, 54_413_955),
    ("unet_128", "batch", 70, 41_828_995),
])
def test_published_configurations(preset, norm, keys, params):
    with torch.device("meta"):  # full size, but no memory or init time
        model = GeneratorConfig.preset(preset, norm=norm).build()
    assert len(model.state_dict()) == keys
    assert n_params(model) == params


def test_resnet_9blocks_key_names_and_shapes():
    s = shapes(ResnetGenerator(3, 3, 64, "instance", False, 9))
    assert s["model.1.weight"] == (64, 3, 7, 7) and s["model.1.bias"] == (64,)
    assert s["model.4.weight"] == (128, 64, 3, 3)
    assert s["model.7.weight"] == (256, 128, 3, 3)
    for b in range(10, 19):
        assert s[f"model.{b}.conv_block.1.weight"] == (256, 256, 3, 3)
        assert s[f"model.{b}.conv_block.5.weight"] == (256, 256, 3, 3)
    assert s["model.19.weight"] == (256, 128, 3, 3)  # ConvTranspose: (in, out, kh, kw)
    assert s["model.22.weight"] == (128, 64, 3, 3)
    assert s["model.26.weight"] == (3, 64, 7, 7) and s["model.26.bias"] == (3,)
    assert not any("running" in k for k in s)  # InstanceNorm has no state


def test_resnet_6blocks_indices():
    s = shapes(ResnetGenerator(3, 3, 8, n_blocks=6))
    assert {int(k.split(".")[1]) for k in s if "conv_block" in k} == set(range(10, 16))
    assert "model.16.weight" in s and "model.19.weight" in s and "model.23.weight" in s


def test_resnet_dropout_and_batch_norm_shift_keys():
    s = shapes(ResnetGenerator(3, 3, 8, "instance", True, 2))
    assert "model.10.conv_block.6.weight" in s and "model.10.conv_block.5.weight" not in s
    s = shapes(ResnetGenerator(3, 3, 8, "batch", False, 2))
    assert "model.10.conv_block.6.running_mean" in s and "model.10.conv_block.5.bias" not in s
    assert "model.2.weight" in s and "model.1.bias" not in s and "model.13.running_var" in s
    s = shapes(ResnetGenerator(3, 3, 8, "batch", True, 2))
    assert "model.10.conv_block.7.running_mean" in s and "model.10.conv_block.6.weight" in s


def test_norm_none_has_no_bias_and_keeps_indices():
    model = ResnetGenerator(3, 3, 8, "none", False, 2)
    s = shapes(model)
    assert "model.1.bias" not in s and "model.10.conv_block.5.weight" in s
    assert s["model.19.bias"] == (3,)  # the last conv always has a bias
    assert isinstance(model.model[2], nn.Identity)


def test_unet_keys_and_dropout_placement():
    model = UnetGenerator(3, 3, 8, 64, "batch", use_dropout=True)
    s = shapes(model)
    assert s["model.model.0.weight"] == (64, 3, 4, 4) and "model.model.0.bias" not in s
    assert s["model.model.3.weight"] == (128, 3, 4, 4) and s["model.model.3.bias"] == (3,)
    inner = "model.model.1" + ".model.3" * 6 + ".model"
    assert s[f"{inner}.3.weight"] == (512, 512, 4, 4) and f"{inner}.4.running_mean" in s
    assert f"{inner}.2.weight" not in s  # no norm after the innermost conv
    dropouts = [m for m in model.modules() if isinstance(m, nn.Dropout)]
    assert len(dropouts) == 8 - 5  # only the ngf*8 repeat levels
    assert shapes(UnetGenerator(3, 3, 8, 64, "batch", use_dropout=False)) == s


def test_unet_skip_carries_activated_input():
    # Reference quirk: the in-place LeakyReLU changes x before it is concatenated.
    block = UnetSkipConnectionBlock(4, 8, innermost=True, norm="none")
    x = torch.randn(1, 4, 8, 8)
    out = block(x.clone())
    torch.testing.assert_close(out[:, :4], nn.functional.leaky_relu(x, 0.2))


def test_discriminators():
    d = NLayerDiscriminator(6, 64, 3, "batch")
    assert n_params(d) == 2_768_705
    weights = sorted(int(k.split(".")[1]) for k in d.state_dict() if k.endswith(".weight"))
    assert weights == [0, 2, 3, 5, 6, 8, 9, 11]
    s = shapes(d)
    assert s["model.0.weight"] == (64, 6, 4, 4) and s["model.0.bias"] == (64,)
    assert s["model.2.weight"] == (128, 64, 4, 4) and "model.2.bias" not in s
    assert s["model.8.weight"] == (512, 256, 4, 4) and s["model.11.weight"] == (1, 512, 4, 4)
    small = NLayerDiscriminator(6, 8, 3, "batch").eval()
    assert small(torch.zeros(1, 6, 256, 256)).shape == (1, 1, 30, 30)
    p = shapes(PixelDiscriminator(3, 8, "batch"))
    assert p["net.0.weight"] == (8, 3, 1, 1) and "net.2.bias" not in p
    assert p["net.5.weight"] == (1, 16, 1, 1) and "net.5.bias" not in p
    assert "net.5.bias" in shapes(PixelDiscriminator(3, 8, "instance"))


@pytest.mark.parametrize("size", [(16, 16), (12, 20), (8, 12)])
def test_resnet_keeps_multiples_of_4(size):
    model = ResnetGenerator(1, 3, 4, n_blocks=1).eval()
    with torch.no_grad():
        out = model(torch.rand(2, 1, *size) * 2 - 1)
    assert out.shape == (2, 3, *size)
    assert out.abs().max() <= 1


def test_resnet_other_sizes_change():
    model = ResnetGenerator(3, 3, 4, n_blocks=1).eval()
    with torch.no_grad():
        assert model(torch.zeros(1, 3, 10, 10)).shape[-2:] != (10, 10)
        with pytest.raises((RuntimeError, ValueError)):  # too small for the pads and norms
            model(torch.zeros(1, 3, 4, 4))


@pytest.mark.parametrize("num_downs, size", [(5, (32, 64)), (6, (64, 64)), (7, (128, 128))])
def test_unet_keeps_multiples_of_2_pow_num_downs(num_downs, size):
    model = UnetGenerator(3, 1, num_downs, 2, "batch").eval()
    with torch.no_grad():
        assert model(torch.zeros(1, 3, *size)).shape == (1, 1, *size)
    assert GeneratorConfig(arch="unet", num_downs=num_downs).size_multiple == 2 ** num_downs
    assert GeneratorConfig().size_multiple == 4


def test_unet_other_sizes_fail():
    with pytest.raises(RuntimeError), torch.no_grad():
        UnetGenerator(3, 3, 5, 2, "batch").eval()(torch.zeros(1, 3, 48, 48))


def test_init_weights():
    gen = torch.Generator().manual_seed(0)
    model = init_weights(ResnetGenerator(3, 3, 16, "batch", n_blocks=2), generator=gen)
    conv = model.model[4].weight
    assert abs(conv.std().item() - 0.02) < 0.003 and abs(conv.mean().item()) < 0.003
    assert torch.all(model.model[26 - 9 + 2].bias == 0)  # final conv
    bn = model.model[2]
    assert abs(bn.weight.mean().item() - 1) < 0.02 and torch.all(bn.bias == 0)
    assert isinstance(model.model[19 - 9 + 2], nn.ConvTranspose2d)
    assert abs(model.model[19 - 9 + 2].weight.std().item() - 0.02) < 0.003
    again = init_weights(ResnetGenerator(3, 3, 16, "batch", n_blocks=2),
                         generator=torch.Generator().manual_seed(0))
    assert torch.equal(again.model[4].weight, conv)
    for kind in ("xavier", "kaiming", "orthogonal"):
        init_weights(ResnetGenerator(3, 3, 4, n_blocks=1), kind)
    with pytest.raises(ValueError):
        init_weights(model, "uniform")


def test_configs():
    cfg = GeneratorConfig.preset("unet_256", norm="batch", use_dropout=True)
    assert (cfg.arch, cfg.num_downs) == ("unet", 8)
    assert GeneratorConfig.from_dict(cfg.to_dict()) == cfg
    assert isinstance(cfg.to_dict()["ngf"], int)
    assert "U-Net" in cfg.describe() and "8 downsamplings" in cfg.describe()
    assert "9 blocks" in GeneratorConfig().describe()
    assert isinstance(GeneratorConfig(ngf=4, n_blocks=1).build(), ResnetGenerator)
    with pytest.raises(ValueError, match="unknown"):
        GeneratorConfig.from_dict({"arch": "resnet", "depth": 3})
    with pytest.raises(ValueError):
        GeneratorConfig(arch="vit")
    with pytest.raises(ValueError):
        GeneratorConfig(norm="group")
    with pytest.raises(ValueError):
        GeneratorConfig.preset("resnet_12blocks")
    with pytest.raises(ValueError):
        GeneratorConfig(arch="unet", num_downs=4).build()
    d = DiscriminatorConfig(arch="pixel", input_nc=6, ndf=8)
    assert DiscriminatorConfig.from_dict(d.to_dict()) == d
    assert isinstance(d.build(), PixelDiscriminator)
    assert len(DiscriminatorConfig(arch="basic", n_layers=5, ndf=4).build().model) == 12
    assert len(DiscriminatorConfig(arch="n_layers", n_layers=5, ndf=4).build().model) == 18
    with pytest.raises(ValueError):
        DiscriminatorConfig(arch="multiscale")


def _pix2pix(seed: int = 0) -> nn.Module:
    torch.manual_seed(seed)
    model = init_weights(UnetGenerator(3, 3, 6, 4, "batch", use_dropout=True))
    for m in model.modules():
        if isinstance(m, nn.BatchNorm2d):
            m.running_mean.uniform_(-0.5, 0.5)
            m.running_var.uniform_(0.5, 2.0)
    return model


def test_test_mode_does_not_mutate_buffers():
    model = _pix2pix()
    before = copy.deepcopy(model.state_dict())
    set_pix2pix_test_mode(model, False)
    with torch.no_grad():
        model(torch.randn(1, 3, 64, 64))
    after = model.state_dict()
    assert all(torch.equal(before[k], after[k]) for k in before)
    # whereas the reference's net.train() does change them
    ref = copy.deepcopy(model).train()
    for m in ref.modules():
        if isinstance(m, nn.BatchNorm2d):
            m.track_running_stats = True
    with torch.no_grad():
        ref(torch.randn(1, 3, 64, 64))
    assert not all(torch.equal(before[k], v) for k, v in ref.state_dict().items())


def test_test_mode_uses_batch_statistics_like_train_mode():
    model = ResnetGenerator(3, 3, 4, "batch", False, 1)
    for m in model.modules():
        if isinstance(m, nn.BatchNorm2d):
            m.running_mean.fill_(3.0)
    x = torch.randn(1, 3, 16, 16)
    ref = copy.deepcopy(model).train()
    with torch.no_grad():
        expected = ref(x)
        out = set_pix2pix_test_mode(model, False)(x)
        torch.testing.assert_close(out, expected)
        evaluated = set_pix2pix_test_mode(model, True)(x)
    assert not torch.allclose(evaluated, expected)
    assert all(m.track_running_stats for m in model.modules() if isinstance(m, nn.BatchNorm2d))


def test_dropout_active_only_in_default_test_mode():
    model = _pix2pix()
    x = torch.randn(1, 3, 64, 64)
    with torch.no_grad():
        set_pix2pix_test_mode(model, False)
        assert not torch.equal(model(x), model(x))
        set_pix2pix_test_mode(model, True)
        assert torch.equal(model(x), model(x))


def test_batch_statistics_mix_images():
    # Why plain batch norm in the default (train-like) mode needs per-image statistics (PerImageBatchNorm2d).
    model = ResnetGenerator(3, 3, 4, "batch", False, 1)
    set_pix2pix_test_mode(model, False)
    a, b = torch.randn(1, 3, 16, 16), torch.randn(1, 3, 16, 16) * 3
    with torch.no_grad():
        together = model(torch.cat([a, b]))
        alone = torch.cat([model(a), model(b)])
    assert not torch.allclose(together, alone, atol=1e-4)
    set_pix2pix_test_mode(model, True)
    with torch.no_grad():
        torch.testing.assert_close(model(torch.cat([a, b])),
                                   torch.cat([model(a), model(b)]))


def test_restore_train_mode_tracks_again():
    from imgtrans_gan.modes import restore_train_mode

    model = ResnetGenerator(3, 3, 4, "batch", False, 1)
    set_pix2pix_test_mode(model, False)
    restore_train_mode(model)
    assert model.training
    with torch.no_grad():
        model(torch.randn(1, 3, 16, 16))
    assert int(model.model[2].num_batches_tracked) == 1
