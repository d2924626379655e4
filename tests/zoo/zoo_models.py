"""Small random-weight models of spandrel's architectures, built with spandrel's own classes
(never downloaded), and spandrel's own inference to compare imgtrans with.

Imported by the zoo tests only after ``needs_spandrel()`` passed.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable

import pytest

REASON = ("spandrel is not importable here (the zoo extra: pip install 'imgtrans[zoo]' with a "
          "torchvision matching torch; .ci/run runs these tests in .venv-zoo)")


def needs_spandrel() -> None:
    """Skip the calling test module, with the reason, when spandrel does not import."""
    try:
        import spandrel  # noqa: F401
    except Exception as exc:  # ImportError, or torchvision failing beside this torch
        pytest.skip(f"{REASON}: {type(exc).__name__}: {exc}", allow_module_level=True)


def _builders() -> dict[str, tuple[Callable[[], Any], str, int]]:
    """{case: (constructor, architecture name spandrel reports, scale)}: SR at scales 1-4
    and scale-1 restoration, small enough to run on a CPU in well under a second."""
    from spandrel.architectures.DAT import DAT
    from spandrel.architectures.DITN import DITN
    from spandrel.architectures.DnCNN import DnCNN
    from spandrel.architectures.DRUNet import DRUNet
    from spandrel.architectures.NAFNet import NAFNet
    from spandrel.architectures.OmniSR import OmniSR
    from spandrel.architectures.PLKSR import PLKSR, RealPLKSR
    from spandrel.architectures.RCAN import RCAN
    from spandrel.architectures.SAFMN import SAFMN
    from spandrel.architectures.SCUNet import SCUNet
    from spandrel.architectures.SPAN import SPAN
    from spandrel.architectures.SwinIR import SwinIR

    return {
        "span_x4": (lambda: SPAN(num_in_ch=3, num_out_ch=3, feature_channels=16, upscale=4), "SPAN", 4),
        "safmn_x2": (lambda: SAFMN(dim=8, n_blocks=3, ffn_scale=5.0, upscaling_factor=2), "SAFMN", 2),
        "swinir_x2": (lambda: SwinIR(depths=[2, 2], num_heads=[2, 2], embed_dim=12, window_size=8,
                                     upscale=2, upsampler="pixelshuffle", mlp_ratio=2.0), "SwinIR", 2),
        "plksr_x3": (lambda: PLKSR(dim=16, n_blocks=2, upscaling_factor=3), "PLKSR", 3),
        "realplksr_x1": (lambda: RealPLKSR(dim=16, n_blocks=2, upscaling_factor=1), "PLKSR", 1),
        "omnisr_x4": (lambda: OmniSR(num_feat=16, block_num=1, up_scale=4), "OmniSR", 4),
        "dat_x2": (lambda: DAT(embed_dim=32, depth=[2], num_heads=[2], split_size=[2, 4],
                               expansion_factor=2.0, upscale=2, upsampler="pixelshuffle"), "DAT", 2),
        "rcan_x2": (lambda: RCAN(n_resgroups=1, n_resblocks=2, n_feats=16, scale=2), "RCAN", 2),
        "ditn_x4": (lambda: DITN(dim=12, UFONE_blocks=1, ITL_blocks=1, SAL_blocks=1, upscale=4), "DITN", 4),
        "scunet_x1": (lambda: SCUNet(dim=64, config=[1, 1, 1, 1, 1, 1, 1]), "SCUNet", 1),
        "nafnet_x1": (lambda: NAFNet(img_channel=3, width=8, middle_blk_num=1, enc_blk_nums=[1, 1],
                                     dec_blk_nums=[1, 1]), "NAFNet", 1),
        "drunet_x1": (lambda: DRUNet(in_nc=4, out_nc=3, nc=[8, 16, 32, 64], nb=2), "DRUNet", 1),
        "dncnn_x1": (lambda: DnCNN(in_nc=3, out_nc=3, nc=16, nb=10, act_mode="R"), "DnCNN", 1),
    }


def cases() -> list[str]:
    return list(_builders())


def build(case: str, seed: int = 0) -> tuple[Any, str, int]:
    """(network with random weights, eval mode; spandrel's architecture name; scale). The
    weights are scaled so that outputs are images, not noise clipped to 0 and 1."""
    import torch

    make, name, scale = _builders()[case]
    torch.manual_seed(seed)
    net = make().eval()
    return net, name, scale


def save(net: Any, folder: Path, stem: str, fmt: str) -> Path:
    """The network's state dict as ``stem.pth`` (torch.save) or ``stem.safetensors``."""
    import torch

    state = {k: v.detach().clone().contiguous() for k, v in net.state_dict().items()}
    path = folder / f"{stem}.{fmt}"
    if fmt == "safetensors":
        from safetensors.torch import save_file

        save_file(state, str(path))
    else:
        torch.save(state, path)
    return path


def spandrel_output(path: Path, image: Any) -> Any:
    """spandrel's own inference on a uint8/uint16 HWC RGB(A) image: its loader, its
    descriptor called on a (1, 3, H, W) float tensor in [0, 1]; quantized like imgtrans."""
    import numpy as np
    import torch
    from spandrel import ModelLoader

    from imgtrans.weights.safe_load import load_state_dict

    descriptor = ModelLoader().load_from_state_dict(load_state_dict(path)).eval()
    top = 65535.0 if image.dtype == np.uint16 else 255.0
    x = torch.from_numpy(image[..., :3].astype(np.float32) / top).permute(2, 0, 1)[None]
    out = descriptor(x)[0].permute(1, 2, 0).numpy()
    return np.round(np.clip(out, 0, 1) * top).astype(image.dtype)
