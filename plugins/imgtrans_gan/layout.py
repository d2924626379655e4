"""Work out a pix2pix / CycleGAN network from its state dict alone, and load it strictly.

Checkpoints of the reference implementation carry no options, so the architecture (ResNet or
U-Net, width, depth, norm, dropout, channels) is read from key names and shapes. Anything
that fits no layout, or fails the strict load, becomes a ``WeightsError`` that says what was
found and what was expected. Inference never builds a network, so it is cheap enough to
recognise files with.
"""

from __future__ import annotations

import re
from typing import Any, Mapping

import torch
from torch import nn

from imgtrans.plugin import WeightsError, build_network, unwrap_state_dict
from imgtrans.plugin import describe_keys as _listing
from imgtrans_gan.networks import DiscriminatorConfig, GeneratorConfig

_EXPECTED_G = ("a ResNet generator (model.1.weight of shape (ngf, C, 7, 7)) or a U-Net "
               "generator (model.model.0.weight of shape (ngf, C, 4, 4))")
_EXPECTED_D = ("a PatchGAN discriminator (model.0.weight of shape (ndf, C, 4, 4)) or a "
               "PixelGAN discriminator (net.0.weight of shape (ndf, C, 1, 1))")
# (first conv index, second conv index) inside a ResnetBlock -> (padding_type, use_dropout).
# "replicate" padding has the same keys as "reflect" and cannot be told apart.
_BLOCK_LAYOUTS = {(1, 5): ("reflect", False), (1, 6): ("reflect", True),
                  (0, 3): ("zero", False), (0, 4): ("zero", True)}


def _is_tensor(value: Any) -> bool:
    return hasattr(value, "shape") and hasattr(value, "dtype")


def _shape(sd: Mapping[str, Any], key: str) -> tuple[int, ...] | None:
    value = sd.get(key)
    return tuple(value.shape) if value is not None else None


def strip_wrappers(state_dict: Mapping[str, Any]) -> dict[str, Any]:
    """Plain ``{key: tensor}`` via :func:`unwrap_state_dict`; a file holding several networks
    (``{"netG": ..., "netD": ...}``) gets a message saying so instead of "no tensors"."""
    try:
        return unwrap_state_dict(state_dict)
    except WeightsError:
        nested = [k for k, v in state_dict.items()
                  if isinstance(v, Mapping) and any(_is_tensor(t) for t in v.values())
                  ] if isinstance(state_dict, Mapping) else []
        if len(nested) > 1:
            raise WeightsError(f"the checkpoint holds several networks ({', '.join(map(str, nested))}); "
                               f"save the one to use as its own state dict") from None
        raise


def _no_fit(sd: Mapping[str, Any], what: str, expected: str, hint: str = "") -> WeightsError:
    found = f"{len(sd)} tensors (first: {_listing(list(sd), sd, 4)})"
    return WeightsError(f"the weights fit no {what} layout: found {found}; expected "
                        f"{expected}{hint}")


def infer_generator_config(state_dict: Mapping[str, Any], *,
                           unet_dropout: bool = True) -> GeneratorConfig:
    """The generator a state dict belongs to (see gan.md section 2).

    A U-Net's dropout leaves no trace in its keys; it is ``unet_dropout`` (the reference
    default is on). Raises ``WeightsError`` when nothing fits.
    """
    sd = strip_wrappers(state_dict)
    first = _shape(sd, "model.1.weight")
    if first is not None and len(first) == 4 and first[2:] == (7, 7):
        return _infer_resnet(sd, first)
    first = _shape(sd, "model.model.0.weight")
    if first is not None and len(first) == 4 and first[2:] == (4, 4):
        return _infer_unet(sd, first, unet_dropout)
    hint = ""
    d_first = _shape(sd, "model.0.weight") or _shape(sd, "net.0.weight")
    if d_first is not None and len(d_first) == 4 and d_first[2:] in ((4, 4), (1, 1)):
        hint = (". This looks like a discriminator (…_net_D….pth); inference needs the "
                "generator file (latest_net_G.pth, latest_net_G_A.pth, …)")
    raise _no_fit(sd, "pix2pix/CycleGAN generator", _EXPECTED_G, hint)


