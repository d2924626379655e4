"""pix2pix (Isola et al. 2017): paired image-to-image translation with a conditional GAN.

Inference runs a U-Net (or ResNet) generator as the reference's test script does: by default
with per-image batch statistics and active dropout (the paper's choice), made reproducible
by ``--seed``; ``--opt eval=true`` gives evaluation mode. Training follows the reference:
Adam(2e-4, 0.5), vanilla GAN loss + 100 * L1, PatchGAN on (A, B), linear LR decay.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from imgtrans.plugin import Capabilities, hookimpl
from imgtrans_gan.base import GeneratorTranslator, has_files
from imgtrans_gan.options import GeneratorOptions, Pix2PixTrainOptions


class Pix2PixTranslator(GeneratorTranslator):
    name = "pix2pix"
    summary = "Paired translation with a conditional GAN (Isola et al. 2017); loads reference checkpoints"
    capabilities = Capabilities(training=True, paired=True, fully_convolutional=False,
                                cpu_batch_size=4)  # 1.3-1.9x at 4 on CPU (bench/RESULTS.md)
    fast_mode_error = ("bf16 CPU, 8-bit levels vs exact: mean 0.2, 99.9th pct 1, max 3 (bundled and unet_128 ngf 64); no speed-up on CPU (weight-bound U-Net); bench/precision.py --quick; bench/RESULTS.md")
    per_image_statistics = True
    TrainOptions = Pix2PixTrainOptions

    @classmethod
    def checkpoint_network(cls, options: GeneratorOptions) -> str:
        return "G"

    @classmethod
    def recognises_folder(cls, folder: Path) -> bool:
        """A reference pix2pix folder: one generator, no CycleGAN pair."""
        single, a, b = has_files(folder, "latest_net_G.pth", "latest_net_G_A.pth", "latest_net_G_B.pth")
        return single and not (a or b)

    @classmethod
    def training_task(cls, options, settings, device):
        from imgtrans_gan.training import Pix2PixTask

        return Pix2PixTask(options, settings, device)


@hookimpl
def register_translators(register: Any) -> None:
    register(Pix2PixTranslator)
