"""How a zoo model's forward is laid out: memory format and images per call.

* **channels_last on the CPU** for the architectures listed in ``CHANNELS_LAST``: oneDNN's
  convolutions run faster on NHWC tensors (1.09-1.54x per image for these, ``bench/zoo.py
  --formats``; results in ``bench/RESULTS.md``), while the output stays within a fraction of
  a level of spandrel's NCHW call. The list is opt-in, not a rule, because channels_last is
  not safe everywhere: RCAN's output goes wrong (``tests/zoo/test_zoo_layout.py``
  shows it), and attention-heavy models (DAT, OmniSR) gain little or lose. Every entry has a
  test comparing it with spandrel's own contiguous inference (the same module). CUDA keeps
  the contiguous format (not measured).
* **One image per call** for ``ONE_IMAGE_PER_CALL``: spandrel's call for these builds a noise
  map of batch 1 and concatenates it to the input, so a batch of more than one image fails.
"""

from __future__ import annotations

from typing import Any

CHANNELS_LAST = frozenset({"Compact", "DRUNet", "ESRGAN", "NAFNet", "PLKSR", "RealCUGAN", "SAFMN",
                           "SCUNet", "SPAN", "SwinIR"})
ONE_IMAGE_PER_CALL = frozenset({"DRUNet", "DnCNN"})


def memory_format(architecture_id: str, device: Any) -> Any:
    """The memory format a model of ``architecture_id`` runs in on ``device``."""
    import torch

    if getattr(device, "type", str(device)) == "cpu" and architecture_id in CHANNELS_LAST:
        return torch.channels_last
    return torch.contiguous_format


def format_name(fmt: Any) -> str:
    import torch

    return "channels_last" if fmt == torch.channels_last else "contiguous"