def is_generator(state_dict: Any) -> bool:
    """True when ``state_dict`` (maybe wrapped) is a generator this plugin loads; decided from
    keys and shapes alone, for telling which translator a file belongs to."""
    try:
        infer_generator_config(state_dict)
    except Exception:  # anything odd in a foreign file just means "not ours"
        return False
    return True


def _norm_of(sd: Mapping[str, Any], norm_key: str, conv_bias_key: str) -> str:
    # BatchNorm has an affine weight at the norm position; legacy InstanceNorm files only have
    # running stats there, so running_mean alone does not mean batch norm.
    if norm_key + ".weight" in sd:
        return "batch"
    return "instance" if conv_bias_key in sd else "none"


def _make(cls: type, what: str, **fields: Any):
    try:
        return cls(**fields)
    except ValueError as exc:
        raise WeightsError(f"the weights look like {what} but give an invalid "
                           f"configuration: {exc}") from exc


def _infer_resnet(sd: Mapping[str, Any], first: tuple[int, ...]) -> GeneratorConfig:
    ngf, input_nc = first[0], first[1]
    blocks = sorted({int(m.group(1)) for k in sd
                     if (m := re.match(r"model\.(\d+)\.conv_block\.", k))})
    n_blocks = len(blocks)
    if blocks != list(range(10, 10 + n_blocks)):
        raise WeightsError(f"the weights look like a ResNet generator, but its residual blocks "
                           f"are at model.{blocks} instead of model.10 to model.{9 + n_blocks}")
    padding_type, use_dropout = "reflect", False
    layouts = set()
    for b in blocks:
        convs = tuple(sorted(int(m.group(1)) for k, v in sd.items()
                             if (m := re.fullmatch(rf"model\.{b}\.conv_block\.(\d+)\.weight", k))
                             and len(v.shape) == 4))
        layouts.add(convs)
    if layouts:
        if len(layouts) > 1 or next(iter(layouts)) not in _BLOCK_LAYOUTS:
            raise WeightsError(
                f"the weights look like a ResNet generator, but its residual blocks have convs "
                f"at conv_block indices {sorted(layouts)}; expected (1, 5) (no dropout) or "
                f"(1, 6) (dropout) with reflect padding, (0, 3)/(0, 4) with zero padding")
        padding_type, use_dropout = _BLOCK_LAYOUTS[next(iter(layouts))]
    last = f"model.{17 + n_blocks}.weight"
    out_shape = _shape(sd, last)
    if out_shape is None or len(out_shape) != 4 or out_shape[1:] != (ngf, 7, 7):
        raise WeightsError(f"the weights look like a ResNet generator with {n_blocks} blocks, "
                           f"but the final conv {last} is {out_shape or 'missing'}; expected "
                           f"shape (output_nc, {ngf}, 7, 7)")
    return _make(GeneratorConfig, "a ResNet generator", arch="resnet", input_nc=input_nc,
                 output_nc=out_shape[0], ngf=ngf, norm=_norm_of(sd, "model.2", "model.1.bias"),
                 use_dropout=use_dropout, n_blocks=n_blocks, padding_type=padding_type)


def _infer_unet(sd: Mapping[str, Any], first: tuple[int, ...],
                use_dropout: bool) -> GeneratorConfig:
    ngf, input_nc = first[0], first[1]
    up = _shape(sd, "model.model.3.weight")
    if up is None or len(up) != 4 or up[0] != 2 * ngf:
        raise WeightsError(f"the weights look like a U-Net generator, but its last ConvTranspose "
                           f"model.model.3.weight is {up or 'missing'}; expected shape "
                           f"({2 * ngf}, output_nc, 4, 4)")
    seq, depth = "model.model.1.model", 2
    if f"{seq}.1.weight" not in sd:
        raise WeightsError("the weights look like a U-Net generator, but the second level "
                           f"({seq}.1.weight) is missing")
    while f"{seq}.3.model.1.weight" in sd:  # the submodule of a middle level sits at index 3
        seq, depth = f"{seq}.3.model", depth + 1
    if f"{seq}.3.weight" not in sd or depth < 5:
        raise WeightsError(f"the weights look like a U-Net generator, but the nesting stops at "
                           f"{seq} (depth {depth}) without an innermost ConvTranspose "
                           f"({seq}.3.weight); expected at least 5 levels")
    return _make(GeneratorConfig, "a U-Net generator", arch="unet", input_nc=input_nc,
                 output_nc=up[1], ngf=ngf,
                 norm=_norm_of(sd, "model.model.1.model.2", "model.model.0.bias"),
                 use_dropout=use_dropout, num_downs=depth)


