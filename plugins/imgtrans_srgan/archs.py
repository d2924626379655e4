"""Super-resolution networks whose module trees match the published checkpoints.

Attribute names and Sequential/ModuleList indices follow BasicSR (RRDBNet, SRVGGNetCompact,
MSRResNet) and Lornatang/SRGAN-PyTorch (SRResNet, the SRGAN generator), so their files load
with ``strict=True`` (see shared/reference/sr.md sections 1-4).
Conventions: input ``(B, C, H, W)`` float RGB in [0, 1]; output ``(B, C, s*H, s*W)``, not
clamped (callers clamp) except SRResNet, which clamps to [0, 1] as its reference does.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from imgtrans.plugin import NetworkConfig

ARCHS = ("rrdbnet", "srvgg", "msrresnet", "srresnet")
NAMINGS = ("basicsr", "esrgan_old", "esrgan_intermediate", "lornatang")
ACT_TYPES = ("prelu", "relu", "leakyrelu")
_SCALES = {"rrdbnet": (1, 2, 4), "msrresnet": (2, 3, 4), "srresnet": (2, 4, 8)}
_UNSHUFFLE = {4: 1, 2: 2, 1: 4}  # RRDBNet scale -> pixel-unshuffle factor before conv_first


def _conv3(cin: int, cout: int, bias: bool = True) -> nn.Conv2d:
    return nn.Conv2d(cin, cout, 3, 1, 1, bias=bias)


class ResidualDenseBlock(nn.Module):
    """Five densely connected convs; conv5 * 0.2 + x (ESRGAN residual scaling)."""

    def __init__(self, num_feat: int = 64, num_grow_ch: int = 32) -> None:
        super().__init__()
        f, g = num_feat, num_grow_ch
        self.conv1, self.conv2 = _conv3(f, g), _conv3(f + g, g)
        self.conv3, self.conv4 = _conv3(f + 2 * g, g), _conv3(f + 3 * g, g)
        self.conv5 = _conv3(f + 4 * g, f)
        for conv in (self.conv1, self.conv2, self.conv3, self.conv4, self.conv5):
            # ESRGAN's "0.1-scaled" init keeps the deep residual trunk stable from scratch.
            nn.init.kaiming_normal_(conv.weight)
            conv.weight.data.mul_(0.1)
            nn.init.zeros_(conv.bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        feats = [x]
        for conv in (self.conv1, self.conv2, self.conv3, self.conv4):
            feats.append(F.leaky_relu(conv(torch.cat(feats, 1)), 0.2))
        return self.conv5(torch.cat(feats, 1)) * 0.2 + x


class RRDB(nn.Module):
    """Three chained dense blocks; out * 0.2 + x."""

    def __init__(self, num_feat: int, num_grow_ch: int = 32) -> None:
        super().__init__()
        self.rdb1 = ResidualDenseBlock(num_feat, num_grow_ch)
        self.rdb2 = ResidualDenseBlock(num_feat, num_grow_ch)
        self.rdb3 = ResidualDenseBlock(num_feat, num_grow_ch)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.rdb3(self.rdb2(self.rdb1(x))) * 0.2 + x


class RRDBNet(nn.Module):
    """ESRGAN / Real-ESRGAN generator (BasicSR naming). Always two nearest x2 upsamplings;
    scale 2 and 1 pixel-unshuffle the input by 2 / 4 first, so H and W must be multiples of
    ``size_multiple`` (the network does not pad)."""

    def __init__(self, num_in_ch: int = 3, num_out_ch: int = 3, scale: int = 4,
                 num_feat: int = 64, num_block: int = 23, num_grow_ch: int = 32) -> None:
        super().__init__()
        if scale not in _UNSHUFFLE:
            raise ValueError(f"RRDBNet scale must be 1, 2 or 4, not {scale}")
        self.scale, self.size_multiple = scale, _UNSHUFFLE[scale]
        self.conv_first = _conv3(num_in_ch * self.size_multiple ** 2, num_feat)
        self.body = nn.Sequential(*(RRDB(num_feat, num_grow_ch) for _ in range(num_block)))
        self.conv_body = _conv3(num_feat, num_feat)
        self.conv_up1, self.conv_up2 = _conv3(num_feat, num_feat), _conv3(num_feat, num_feat)
        self.conv_hr = _conv3(num_feat, num_feat)
        self.conv_last = _conv3(num_feat, num_out_ch)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        r = self.size_multiple
        if r > 1:
            if x.shape[-2] % r or x.shape[-1] % r:
                raise ValueError(f"RRDBNet x{self.scale} needs H and W divisible by {r}, "
                                 f"got {tuple(x.shape[-2:])}")
            # torch's channel order c*r*r + dy*r + dx is the one BasicSR uses.
            x = F.pixel_unshuffle(x, r)
        feat = self.conv_first(x)
        feat = feat + self.conv_body(self.body(feat))
        for conv in (self.conv_up1, self.conv_up2):
            feat = F.leaky_relu(conv(F.interpolate(feat, scale_factor=2, mode="nearest")), 0.2)
        return self.conv_last(F.leaky_relu(self.conv_hr(feat), 0.2))


class SRVGGNetCompact(nn.Module):
    """Real-ESRGAN's compact net: plain conv/act stack in ``body``, PixelShuffle, plus the
    nearest-upsampled input (so it needs num_in_ch == num_out_ch)."""

    def __init__(self, num_in_ch: int = 3, num_out_ch: int = 3, num_feat: int = 64,
                 num_conv: int = 16, upscale: int = 4, act_type: str = "prelu") -> None:
        super().__init__()
        if act_type not in ACT_TYPES:
            raise ValueError(f"act_type must be one of {ACT_TYPES}, not {act_type!r}")
        if num_in_ch != num_out_ch:
            raise ValueError("SRVGGNetCompact adds its input to the output: in and out "
                             "channels must be equal")
        self.upscale = upscale

        def act() -> nn.Module:
            if act_type == "prelu":
                return nn.PReLU(num_parameters=num_feat)
            return nn.ReLU() if act_type == "relu" else nn.LeakyReLU(0.1)

        layers: list[nn.Module] = [_conv3(num_in_ch, num_feat), act()]
        for _ in range(num_conv):
            layers += [_conv3(num_feat, num_feat), act()]
        layers.append(_conv3(num_feat, num_out_ch * upscale * upscale))
        self.body = nn.ModuleList(layers)
        self.upsampler = nn.PixelShuffle(upscale)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = x
        for layer in self.body:
            out = layer(out)
        base = F.interpolate(x, scale_factor=self.upscale, mode="nearest")
        return self.upsampler(out) + base


class ResidualBlockNoBN(nn.Module):
    """x + conv2(relu(conv1(x))) (res_scale 1)."""

    def __init__(self, num_feat: int) -> None:
        super().__init__()
        self.conv1, self.conv2 = _conv3(num_feat, num_feat), _conv3(num_feat, num_feat)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.conv2(F.relu(self.conv1(x)))


class MSRResNet(nn.Module):
    """BasicSR's modified SRResNet (no BN, LeakyReLU 0.1) with a bilinear global residual."""

    def __init__(self, num_in_ch: int = 3, num_out_ch: int = 3, num_feat: int = 64,
                 num_block: int = 16, upscale: int = 4) -> None:
        super().__init__()
        if upscale not in _SCALES["msrresnet"]:
            raise ValueError(f"MSRResNet upscale must be 2, 3 or 4, not {upscale}")
        if num_in_ch != num_out_ch:
            raise ValueError("MSRResNet adds the upsampled input: in and out channels "
                             "must be equal")
        self.upscale = upscale
        self.conv_first = _conv3(num_in_ch, num_feat)
        self.body = nn.Sequential(*(ResidualBlockNoBN(num_feat) for _ in range(num_block)))
        if upscale == 4:
            self.upconv1 = _conv3(num_feat, num_feat * 4)
            self.upconv2 = _conv3(num_feat, num_feat * 4)
        else:
            self.upconv1 = _conv3(num_feat, num_feat * upscale * upscale)
        self.conv_hr = _conv3(num_feat, num_feat)
        self.conv_last = _conv3(num_feat, num_out_ch)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.body(F.leaky_relu(self.conv_first(x), 0.1))
        if self.upscale == 4:
            for conv in (self.upconv1, self.upconv2):
                out = F.leaky_relu(F.pixel_shuffle(conv(out), 2), 0.1)
        else:
            out = F.leaky_relu(F.pixel_shuffle(self.upconv1(out), self.upscale), 0.1)
        out = self.conv_last(F.leaky_relu(self.conv_hr(out), 0.1))
        return out + F.interpolate(x, scale_factor=self.upscale, mode="bilinear",
                                   align_corners=False)


