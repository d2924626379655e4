"""CycleGAN (Zhu et al. 2017): unpaired translation between two domains with cycle consistency.

Inference runs one generator (instance norm, so test and eval modes agree). Training follows
the reference: two ResNet generators and two PatchGANs, LSGAN, cycle weight 10 per direction,
identity weight 0.5, image pools of 50, Adam(2e-4, 0.5), linear LR decay.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from imgtrans.plugin import Capabilities, hookimpl
from imgtrans_gan.base import GeneratorTranslator, has_files
from imgtrans_gan.options import CycleGANTrainOptions, GeneratorOptions


class CycleGANTranslator(GeneratorTranslator):
    name = "cyclegan"
    summary = "Unpaired translation with cycle-consistent GANs (Zhu et al. 2017); loads reference checkpoints"
    capabilities = Capabilities(training=True, unpaired=True, fully_convolutional=False)
    fast_mode_error = ("bf16 CPU, 8-bit levels vs exact: mean 0.2-0.9, 99.9th pct 2-5, max 9 (bundled and resnet_9blocks ngf 64); bench/precision.py --quick; bench/RESULTS.md")
    TrainOptions = CycleGANTrainOptions

    @classmethod
    def checkpoint_network(cls, options: GeneratorOptions) -> str:
        return "G_A" if options.direction == "AtoB" else "G_B"

    @classmethod
    def recognises_folder(cls, folder: Path) -> bool:
        """A reference CycleGAN folder: a generator per direction."""
        return any(has_files(folder, "latest_net_G_A.pth", "latest_net_G_B.pth"))

    @classmethod
    def training_task(cls, options, settings, device):
        from imgtrans_gan.training import CycleGANTask

        return CycleGANTask(options, settings, device)


@hookimpl
def register_translators(register: Any) -> None:
    register(CycleGANTranslator)
