"""Generators and discriminators of the pix2pix / CycleGAN family.

The module trees (attribute names, Sequential indices, which convs have a bias) follow the
reference implementation exactly, so its ``.pth`` files load with ``strict=True`` and the same
keys. Conventions: input ``(B, C, H, W)`` float32 in [-1, 1], output in [-1, 1] (Tanh).
ResNet generators need H, W multiples of 4, U-Nets multiples of ``2 ** num_downs``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

import torch
from torch import nn

from imgtrans.plugin import NetworkConfig
from imgtrans_gan.modes import PerImageBatchNorm2d, PerImageDropout

NORMS = ("batch", "instance", "none")
GENERATOR_PRESETS = {
    "resnet_9blocks": {"arch": "resnet", "n_blocks": 9},
    "resnet_6blocks": {"arch": "resnet", "n_blocks": 6},
    "unet_128": {"arch": "unet", "num_downs": 7},
    "unet_256": {"arch": "unet", "num_downs": 8},
}


def norm_factory(norm: str) -> Callable[[int], nn.Module]:
    """A constructor ``f(channels)`` for the norm layer; "none" gives a parameterless
    Identity so the Sequential indices stay the same as with a real norm."""
    if norm == "batch":
        return lambda c: PerImageBatchNorm2d(c, affine=True, track_running_stats=True)
    if norm == "instance":
        return lambda c: nn.InstanceNorm2d(c, affine=False, track_running_stats=False)
    if norm == "none":
        return lambda c: nn.Identity()
    raise ValueError(f"norm must be one of {NORMS}, not {norm!r}")


def _use_bias(norm: str) -> bool:
    # Reference quirk: only InstanceNorm gives the convs before a norm a bias ("none" does not).
    return norm == "instance"


class ResnetBlock(nn.Module):
    """x + conv_block(x); no activation after the sum."""

    def __init__(self, dim: int, padding_type: str, norm: str, use_dropout: bool,
                 use_bias: bool) -> None:
        super().__init__()
        make_norm = norm_factory(norm)
        layers: list[nn.Module] = []
        for second in (False, True):
            pad = 0
            if padding_type == "reflect":
                layers.append(nn.ReflectionPad2d(1))
            elif padding_type == "replicate":
                layers.append(nn.ReplicationPad2d(1))
            elif padding_type == "zero":
                pad = 1
            else:
                raise ValueError(f"padding_type must be reflect, replicate or zero, "
                                 f"not {padding_type!r}")
            layers += [nn.Conv2d(dim, dim, 3, padding=pad, bias=use_bias), make_norm(dim)]
            if not second:
                layers.append(nn.ReLU(True))
                if use_dropout:
                    layers.append(PerImageDropout(0.5))
        self.conv_block = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.conv_block(x)


class ResnetGenerator(nn.Module):
    """Johnson-style encoder / residual blocks / decoder (CycleGAN's default generator)."""

    def __init__(self, input_nc: int, output_nc: int, ngf: int = 64, norm: str = "instance",
                 use_dropout: bool = False, n_blocks: int = 9,
                 padding_type: str = "reflect") -> None:
        super().__init__()
        if n_blocks < 0:
            raise ValueError("n_blocks must be >= 0")
        make_norm, bias = norm_factory(norm), _use_bias(norm)
        layers: list[nn.Module] = [nn.ReflectionPad2d(3),
                                   nn.Conv2d(input_nc, ngf, 7, bias=bias), make_norm(ngf),
                                   nn.ReLU(True)]
        for mult in (1, 2):
            layers += [nn.Conv2d(ngf * mult, ngf * mult * 2, 3, stride=2, padding=1, bias=bias),
                       make_norm(ngf * mult * 2), nn.ReLU(True)]
        for _ in range(n_blocks):
            layers.append(ResnetBlock(ngf * 4, padding_type, norm, use_dropout, bias))
        for mult in (4, 2):
            layers += [nn.ConvTranspose2d(ngf * mult, ngf * mult // 2, 3, stride=2, padding=1,
                                          output_padding=1, bias=bias),
                       make_norm(ngf * mult // 2), nn.ReLU(True)]
        layers += [nn.ReflectionPad2d(3), nn.Conv2d(ngf, output_nc, 7), nn.Tanh()]
        self.model = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.model(x)


class UnetSkipConnectionBlock(nn.Module):
    """One U-Net level: down, ``submodule``, up; non-outermost levels return cat([x, y], 1).

    The down LeakyReLU is in-place as in the reference, so the skip half of the concatenation
    carries leaky_relu(x), not x. Pretrained weights were trained that way; keep it.
    """

    def __init__(self, outer_nc: int, inner_nc: int, input_nc: int | None = None,
                 submodule: nn.Module | None = None, outermost: bool = False,
                 innermost: bool = False, norm: str = "batch", use_dropout: bool = False) -> None:
        super().__init__()
        self.outermost = outermost
        make_norm, bias = norm_factory(norm), _use_bias(norm)
        down_conv = nn.Conv2d(input_nc or outer_nc, inner_nc, 4, stride=2, padding=1, bias=bias)
        if outermost:
            layers = [down_conv, submodule, nn.ReLU(True),
                      nn.ConvTranspose2d(inner_nc * 2, outer_nc, 4, stride=2, padding=1),
                      nn.Tanh()]
        elif innermost:
            layers = [nn.LeakyReLU(0.2, True), down_conv, nn.ReLU(True),
                      nn.ConvTranspose2d(inner_nc, outer_nc, 4, stride=2, padding=1, bias=bias),
                      make_norm(outer_nc)]
        else:
            layers = [nn.LeakyReLU(0.2, True), down_conv, make_norm(inner_nc), submodule,
                      nn.ReLU(True),
                      nn.ConvTranspose2d(inner_nc * 2, outer_nc, 4, stride=2, padding=1,
                                         bias=bias),
                      make_norm(outer_nc)]
            if use_dropout:  # appended last, so the state-dict keys do not change
                layers.append(PerImageDropout(0.5))
        self.model = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.outermost:
            return self.model(x)
        return torch.cat([x, self.model(x)], 1)


class UnetGenerator(nn.Module):
    """pix2pix U-Net; ``num_downs`` halvings, so H, W must be multiples of 2**num_downs."""

    def __init__(self, input_nc: int, output_nc: int, num_downs: int = 8, ngf: int = 64,
                 norm: str = "batch", use_dropout: bool = False) -> None:
        super().__init__()
        if num_downs < 5:
            raise ValueError("num_downs must be >= 5 (the reference builds 5 levels minimum)")
        block = UnetSkipConnectionBlock(ngf * 8, ngf * 8, innermost=True, norm=norm)
        for _ in range(num_downs - 5):  # only these "ngf*8 repeat" levels get dropout
            block = UnetSkipConnectionBlock(ngf * 8, ngf * 8, submodule=block, norm=norm,
                                            use_dropout=use_dropout)
        for mult in (4, 2, 1):
            block = UnetSkipConnectionBlock(ngf * mult, ngf * mult * 2, submodule=block,
                                            norm=norm)
        self.model = UnetSkipConnectionBlock(output_nc, ngf, input_nc=input_nc, submodule=block,
                                             outermost=True, norm=norm)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.model(x)


class NLayerDiscriminator(nn.Module):
    """PatchGAN; n_layers=3 is the 70x70 "basic" D. Returns logits (no sigmoid)."""

    def __init__(self, input_nc: int, ndf: int = 64, n_layers: int = 3,
                 norm: str = "batch") -> None:
        super().__init__()
        if n_layers < 0:
            raise ValueError("n_layers must be >= 0")
        make_norm, bias = norm_factory(norm), _use_bias(norm)
        layers: list[nn.Module] = [nn.Conv2d(input_nc, ndf, 4, stride=2, padding=1),
                                   nn.LeakyReLU(0.2, True)]
        mult = 1
        # n_layers - 1 stride-2 levels, then one stride-1 level (so n_layers=0 still has one).
        for n in list(range(1, n_layers)) + [n_layers]:
            prev, mult = mult, min(2 ** n, 8)
            stride = 2 if n < n_layers else 1
            layers += [nn.Conv2d(ndf * prev, ndf * mult, 4, stride=stride, padding=1, bias=bias),
                       make_norm(ndf * mult), nn.LeakyReLU(0.2, True)]
        layers.append(nn.Conv2d(ndf * mult, 1, 4, stride=1, padding=1))
        self.model = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.model(x)


class PixelDiscriminator(nn.Module):
    """1x1 PatchGAN (a per-pixel classifier). Returns logits."""

    def __init__(self, input_nc: int, ndf: int = 64, norm: str = "batch") -> None:
        super().__init__()
        make_norm, bias = norm_factory(norm), _use_bias(norm)
        self.net = nn.Sequential(
            nn.Conv2d(input_nc, ndf, 1), nn.LeakyReLU(0.2, True),
            nn.Conv2d(ndf, ndf * 2, 1, bias=bias), make_norm(ndf * 2), nn.LeakyReLU(0.2, True),
            nn.Conv2d(ndf * 2, 1, 1, bias=bias))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)


def init_weights(net: nn.Module, init_type: str = "normal", gain: float = 0.02,
                 generator: torch.Generator | None = None) -> nn.Module:
    """The reference initialisation: weights of Conv*/Linear modules by ``init_type``
    (normal N(0, gain), xavier, kaiming fan_in, orthogonal), their biases 0; BatchNorm2d
    weight N(1, gain) and bias 0. ``generator`` makes it reproducible."""
    inits = {
        "normal": lambda w: nn.init.normal_(w, 0.0, gain, generator=generator),
        "xavier": lambda w: nn.init.xavier_normal_(w, gain=gain, generator=generator),
        "kaiming": lambda w: nn.init.kaiming_normal_(w, a=0, mode="fan_in",
                                                     generator=generator),
        "orthogonal": lambda w: nn.init.orthogonal_(w, gain=gain, generator=generator),
    }
    if init_type not in inits:
        raise ValueError(f"init_type must be one of {tuple(inits)}, not {init_type!r}")
    with torch.no_grad():
        for module in net.modules():
            kind = type(module).__name__
            weight = getattr(module, "weight", None)
            if ("Conv" in kind or "Linear" in kind) and weight is not None:
                inits[init_type](weight)
                if getattr(module, "bias", None) is not None:
                    nn.init.zeros_(module.bias)
            elif "BatchNorm2d" in kind and weight is not None:
                nn.init.normal_(weight, 1.0, gain, generator=generator)
                nn.init.zeros_(module.bias)
    return net


@dataclass(frozen=True)
class GeneratorConfig(NetworkConfig):
    """Everything needed to rebuild a generator. ``n_blocks``/``padding_type`` matter for
    "resnet" only, ``num_downs`` for "unet" only."""

    arch: str = "resnet"
    input_nc: int = 3
    output_nc: int = 3
    ngf: int = 64
    norm: str = "instance"
    use_dropout: bool = False
    n_blocks: int = 9
    num_downs: int = 8
    padding_type: str = "reflect"

    def __post_init__(self) -> None:
        if self.arch not in ("resnet", "unet"):
            raise ValueError(f"generator arch must be resnet or unet, not {self.arch!r}")
        if self.norm not in NORMS:
            raise ValueError(f"norm must be one of {NORMS}, not {self.norm!r}")
        if min(self.input_nc, self.output_nc, self.ngf) < 1:
            raise ValueError("input_nc, output_nc and ngf must be positive")

    @classmethod
    def preset(cls, net_g: str, **overrides: Any) -> "GeneratorConfig":
        """From a reference ``--netG`` name (resnet_9blocks, resnet_6blocks, unet_128, unet_256)."""
        if net_g not in GENERATOR_PRESETS:
            raise ValueError(f"unknown netG {net_g!r}; known: {', '.join(GENERATOR_PRESETS)}")
        return cls(**{**GENERATOR_PRESETS[net_g], **overrides})

    @property
    def size_multiple(self) -> int:
        """H and W must be multiples of this."""
        return 4 if self.arch == "resnet" else 2 ** self.num_downs

    def describe(self) -> str:
        """One line for messages and reports."""
        dropout = "dropout" if self.use_dropout else "no dropout"
        if self.arch == "resnet":
            head = f"ResNet generator ({self.n_blocks} blocks"
        else:
            head = f"U-Net generator ({self.num_downs} downsamplings"
        return (f"{head}, ngf {self.ngf}, {self.norm} norm, {dropout}, "
                f"{self.input_nc}->{self.output_nc} channels)")

    def build(self) -> nn.Module:
        if self.arch == "resnet":
            return ResnetGenerator(self.input_nc, self.output_nc, self.ngf, self.norm,
                                   self.use_dropout, self.n_blocks, self.padding_type)
        return UnetGenerator(self.input_nc, self.output_nc, self.num_downs, self.ngf, self.norm,
                             self.use_dropout)


@dataclass(frozen=True)
class DiscriminatorConfig(NetworkConfig):
    """``arch`` "basic" is n_layers 3 (its ``n_layers`` is ignored); "pixel" ignores n_layers."""

    arch: str = "basic"
    input_nc: int = 3
    ndf: int = 64
    n_layers: int = 3
    norm: str = "batch"

    def __post_init__(self) -> None:
        if self.arch not in ("basic", "n_layers", "pixel"):
            raise ValueError(f"discriminator arch must be basic, n_layers or pixel, "
                             f"not {self.arch!r}")
        if self.norm not in NORMS:
            raise ValueError(f"norm must be one of {NORMS}, not {self.norm!r}")

    def describe(self) -> str:
        """One line for messages and reports."""
        kind = {"basic": "70x70 PatchGAN", "pixel": "PixelGAN",
                "n_layers": f"{self.n_layers}-layer PatchGAN"}[self.arch]
        return (f"{kind} discriminator (ndf {self.ndf}, {self.norm} norm, "
                f"{self.input_nc} input channels)")

    def build(self) -> nn.Module:
        if self.arch == "pixel":
            return PixelDiscriminator(self.input_nc, self.ndf, self.norm)
        n_layers = 3 if self.arch == "basic" else self.n_layers
        return NLayerDiscriminator(self.input_nc, self.ndf, n_layers, self.norm)
