"""Recognise an SR checkpoint from its keys and shapes, and load it strictly.

SR files carry no options, and RRDBNet files come in three key namings, so everything
(architecture, scale, width, depth) is read from the state dict (sr.md sections 1.4, 2-5).
Anything that fits no layout or fails the strict load is a ``WeightsError`` saying what was
found and what was expected. Inference never builds a network, so it is cheap enough to
recognise files with.
"""

from __future__ import annotations

import math
import re
from typing import Any, Mapping

from torch import nn

from imgtrans.plugin import WeightsError, build_network, unwrap_state_dict
from imgtrans.plugin import describe_keys as _few
from imgtrans_srgan.archs import SRConfig

DEFAULT_SRVGG_ACT = "leakyrelu"  # ReLU vs LeakyReLU leaves no trace in the weights; arbitrary
SUPPORTED = ("RRDBNet / ESRGAN / Real-ESRGAN (conv_first, body.N.rdbN..., or the older "
             "model.N / RRDB_trunk namings), SRVGGNetCompact (body.N only), MSRResNet "
             "(conv_first, body.N.conv1, upconv1) and SRResNet/SRGAN (conv1.0, trunk.N.rcb, conv3)")
_INTERMEDIATE = ((r"^RRDB_trunk\.", "body."), (r"\.RDB(\d)\.", r".rdb\1."),
                 (r"^trunk_conv\.", "conv_body."), (r"^upconv(\d)\.", r"conv_up\1."),
                 (r"^HRconv\.", "conv_hr."))
_OLD_TOP = {0: "conv_first", 3: "conv_up1", 6: "conv_up2", 8: "conv_hr", 10: "conv_last"}


def _shape(sd: Mapping[str, Any], key: str) -> tuple[int, ...] | None:
    value = sd.get(key)
    return tuple(value.shape) if value is not None else None


def _indices(sd: Mapping[str, Any], pattern: str) -> list[int]:
    return sorted({int(m.group(1)) for k in sd if (m := re.match(pattern, k))})


def _count(sd: Mapping[str, Any], pattern: str) -> int:
    """1 + the highest index, so a gap shows up as missing keys in the strict load."""
    found = _indices(sd, pattern)
    return found[-1] + 1 if found else 0


def _reject_variants(sd: Mapping[str, Any]) -> None:
    odd = [k for k in sd if "conv1x1" in k or re.search(r"(^|\.)srdb", k, re.I)]
    if odd:
        raise WeightsError(f"this is an ESRGAN+ / modified-RRDB variant (found {_few(odd, None, 3)}"
                           f"; extra 1x1 convs or noise inputs), which is not supported; "
                           f"supported: {SUPPORTED}")


def rrdb_naming(sd: Mapping[str, Any]) -> str | None:
    """Which RRDBNet key naming ``sd`` uses, or None if it is no RRDBNet."""
    if "model.0.weight" in sd and any(k.startswith("model.1.sub.") for k in sd):
        return "esrgan_old"
    if any(k.startswith(("RRDB_trunk.", "trunk_conv.")) for k in sd):
        return "esrgan_intermediate"
    if "conv_first.weight" in sd and "conv_up1.weight" in sd and "conv_body.weight" in sd:
        return "basicsr"
    return None


