"""SR networks: key/parameter counts against the published models, forward behaviour checked
against small functional re-statements of sr.md, and SRConfig."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from imgtrans_srgan.archs import (
    MSRResNet, RRDBNet, SRConfig, SRGANDiscriminator, SRResNet, SRVGGNetCompact)


def counts(model):
    return len(model.state_dict()), sum(p.numel() for p in model.parameters()
                                        if p.requires_grad)


@pytest.mark.parametrize("make, keys, params", [
    (lambda: RRDBNet(), 702, 16_697_987),                        # RealESRGAN_x4plus
    (lambda: RRDBNet(scale=2), 702, 16_703_171),                 # RealESRGAN_x2plus
    (lambda: RRDBNet(num_block=6), 192, 4_467_779),              # x4plus_anime_6B
    (lambda: SRVGGNetCompact(num_conv=32), 101, 1_213_296),      # realesr-general-x4v3
    (lambda: SRVGGNetCompact(num_conv=16), 53, 621_424),         # realesr-animevideov3
    (lambda: MSRResNet(), 74, 1_517_571),
    (lambda: SRResNet(), 225, 1_547_350),                        # Lornatang SRGAN generator
    (lambda: SRGANDiscriminator(), 48, 23_563_649),              # sr.md: 23.56 M
])
def test_published_sizes(make, keys, params):
    with torch.device("meta"):  # shapes only: no memory, no init cost
        assert counts(make()) == (keys, params)


def test_config_builds_the_same_sizes():
    with torch.device("meta"):
        assert counts(SRConfig(scale=2).build()) == (702, 16_703_171)
        assert counts(SRConfig("srvgg", num_block=32).build()) == (101, 1_213_296)
        assert counts(SRConfig("srresnet", num_block=16, naming="lornatang").build()) \
            == (225, 1_547_350)


def test_pixel_unshuffle_channel_order():
    x = torch.rand(2, 3, 8, 12)
    b, c, h, w, r = *x.shape, 2
    manual = torch.empty(b, c * r * r, h // r, w // r)
    for ch in range(c):
        for dy in range(r):
            for dx in range(r):
                manual[:, ch * r * r + dy * r + dx] = x[:, ch, dy::r, dx::r]
    assert torch.equal(F.pixel_unshuffle(x, r), manual)


def _conv(sd, name, x):
    return F.conv2d(x, sd[name + ".weight"], sd[name + ".bias"], padding=1)


def rrdbnet_reference(sd, x, unshuffle, blocks):
    """sr.md 1.1 written out with F.conv2d on the state dict."""
    lrelu = lambda t: F.leaky_relu(t, 0.2)  # noqa: E731
    if unshuffle > 1:
        x = F.pixel_unshuffle(x, unshuffle)
    feat = _conv(sd, "conv_first", x)
    trunk = feat
    for i in range(blocks):
        rrdb_in = trunk
        for j in (1, 2, 3):
            cat = trunk
            for k in (1, 2, 3, 4):
                cat = torch.cat([cat, lrelu(_conv(sd, f"body.{i}.rdb{j}.conv{k}", cat))], 1)
            trunk = _conv(sd, f"body.{i}.rdb{j}.conv5", cat) * 0.2 + trunk
        trunk = trunk * 0.2 + rrdb_in
    feat = feat + _conv(sd, "conv_body", trunk)
    for name in ("conv_up1", "conv_up2"):
        feat = lrelu(_conv(sd, name, F.interpolate(feat, scale_factor=2.0, mode="nearest")))
    return _conv(sd, "conv_last", lrelu(_conv(sd, "conv_hr", feat)))


@pytest.mark.parametrize("scale, unshuffle", [(4, 1), (2, 2), (1, 4)])
def test_rrdbnet_forward_matches_statement(scale, unshuffle):
    torch.manual_seed(scale)
    net = RRDBNet(scale=scale, num_feat=8, num_block=2, num_grow_ch=4).eval()
    x = torch.rand(1, 3, 8, 12)
    with torch.no_grad():
        out = net(x)
        ref = rrdbnet_reference(net.state_dict(), x, unshuffle, 2)
    assert out.shape == (1, 3, 8 * scale, 12 * scale)
    torch.testing.assert_close(out, ref)


@pytest.mark.parametrize("scale", [2, 1])
def test_rrdbnet_unshuffle_needs_multiples(scale):
    net = RRDBNet(scale=scale, num_feat=4, num_block=1, num_grow_ch=4)
    with pytest.raises(ValueError, match=f"divisible by {4 // scale}"):
        net(torch.rand(1, 3, 7 if scale == 2 else 6, 8))


def test_srvgg_forward_matches_statement():
    torch.manual_seed(0)
    net = SRVGGNetCompact(num_feat=8, num_conv=2, upscale=3).eval()
    sd, x = net.state_dict(), torch.rand(1, 3, 5, 7)
    out = x
    for idx in (0, 2, 4):
        out = F.prelu(_conv(sd, f"body.{idx}", out), sd[f"body.{idx + 1}.weight"])
    out = F.pixel_shuffle(_conv(sd, "body.6", out), 3)
    ref = out + x.repeat_interleave(3, 2).repeat_interleave(3, 3)  # nearest upsampling
    with torch.no_grad():
        torch.testing.assert_close(net(x), ref)


@pytest.mark.parametrize("act, slope", [("relu", 0.0), ("leakyrelu", 0.1)])
def test_srvgg_parameterless_activations(act, slope):
    net = SRVGGNetCompact(num_feat=4, num_conv=1, upscale=2, act_type=act)
    assert sorted(net.state_dict()) == [f"body.{i}.{p}" for i in (0, 2, 4)
                                        for p in ("bias", "weight")]
    assert net.body[1](torch.tensor([-1.0])).item() == pytest.approx(-slope)


@pytest.mark.parametrize("scale", [2, 3, 4])
def test_msrresnet_forward_matches_statement(scale):
    torch.manual_seed(scale)
    net = MSRResNet(num_feat=8, num_block=2, upscale=scale).eval()
    sd, x = net.state_dict(), torch.rand(1, 3, 6, 5)
    lrelu = lambda t: F.leaky_relu(t, 0.1)  # noqa: E731
    out = lrelu(_conv(sd, "conv_first", x))
    for i in range(2):
        out = out + _conv(sd, f"body.{i}.conv2", F.relu(_conv(sd, f"body.{i}.conv1", out)))
    ups = ["upconv1", "upconv2"] if scale == 4 else ["upconv1"]
    for name in ups:
        out = lrelu(F.pixel_shuffle(_conv(sd, name, out), 2 if scale == 4 else scale))
    out = _conv(sd, "conv_last", lrelu(_conv(sd, "conv_hr", out)))
    ref = out + F.interpolate(x, scale_factor=scale, mode="bilinear", align_corners=False)
    with torch.no_grad():
        torch.testing.assert_close(net(x), ref)


def test_srresnet_clamps_and_trains():
    torch.manual_seed(0)
    net = SRResNet(channels=8, num_rcb=2, upscale=2)
    with torch.no_grad():
        net.conv3.bias.copy_(torch.tensor([-5.0, 0.5, 5.0]))  # push channels out of range
    out = net(torch.rand(2, 3, 6, 6))
    assert out.shape == (2, 3, 12, 12) and out.min() >= 0 and out.max() <= 1
    assert (out[:, 0] == 0).all() and (out[:, 2] == 1).all()
    out.sum().backward()  # the clamp is out of place: autograd works
    assert net.conv1[0].weight.grad is not None
    assert net.conv1[1].weight.shape == (1,)  # a single shared PReLU slope


@pytest.mark.parametrize("size", [32, 96])
def test_discriminator_logits(size):
    d = SRGANDiscriminator(channels=4, input_size=size)
    assert d(torch.rand(2, 3, size, size)).shape == (2, 1)
    with pytest.raises(ValueError, match=f"{size}x{size}"):
        d(torch.rand(2, 3, size + 16, size))


def test_discriminator_size_must_be_multiple_of_16():
    with pytest.raises(ValueError, match="multiple of 16"):
        SRGANDiscriminator(input_size=100)


def test_config_dict_round_trip_and_validation():
    config = SRConfig("srvgg", scale=2, num_feat=16, num_block=4, act_type="relu")
    assert SRConfig.from_dict(config.to_dict()) == config
    with pytest.raises(ValueError, match="unknown SRConfig field"):
        SRConfig.from_dict({**config.to_dict(), "depth": 3})
    for bad in ({"arch": "swinir"}, {"arch": "rrdbnet", "scale": 8},
                {"arch": "msrresnet", "scale": 8}, {"arch": "srresnet", "scale": 3},
                {"naming": "mine"}, {"act_type": "gelu"}, {"arch": "srvgg", "out_ch": 1}):
        with pytest.raises(ValueError):
            SRConfig(**bad)


def test_config_size_multiple_and_describe():
    assert [SRConfig(scale=s).size_multiple for s in (4, 2, 1)] == [1, 2, 4]
    assert SRConfig("srvgg", scale=2).size_multiple == 1
    text = SRConfig(scale=2, num_block=6, naming="esrgan_old").describe()
    assert "RRDBNet x2" in text and "6 blocks" in text and "esrgan_old" in text
    assert "prelu" in SRConfig("srvgg").describe()
