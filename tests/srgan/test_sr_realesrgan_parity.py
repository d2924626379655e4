"""`imgtrans convert --plugin srgan` writes what Real-ESRGAN's inference writes.

The reference below re-implements ``RealESRGANer.enhance`` + the CLI's write step from the
facts in ``reference/sr.md`` §8 with NumPy/OpenCV/torch, independently of imgtrans's
pipeline: 16-bit detection by value, BGR handling, gray via GRAY2RGB and BGR2GRAY, alpha
through the network or resized with INTER_LINEAR, reflect pre-pad and mod-pad, its tile
grid, rounding, and Lanczos ``outscale``."""

from __future__ import annotations

import math
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch
import torch.nn.functional as F
from typer.testing import CliRunner

from imgtrans.cli import app
from imgtrans_srgan.archs import MSRResNet, RRDBNet, SRVGGNetCompact


def realesrgan_reference(net, img, scale, *, tile=0, tile_pad=10, pre_pad=0,
                         alpha_upsampler="realesrgan", outscale=None):
    h_input, w_input = img.shape[:2]
    img = img.astype(np.float32)
    max_range = 65535 if np.max(img) > 256 else 255
    img = img / max_range
    alpha = None
    if img.ndim == 2:
        mode, img = "L", cv2.cvtColor(img, cv2.COLOR_GRAY2RGB)
    elif img.shape[2] == 4:
        mode, alpha = "RGBA", img[:, :, 3]
        img = cv2.cvtColor(img[:, :, 0:3], cv2.COLOR_BGR2RGB)
        if alpha_upsampler == "realesrgan":
            alpha = cv2.cvtColor(alpha, cv2.COLOR_GRAY2RGB)
    else:
        mode, img = "RGB", cv2.cvtColor(img, cv2.COLOR_BGR2RGB)

    def process(rgb):
        x = torch.from_numpy(np.transpose(rgb, (2, 0, 1))).float()[None]
        if pre_pad:
            x = F.pad(x, (0, pre_pad, 0, pre_pad), "reflect")
        mod = {2: 2, 1: 4}.get(scale)
        mph = mpw = 0
        if mod:
            if x.shape[2] % mod:
                mph = mod - x.shape[2] % mod
            if x.shape[3] % mod:
                mpw = mod - x.shape[3] % mod
            x = F.pad(x, (0, mpw, 0, mph), "reflect")
        with torch.no_grad():
            out = tile_process(x) if tile else net(x)
        if mod:
            out = out[:, :, 0:out.shape[2] - mph * scale, 0:out.shape[3] - mpw * scale]
        if pre_pad:
            out = out[:, :, 0:out.shape[2] - pre_pad * scale, 0:out.shape[3] - pre_pad * scale]
        out = out.squeeze(0).float().clamp_(0, 1).numpy()
        return np.transpose(out[[2, 1, 0], :, :], (1, 2, 0))  # RGB -> BGR, HWC

    def tile_process(x):
        _, c, height, width = x.shape
        output = x.new_zeros((1, c, height * scale, width * scale))
        for y in range(math.ceil(height / tile)):
            for xx in range(math.ceil(width / tile)):
                x0, y0 = xx * tile, y * tile
                x1, y1 = min(x0 + tile, width), min(y0 + tile, height)
                px0, py0 = max(x0 - tile_pad, 0), max(y0 - tile_pad, 0)
                px1, py1 = min(x1 + tile_pad, width), min(y1 + tile_pad, height)
                out = net(x[:, :, py0:py1, px0:px1])
                output[:, :, y0 * scale:y1 * scale, x0 * scale:x1 * scale] = out[
                    :, :, (y0 - py0) * scale:(y0 - py0 + y1 - y0) * scale,
                    (x0 - px0) * scale:(x0 - px0 + x1 - x0) * scale]
        return output

    output = process(img)
    if mode == "L":
        output = cv2.cvtColor(output, cv2.COLOR_BGR2GRAY)
    if mode == "RGBA":
        if alpha_upsampler == "realesrgan":
            out_alpha = cv2.cvtColor(process(alpha), cv2.COLOR_BGR2GRAY)
        else:
            h, w = alpha.shape[:2]
            out_alpha = cv2.resize(alpha, (w * scale, h * scale), interpolation=cv2.INTER_LINEAR)
        output = cv2.cvtColor(output, cv2.COLOR_BGR2BGRA)
        output[:, :, 3] = out_alpha
    if max_range == 65535:
        output = (output * 65535.0).round().astype(np.uint16)
    else:
        output = (output * 255.0).round().astype(np.uint8)
    if outscale is not None and outscale != scale:
        output = cv2.resize(output, (int(w_input * outscale), int(h_input * outscale)),
                            interpolation=cv2.INTER_LANCZOS4)
    return output