def convert_to_basicsr(sd: Mapping[str, Any]) -> tuple[dict[str, Any], str]:
    """An RRDBNet state dict in BasicSR naming, and the naming it came in. Only two
    upsampling stages exist in our RRDBNet (x4, or x2/x1 with pixel-unshuffle): x8 files
    and ESRGAN+ variants are refused."""
    _reject_variants(sd)
    naming = rrdb_naming(sd)
    if naming is None:
        raise WeightsError(f"not an RRDBNet state dict (found {_few(list(sd), sd, 4)})")
    out: dict[str, Any] = {}
    if naming == "basicsr":
        out = dict(sd)
    elif naming == "esrgan_intermediate":
        for key, value in sd.items():
            for pattern, repl in _INTERMEDIATE:
                key = re.sub(pattern, repl, key)
            out[key] = value
    else:
        top = _indices(sd, r"model\.(\d+)\.")
        stages = (top[-1] + 1 - 5) / 3
        if stages != 2:
            raise WeightsError(
                f"old-format ESRGAN with {stages:g} upsampling stage(s) (x{2 ** stages:g}; "
                f"highest index model.{top[-1]}); only 2 stages (x4, or x2/x1 with "
                f"pixel-unshuffle: model.10 last) are supported")
        trunk = _count(sd, r"model\.1\.sub\.(\d+)\.RDB")
        unmapped = []
        for key, value in sd.items():
            m = re.fullmatch(r"model\.(\d+)\.(weight|bias)", key)
            if m and int(m.group(1)) in _OLD_TOP:
                out[f"{_OLD_TOP[int(m.group(1))]}.{m.group(2)}"] = value
            elif m := re.fullmatch(r"model\.1\.sub\.(\d+)\.RDB(\d)\.conv(\d)\.0\.(weight|bias)",
                                   key):
                out[f"body.{m[1]}.rdb{m[2]}.conv{m[3]}.{m[4]}"] = value
            elif (m := re.fullmatch(r"model\.1\.sub\.(\d+)\.(weight|bias)", key)) \
                    and int(m[1]) == trunk:
                out[f"conv_body.{m[2]}"] = value
            else:
                unmapped.append(key)
        if unmapped:
            raise WeightsError(f"old-format ESRGAN file with keys that fit no RRDBNet layer: "
                               f"{_few(unmapped, sd)}")
    extra = [k for k in out if re.match(r"conv_up([3-9]|\d\d)\.", k)]
    if extra:
        raise WeightsError(f"RRDBNet with more than two upsampling stages (found "
                           f"{_few(extra)}; x8?) is not supported")
    return out, naming


def _make(what: str, **fields: Any) -> SRConfig:
    try:
        return SRConfig(**fields)
    except ValueError as exc:
        raise WeightsError(f"the weights look like {what} but give an invalid "
                           f"configuration: {exc}") from exc


def _need(sd: Mapping[str, Any], key: str, what: str, dims: int = 4) -> tuple[int, ...]:
    shape = _shape(sd, key)
    if shape is None or len(shape) != dims:
        raise WeightsError(f"the weights look like {what}, but {key} is "
                           f"{shape or 'missing'}; expected a {dims}-D tensor")
    return shape


def _infer_rrdb(sd: Mapping[str, Any], naming: str) -> SRConfig:
    what = "an RRDBNet"
    feat, raw_in = _need(sd, "conv_first.weight", what)[:2]
    out_ch = _need(sd, "conv_last.weight", what)[0]
    blocks = _count(sd, r"body\.(\d+)\.")
    grow = _need(sd, "body.0.rdb1.conv1.weight", what)[0] if blocks else 32
    # Assumes in == out channels, as in every published model (sr.md 1.4); otherwise x4.
    scale, in_ch = {out_ch: (4, raw_in), 4 * out_ch: (2, out_ch),
                    16 * out_ch: (1, out_ch)}.get(raw_in, (4, raw_in))
    return _make(what, arch="rrdbnet", in_ch=in_ch, out_ch=out_ch, scale=scale,
                 num_feat=feat, num_block=blocks, num_grow_ch=grow, naming=naming)


