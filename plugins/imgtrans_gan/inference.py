"""Inference shared by the pix2pix and CycleGAN translators: loading one generator from any
supported location, running it with the reference's test-time behaviour (made
reproducible), and exporting checkpoints to the reference layout.

Weights can be a reference checkpoint file (``latest_net_G.pth``; the architecture is read
off the state dict), a reference CycleGAN folder (``latest_net_G_A.pth`` and
``latest_net_G_B.pth``; ``direction`` picks one), or an imgtrans checkpoint or run folder
written by ``imgtrans train``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Sequence

import torch
from torch import nn

from imgtrans.plugin import ResolvedWeights, WeightsError, build_network, load_state_dict, read_checkpoint
from imgtrans_gan.layout import load_generator
from imgtrans_gan.modes import per_image
from imgtrans_gan.networks import GeneratorConfig


def _reference_file(folder: Path, direction: str) -> Path | None:
    suffix = "_A" if direction == "AtoB" else "_B"
    for name in (f"latest_net_G{suffix}.pth", "latest_net_G.pth"):
        if (folder / name).is_file():
            return folder / name
    return None


def load_generator_weights(weights: ResolvedWeights, direction: str, translator: str,
                           network: str) -> tuple[nn.Module, GeneratorConfig]:
    """(generator module in eval mode, GeneratorConfig) from resolved weights: an imgtrans
    checkpoint of ``translator`` (its generator ``network``), a reference folder
    (``latest_net_G_A.pth``...; ``direction`` picks one) or a reference file."""
    if weights.kind == "checkpoint":
        weights.checkpoint.expect(translator)
        saved, state = weights.network(network)
        config = GeneratorConfig.from_dict(saved)
        return build_network(config, state), config
    if weights.kind == "folder":
        found = _reference_file(weights.path, direction)
        if found is None:
            raise WeightsError(f"{weights.path}: no latest_net_G_A.pth / latest_net_G_B.pth / "
                               "latest_net_G.pth and no imgtrans checkpoint in this folder")
        return load_generator(load_state_dict(found))
    return load_generator(weights.state_dict())


def run_generator(net: nn.Module, images: torch.Tensor, batch_statistics: bool,
                  generators: Sequence[torch.Generator]) -> torch.Tensor:
    """The whole batch in one forward. With ``batch_statistics`` (the reference's default test
    mode: BN on the image's own statistics, active dropout) each image gets its own
    statistics and dropout masks drawn from a generator seeded like ``generators[i]``, which
    on the CPU gives bit for bit what one image alone with the global RNG so seeded gives."""
    if not batch_statistics:
        return net(images)
    seeded = [torch.Generator(device=images.device).manual_seed(g.initial_seed()) for g in generators]
    with per_image(net, seeded):
        return net(images)


def export_reference(checkpoint: Path, out: Path, translator: str) -> list[Path]:
    """Every network of an imgtrans checkpoint as the reference's ``latest_net_<name>.pth``."""
    saved = read_checkpoint(checkpoint, translator)
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for name in saved.networks:
        target = out / f"latest_net_{name}.pth"
        torch.save(saved.state_dict(name), target)
        written.append(target)
    return written