class _ResidualConvBlock(nn.Module):
    def __init__(self, channels: int) -> None:
        super().__init__()
        self.rcb = nn.Sequential(
            nn.Conv2d(channels, channels, 3, 1, 1, bias=False), nn.BatchNorm2d(channels),
            nn.PReLU(), nn.Conv2d(channels, channels, 3, 1, 1, bias=False),
            nn.BatchNorm2d(channels))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.rcb(x)


class _UpsampleBlock(nn.Module):
    def __init__(self, channels: int) -> None:
        super().__init__()
        self.upsample_block = nn.Sequential(nn.Conv2d(channels, channels * 4, 3, 1, 1),
                                            nn.PixelShuffle(2), nn.PReLU())

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.upsample_block(x)


class SRResNet(nn.Module):
    """The SRGAN generator (classic SRResNet: BN, single-slope PReLU, 9x9 end convs) in
    Lornatang's layout. Output clamped to [0, 1] out of place, so it trains with autograd."""

    def __init__(self, in_channels: int = 3, out_channels: int = 3, channels: int = 64,
                 num_rcb: int = 16, upscale: int = 4) -> None:
        super().__init__()
        if upscale not in _SCALES["srresnet"]:
            raise ValueError(f"SRResNet upscale must be 2, 4 or 8, not {upscale}")
        self.conv1 = nn.Sequential(nn.Conv2d(in_channels, channels, 9, 1, 4), nn.PReLU())
        self.trunk = nn.Sequential(*(_ResidualConvBlock(channels) for _ in range(num_rcb)))
        self.conv2 = nn.Sequential(nn.Conv2d(channels, channels, 3, 1, 1, bias=False),
                                   nn.BatchNorm2d(channels))
        self.upsampling = nn.Sequential(
            *(_UpsampleBlock(channels) for _ in range(int(math.log2(upscale)))))
        self.conv3 = nn.Conv2d(channels, out_channels, 9, 1, 4)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        head = self.conv1(x)
        out = head + self.conv2(self.trunk(head))
        return torch.clamp(self.conv3(self.upsampling(out)), 0.0, 1.0)