def _infer_srvgg(sd: Mapping[str, Any], act_type: str | None) -> SRConfig:
    what = "an SRVGGNetCompact"
    feat, in_ch = _need(sd, "body.0.weight", what)[:2]
    last = _indices(sd, r"body\.(\d+)\.")[-1]
    last_out = _need(sd, f"body.{last}.weight", what)[0]
    scale = math.isqrt(last_out // in_ch) if last_out % in_ch == 0 else 0
    if last % 2 or scale * scale * in_ch != last_out:
        raise WeightsError(f"the weights look like {what}, but its last conv body.{last} has "
                           f"{last_out} outputs; expected an even index and in_ch * scale^2 "
                           f"outputs (in_ch {in_ch})")
    prelu = "body.1.weight" in sd
    if act_type is None:
        act_type = "prelu" if prelu else DEFAULT_SRVGG_ACT
    elif prelu != (act_type == "prelu"):
        raise WeightsError(f"act_type {act_type!r} does not fit the weights: they "
                           f"{'have' if prelu else 'have no'} PReLU slopes (body.1.weight)")
    return _make(what, arch="srvgg", in_ch=in_ch, out_ch=in_ch, scale=scale, num_feat=feat,
                 num_block=(last - 2) // 2, act_type=act_type)


def _infer_msrresnet(sd: Mapping[str, Any]) -> SRConfig:
    what = "an MSRResNet"
    feat, in_ch = _need(sd, "conv_first.weight", what)[:2]
    out_ch = _need(sd, "conv_last.weight", what)[0]
    if any(k.startswith("upconv2.") for k in sd):  # a second upsampling stage (its weight may be the part missing)
        scale = 4
    else:
        up = _need(sd, "upconv1.weight", what)[0]
        scale = math.isqrt(up // feat)
        if scale * scale * feat != up:
            raise WeightsError(f"the weights look like {what}, but upconv1 has {up} outputs; "
                               f"expected num_feat ({feat}) * scale^2")
    return _make(what, arch="msrresnet", in_ch=in_ch, out_ch=out_ch, scale=scale,
                 num_feat=feat, num_block=_count(sd, r"body\.(\d+)\."))


def _infer_srresnet(sd: Mapping[str, Any]) -> SRConfig:
    what = "an SRResNet/SRGAN generator"
    feat, in_ch = _need(sd, "conv1.0.weight", what)[:2]
    out_ch = _need(sd, "conv3.weight", what)[0]
    return _make(what, arch="srresnet", in_ch=in_ch, out_ch=out_ch,
                 scale=2 ** _count(sd, r"upsampling\.(\d+)\."), num_feat=feat,
                 num_block=_count(sd, r"trunk\.(\d+)\."), naming="lornatang")


def _no_fit(sd: Mapping[str, Any]) -> WeightsError:
    hint = ""
    g = _shape(sd, "model.1.weight") or _shape(sd, "model.model.0.weight")
    if g is not None and len(g) == 4 and g[2:] in ((7, 7), (4, 4)):
        hint = " This looks like a pix2pix/CycleGAN generator; use those translators."
    elif any(k.startswith(("features.", "conv0_0.", "conv0.")) for k in sd):
        hint = " This looks like a discriminator; inference needs the generator file."
    return WeightsError(f"the weights fit no super-resolution layout: found {len(sd)} tensors "
                        f"(first: {_few(list(sd), sd, 4)}); supported: {SUPPORTED}.{hint}")


def _prepare(obj: Any) -> tuple[dict[str, Any], str | None]:
    sd = unwrap_state_dict(obj)
    _reject_variants(sd)
    if rrdb_naming(sd) is not None:
        return convert_to_basicsr(sd)
    return sd, None


def _infer(sd: Mapping[str, Any], naming: str | None, act_type: str | None) -> SRConfig:
    if naming is not None:
        return _infer_rrdb(sd, naming)
    if "conv1.0.weight" in sd and "conv3.weight" in sd:
        return _infer_srresnet(sd)
    if "conv_first.weight" in sd and "upconv1.weight" in sd:
        return _infer_msrresnet(sd)
    if "body.0.weight" in sd and all(k.startswith("body.") for k in sd):
        return _infer_srvgg(sd, act_type)
    raise _no_fit(sd)


def infer_sr_config(obj: Any, *, act_type: str | None = None) -> SRConfig:
    """The network a checkpoint (any wrapper, any RRDBNet naming) belongs to. ``act_type``
    overrides the SRVGG activation guess (PReLU is detected; relu vs leakyrelu is not, and
    defaults to ``DEFAULT_SRVGG_ACT``)."""
    sd, naming = _prepare(obj)
    return _infer(sd, naming, act_type)


def is_sr_network(obj: Any) -> bool:
    """True when ``obj`` (a state dict, maybe wrapped) is an SR network this plugin loads;
    decided from keys and shapes alone, for telling which translator a file belongs to."""
    try:
        infer_sr_config(obj)
    except Exception:  # anything odd in a foreign file just means "not ours"
        return False
    return True


def load_sr_model(obj: Any, *, act_type: str | None = None) -> tuple[nn.Module, SRConfig]:
    """unwrap → convert naming → infer → build → strict load; the module is in eval mode.
    Inputs are RGB in [0, 1]; H and W must be multiples of ``config.size_multiple``."""
    sd, naming = _prepare(obj)
    config = _infer(sd, naming, act_type)
    return build_network(config, sd), config