def infer_discriminator_config(state_dict: Mapping[str, Any]) -> DiscriminatorConfig:
    """The discriminator a state dict belongs to: basic (3 layers), n_layers or pixel."""
    sd = strip_wrappers(state_dict)
    pixel = _shape(sd, "net.0.weight")
    if pixel is not None and len(pixel) == 4 and pixel[2:] == (1, 1):
        return _make(DiscriminatorConfig, "a PixelGAN discriminator", arch="pixel",
                     input_nc=pixel[1], ndf=pixel[0], norm=_norm_of(sd, "net.3", "net.2.bias"))
    first = _shape(sd, "model.0.weight")
    if first is None or len(first) != 4 or first[2:] != (4, 4):
        raise _no_fit(sd, "discriminator", _EXPECTED_D)
    convs = sorted(int(m.group(1)) for k, v in sd.items()
                   if (m := re.fullmatch(r"model\.(\d+)\.weight", k)) and len(v.shape) == 4)
    levels = len(convs) - 2  # convs followed by a norm
    if (levels < 1 or convs != [0] + [2 + 3 * i for i in range(levels + 1)]
            or _shape(sd, f"model.{convs[-1]}.weight")[0] != 1):
        raise WeightsError(f"the weights look like a PatchGAN discriminator, but its convs are "
                           f"at model.{convs}; expected model.0, model.2, model.5, … every 3, "
                           f"the last one with 1 output channel")
    n_layers = levels
    if levels == 1 and _shape(sd, "model.2.weight")[0] == first[0]:
        n_layers = 0  # the reference still adds one normed (ndf -> ndf) level for 0
    return _make(DiscriminatorConfig, "a PatchGAN discriminator",
                 arch="basic" if n_layers == 3 else "n_layers", input_nc=first[1], ndf=first[0],
                 n_layers=n_layers, norm=_norm_of(sd, "model.3", "model.2.bias"))


def drop_legacy_instance_norm_keys(state_dict: Mapping[str, Any],
                                   config: GeneratorConfig | DiscriminatorConfig | nn.Module,
                                   ) -> dict[str, Any]:
    """Remove running_mean/running_var/num_batches_tracked keys that sit on InstanceNorm
    layers without running stats, as the reference loader does: old files carry them, and
    they are ignored (instance statistics are always used). ``config`` may be a built module."""
    if isinstance(config, nn.Module):
        model = config
    else:
        with torch.device("meta"):  # only the module tree is needed, not memory
            model = config.build()
    modules = dict(model.named_modules())
    out = {}
    for key, value in state_dict.items():
        owner, _, leaf = key.rpartition(".")
        module = modules.get(owner)
        if isinstance(module, nn.modules.instancenorm._InstanceNorm) and (
                leaf == "num_batches_tracked"
                or (leaf in ("running_mean", "running_var") and getattr(module, leaf) is None)):
            continue
        out[key] = value
    return out


def load_generator(state_dict: Mapping[str, Any], *,
                   unet_dropout: bool = True) -> tuple[nn.Module, GeneratorConfig]:
    """strip → infer → build → drop legacy keys → strict load. The module is returned in
    eval mode; use ``set_pix2pix_test_mode`` to pick the test behaviour."""
    sd = strip_wrappers(state_dict)
    config = infer_generator_config(sd, unet_dropout=unet_dropout)
    return build_network(config, drop_legacy_instance_norm_keys(sd, config)), config


def load_discriminator(state_dict: Mapping[str, Any]) -> tuple[nn.Module,
                                                               DiscriminatorConfig]:
    """Like ``load_generator``, for discriminators (e.g. to resume training)."""
    sd = strip_wrappers(state_dict)
    config = infer_discriminator_config(sd)
    return build_network(config, drop_legacy_instance_norm_keys(sd, config)), config
