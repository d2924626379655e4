"""pix2pix (Isola et al. 2017): paired image-to-image translation with a conditional GAN.

Inference runs a U-Net (or ResNet) generator as the reference's test script does: by default
with per-image batch statistics and active dropout (the paper's choice), made reproducible
by ``--seed``; ``--opt eval=true`` gives evaluation mode. Training follows the reference:
Adam(2e-4, 0.5), vanilla GAN loss + 100 * L1, PatchGAN on (A, B), linear LR decay.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Literal

from imgtrans.plugins import hookimpl
from imgtrans.translators.base import Capabilities
from imgtrans_gan.inference import GeneratorTranslator
from imgtrans_gan.training_common import GanTrainOptions, GanTask


@dataclass(frozen=True)
class Pix2PixTrainOptions(GanTrainOptions):
    generator: Literal["unet", "resnet"] = field(default="unet", metadata={"help": "generator family"})
    depth: int = field(default=8, metadata={"help": "U-Net downsamplings (8: unet_256, 7: unet_128)"})
    norm: Literal["batch", "instance", "none"] = "batch"
    dropout: bool = field(default=True, metadata={"help": "dropout in the generator (the paper's noise)"})
    gan_mode: Literal["vanilla", "lsgan", "wgangp"] = "vanilla"
    lambda_l1: float = field(default=100.0, metadata={"help": "weight of the L1 loss"})
    direction: Literal["AtoB", "BtoA"] = field(default="AtoB", metadata={"help": "which side is the input"})


class Pix2PixTask(GanTask):
    plugin = "pix2pix"

    def __init__(self, options: Pix2PixTrainOptions, settings: Any, device: Any) -> None:
        import torch

        from imgtrans.training.datasets import PairedDataset, aligned_samples, check_items

        super().__init__(options, device)
        samples, problems = aligned_samples(settings.data)
        self.dataset = PairedDataset(check_items(samples, problems, settings.on_bad_data), options.load_size)
        self.G_config = self.generator_config(options.input_nc, options.output_nc)
        self.D_config = self.discriminator_config(options.input_nc + options.output_nc)
        self.G, self.D = self.G_config.build().to(device), self.D_config.build().to(device)
        self.init(self.G, self.D)
        self.opt_G = torch.optim.Adam(self.G.parameters(), lr=options.lr, betas=(options.beta1, 0.999))
        self.opt_D = torch.optim.Adam(self.D.parameters(), lr=options.lr, betas=(options.beta1, 0.999))
        self.make_schedulers()

    def networks(self):
        return {"G": self.G, "D": self.D}

    def optimizers(self):
        return {"G": self.opt_G, "D": self.opt_D}

    def _pair(self, batch):
        a, b = batch
        return (b, a) if self.options.direction == "BtoA" else (a, b)

    def train_step(self, batch) -> dict[str, float]:
        import torch
        import torch.nn.functional as F

        from imgtrans.training.losses import discriminator_loss, gan_loss

        real_a, real_b = self.jitter_pair(*self._pair(batch))
        fake_b = self.G(real_a)
        self.D.requires_grad_(True)
        self.opt_D.zero_grad()
        loss_d = discriminator_loss(self.D(torch.cat([real_a, real_b], 1)),
                                    self.D(torch.cat([real_a, fake_b.detach()], 1)), self.options.gan_mode)
        loss_d.backward()
        self.opt_D.step()
        self.D.requires_grad_(False)
        self.opt_G.zero_grad()
        loss_gan = gan_loss(self.D(torch.cat([real_a, fake_b], 1)), True, self.options.gan_mode)
        loss_l1 = F.l1_loss(fake_b, real_b) * self.options.lambda_l1
        (loss_gan + loss_l1).backward()
        self.opt_G.step()
        return {"G_GAN": loss_gan.item(), "G_L1": loss_l1.item(), "D": loss_d.item()}

    def sample_grid(self, batch):
        a, b = self._pair(batch)
        real_a, real_b = self.center(a, self.options.input_nc), self.center(b, self.options.output_nc)
        return self.grid([real_a, self.G(real_a), real_b])

    def meta(self) -> dict[str, Any]:
        return {"train_options": asdict(self.options),
                "generators": {"G": self.G_config.to_dict()},
                "discriminators": {"D": self.D_config.to_dict()}}


class Pix2PixTranslator(GeneratorTranslator):
    name = "pix2pix"
    summary = "Paired translation with a conditional GAN (Isola et al. 2017); loads reference checkpoints"
    capabilities = Capabilities(training=True, paired=True, fully_convolutional=False)
    per_image_statistics = True
    TrainOptions = Pix2PixTrainOptions

    @classmethod
    def training_task(cls, options, settings, device):
        return Pix2PixTask(options, settings, device)


@hookimpl
def register_translators(register: Any) -> None:
    register(Pix2PixTranslator)