def _net(kind: str):
    torch.manual_seed({"rrdb4": 1, "rrdb2": 2, "srvgg": 3, "msr": 4}[kind])
    net = {"rrdb4": lambda: RRDBNet(3, 3, scale=4, num_feat=8, num_block=1, num_grow_ch=4),
           "rrdb2": lambda: RRDBNet(3, 3, scale=2, num_feat=8, num_block=1, num_grow_ch=4),
           "srvgg": lambda: SRVGGNetCompact(3, 3, num_feat=8, num_conv=2, upscale=4, act_type="prelu"),
           "msr": lambda: MSRResNet(3, 3, num_feat=8, num_block=2, upscale=4)}[kind]()
    for p in net.parameters():  # keep outputs in a useful range: small weights around identity
        p.data.mul_(0.5)
    return net.eval()


def _image(kind: str, h: int, w: int) -> np.ndarray:
    rng = np.random.default_rng(0)
    top = 65535 if kind == "16bit" else 255
    dtype = np.uint16 if kind == "16bit" else np.uint8
    small = rng.integers(0, top, (h // 4 + 2, w // 4 + 2, 4)).astype(np.float32)
    img = cv2.resize(small, (w, h), interpolation=cv2.INTER_CUBIC).clip(0, top).astype(dtype)
    return {"rgb": img[..., :3], "16bit": img[..., :3], "rgba": img, "gray": img[..., 0]}[kind]


CASES = [
    ("rrdb4", "rgb", {}), ("rrdb4", "rgba", {}), ("rrdb4", "rgba", {"alpha_upsampler": "bicubic"}),
    ("rrdb4", "gray", {}), ("rrdb4", "16bit", {}), ("rrdb2", "rgb", {}), ("rrdb2", "rgba", {"pre_pad": 3}),
    ("srvgg", "rgb", {"tile": 8, "tile_pad": 3}), ("srvgg", "rgb", {"outscale": 2.5}),
    ("msr", "rgb", {"pre_pad": 2, "tile": 12, "tile_pad": 4}), ("rrdb2", "16bit", {"tile": 10, "tile_pad": 2}),
]


@pytest.mark.parametrize("arch, kind, settings", CASES, ids=[f"{a}-{k}-{'-'.join(s)}" for a, k, s in CASES])
def test_matches_realesrgan(host, tmp_path: Path, arch, kind, settings):
    net = _net(arch)
    scale = 2 if arch == "rrdb2" else 4
    torch.save({"params_ema": net.state_dict()}, tmp_path / "model.pth")
    img = _image(kind, 21, 27)  # odd sizes: exercises the x2 mod-pad
    (tmp_path / "in").mkdir()
    assert cv2.imwrite(str(tmp_path / "in" / "x.png"), img)  # OpenCV: BGR(A) as Real-ESRGAN reads it
    args = ["convert", tmp_path / "in", tmp_path / "out", "--plugin", "srgan", "--weights", tmp_path / "model.pth",
            "--opt", f"outscale={settings.get('outscale', scale)}", "--opt", f"pre_pad={settings.get('pre_pad', 0)}",
            "--opt", f"alpha_upsampler={settings.get('alpha_upsampler', 'realesrgan')}"]
    if "tile" in settings:
        args += ["--tile", settings["tile"], "--tile-pad", settings["tile_pad"]]
    result = CliRunner().invoke(app, [str(a) for a in args])
    assert result.exit_code == 0, result.output
    ours = cv2.imread(str(tmp_path / "out" / "x.png"), cv2.IMREAD_UNCHANGED)
    reference = realesrgan_reference(net, img, scale, tile=settings.get("tile", 0),
                                     tile_pad=settings.get("tile_pad", 10), pre_pad=settings.get("pre_pad", 0),
                                     alpha_upsampler=settings.get("alpha_upsampler", "realesrgan"),
                                     outscale=settings.get("outscale"))
    assert ours.shape == reference.shape and ours.dtype == reference.dtype
    assert np.abs(ours.astype(np.int64) - reference.astype(np.int64)).max() <= (257 if kind == "16bit" else 1)
    assert np.mean(ours != reference) < 0.01