class SRGANDiscriminator(nn.Module):
    """SRGAN's VGG-style discriminator: 8 conv3x3 (stride 2 every second, widths c, c, 2c,
    2c, 4c, 4c, 8c, 8c), BN except on the first, LeakyReLU 0.2, then two Linear layers.
    Takes exactly ``input_size`` squares (the Linear size depends on it); returns logits
    ``(B, 1)`` — apply the sigmoid in the loss."""

    def __init__(self, in_channels: int = 3, channels: int = 64, input_size: int = 96) -> None:
        super().__init__()
        if input_size < 16 or input_size % 16:
            raise ValueError(f"input_size must be a positive multiple of 16, not {input_size}")
        self.input_size = input_size
        widths = [channels, channels, 2 * channels, 2 * channels, 4 * channels, 4 * channels,
                  8 * channels, 8 * channels]
        layers: list[nn.Module] = [nn.Conv2d(in_channels, channels, 3, 1, 1),
                                   nn.LeakyReLU(0.2)]
        for i in range(1, 8):
            layers += [nn.Conv2d(widths[i - 1], widths[i], 3, 2 if i % 2 else 1, 1, bias=False),
                       nn.BatchNorm2d(widths[i]), nn.LeakyReLU(0.2)]
        self.features = nn.Sequential(*layers)
        side = input_size // 16
        self.classifier = nn.Sequential(nn.Linear(8 * channels * side * side, 1024),
                                        nn.LeakyReLU(0.2), nn.Linear(1024, 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if tuple(x.shape[-2:]) != (self.input_size, self.input_size):
            raise ValueError(f"the discriminator takes {self.input_size}x{self.input_size} "
                             f"inputs, got {tuple(x.shape[-2:])}")
        return self.classifier(torch.flatten(self.features(x), 1))


@dataclass(frozen=True)
class SRConfig(NetworkConfig):
    """Everything needed to rebuild an SR network. ``num_block`` is the RRDB count
    (rrdbnet), residual block count (msrresnet, srresnet) or ``num_conv`` (srvgg);
    ``num_grow_ch`` matters for rrdbnet only, ``act_type`` for srvgg only. ``naming`` is
    informational: the key naming of the file the weights came from."""

    arch: str = "rrdbnet"
    in_ch: int = 3
    out_ch: int = 3
    scale: int = 4
    num_feat: int = 64
    num_block: int = 23
    num_grow_ch: int = 32
    act_type: str = "prelu"
    naming: str = "basicsr"

    def __post_init__(self) -> None:
        if self.arch not in ARCHS:
            raise ValueError(f"arch must be one of {ARCHS}, not {self.arch!r}")
        if self.naming not in NAMINGS:
            raise ValueError(f"naming must be one of {NAMINGS}, not {self.naming!r}")
        if self.act_type not in ACT_TYPES:
            raise ValueError(f"act_type must be one of {ACT_TYPES}, not {self.act_type!r}")
        if min(self.in_ch, self.out_ch, self.num_feat, self.num_grow_ch, self.scale) < 1:
            raise ValueError("channels, features and scale must be positive")
        if self.num_block < 0:
            raise ValueError("num_block must be >= 0")
        allowed = _SCALES.get(self.arch)
        if allowed is not None and self.scale not in allowed:
            raise ValueError(f"{self.arch} supports scales {allowed}, not {self.scale}")
        if self.arch in ("srvgg", "msrresnet") and self.in_ch != self.out_ch:
            raise ValueError(f"{self.arch} needs in_ch == out_ch (global residual)")

    @property
    def size_multiple(self) -> int:
        """H and W must be multiples of this (pixel-unshuffle RRDBNets only)."""
        return _UNSHUFFLE[self.scale] if self.arch == "rrdbnet" else 1

    def describe(self) -> str:
        """One line for messages and reports."""
        io = f"{self.in_ch}->{self.out_ch} channels"
        if self.arch == "rrdbnet":
            text = (f"RRDBNet x{self.scale} ({self.num_block} blocks, {self.num_feat} features, "
                    f"grow {self.num_grow_ch}, {io}")
            text += ", pixel-unshuffle" if self.scale < 4 else ""
        elif self.arch == "srvgg":
            text = (f"SRVGGNetCompact x{self.scale} ({self.num_block} convs, {self.num_feat} "
                    f"features, {self.act_type}, {io}")
        elif self.arch == "msrresnet":
            text = (f"MSRResNet x{self.scale} ({self.num_block} blocks, {self.num_feat} "
                    f"features, {io}")
        else:
            text = (f"SRResNet/SRGAN generator x{self.scale} ({self.num_block} blocks, "
                    f"{self.num_feat} features, {io}")
        return f"{text}, {self.naming} naming)"

    def build(self) -> nn.Module:
        if self.arch == "rrdbnet":
            return RRDBNet(self.in_ch, self.out_ch, self.scale, self.num_feat, self.num_block,
                           self.num_grow_ch)
        if self.arch == "srvgg":
            return SRVGGNetCompact(self.in_ch, self.out_ch, self.num_feat, self.num_block,
                                   self.scale, self.act_type)
        if self.arch == "msrresnet":
            return MSRResNet(self.in_ch, self.out_ch, self.num_feat, self.num_block, self.scale)
        return SRResNet(self.in_ch, self.out_ch, self.num_feat, self.num_block, self.scale)
