"""CycleGAN (Zhu et al. 2017): unpaired translation between two domains with cycle consistency.

Inference runs one generator (instance norm, so test and eval modes agree). Training follows
the reference: two ResNet generators and two PatchGANs, LSGAN, cycle weight 10 per direction,
identity weight 0.5, image pools of 50, Adam(2e-4, 0.5), linear LR decay.
"""

from __future__ import annotations

import itertools
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

from imgtrans.plugins import hookimpl
from imgtrans.translators.base import Capabilities
from imgtrans_gan.inference import GeneratorTranslator
from imgtrans_gan.training_common import GanTask, GanTrainOptions


@dataclass(frozen=True)
class CycleGANTrainOptions(GanTrainOptions):
    generator: Literal["resnet", "unet"] = field(default="resnet", metadata={"help": "generator family"})
    depth: int = field(default=8, metadata={"help": "U-Net downsamplings, when generator=unet"})
    norm: Literal["instance", "batch", "none"] = "instance"
    dropout: bool = False
    gan_mode: Literal["lsgan", "vanilla", "wgangp"] = "lsgan"
    lambda_a: float = field(default=10.0, metadata={"help": "cycle loss weight A -> B -> A"})
    lambda_b: float = field(default=10.0, metadata={"help": "cycle loss weight B -> A -> B"})
    lambda_identity: float = field(default=0.5, metadata={"help": "identity loss, relative to lambda_a/b"})
    pool_size: int = field(default=50, metadata={"help": "generated images kept for the discriminators"})


class CycleGANTask(GanTask):
    plugin = "cyclegan"

    def __init__(self, options: CycleGANTrainOptions, settings: Any, device: Any) -> None:
        import torch

        from imgtrans.training.datasets import Sample, UnpairedDataset, check_items, unaligned_domains
        from imgtrans.training.pool import ImagePool

        super().__init__(options, device)
        a, b = unaligned_domains(settings.data)
        good_a = [s.a for s in check_items([Sample(p) for p in a], [], settings.on_bad_data)]
        good_b = [s.a for s in check_items([Sample(p) for p in b], [], settings.on_bad_data)]
        self.dataset = UnpairedDataset(good_a, good_b, options.load_size, seed=settings.seed)
        if options.lambda_identity > 0 and options.input_nc != options.output_nc:
            raise ValueError("identity loss needs input_nc == output_nc; set lambda_identity=0")
        self.G_A_config = self.generator_config(options.input_nc, options.output_nc)
        self.G_B_config = self.generator_config(options.output_nc, options.input_nc)
        self.D_A_config = self.discriminator_config(options.output_nc)
        self.D_B_config = self.discriminator_config(options.input_nc)
        self.G_A, self.G_B = self.G_A_config.build().to(device), self.G_B_config.build().to(device)
        self.D_A, self.D_B = self.D_A_config.build().to(device), self.D_B_config.build().to(device)
        self.init(self.G_A, self.G_B, self.D_A, self.D_B)
        betas = (options.beta1, 0.999)
        self.opt_G = torch.optim.Adam(itertools.chain(self.G_A.parameters(), self.G_B.parameters()),
                                      lr=options.lr, betas=betas)
        self.opt_D = torch.optim.Adam(itertools.chain(self.D_A.parameters(), self.D_B.parameters()),
                                      lr=options.lr, betas=betas)
        self.pool_A, self.pool_B = ImagePool(options.pool_size), ImagePool(options.pool_size)
        self.make_schedulers()

    def networks(self):
        return {"G_A": self.G_A, "G_B": self.G_B, "D_A": self.D_A, "D_B": self.D_B}

    def optimizers(self):
        return {"G": self.opt_G, "D": self.opt_D}

    def train_step(self, batch) -> dict[str, float]:
        import torch.nn.functional as F

        from imgtrans.training.losses import discriminator_loss, gan_loss

        o = self.options
        real_a, real_b = self.jitter_each(*batch)
        fake_b = self.G_A(real_a)
        rec_a = self.G_B(fake_b)
        fake_a = self.G_B(real_b)
        rec_b = self.G_A(fake_a)
        # generators, discriminators frozen
        self.D_A.requires_grad_(False)
        self.D_B.requires_grad_(False)
        self.opt_G.zero_grad()
        loss_idt_a = loss_idt_b = real_a.new_zeros(())
        if o.lambda_identity > 0:
            loss_idt_a = F.l1_loss(self.G_A(real_b), real_b) * o.lambda_b * o.lambda_identity
            loss_idt_b = F.l1_loss(self.G_B(real_a), real_a) * o.lambda_a * o.lambda_identity
        loss_g_a = gan_loss(self.D_A(fake_b), True, o.gan_mode)
        loss_g_b = gan_loss(self.D_B(fake_a), True, o.gan_mode)
        loss_cycle_a = F.l1_loss(rec_a, real_a) * o.lambda_a
        loss_cycle_b = F.l1_loss(rec_b, real_b) * o.lambda_b
        (loss_g_a + loss_g_b + loss_cycle_a + loss_cycle_b + loss_idt_a + loss_idt_b).backward()
        self.opt_G.step()
        # discriminators
        self.D_A.requires_grad_(True)
        self.D_B.requires_grad_(True)
        self.opt_D.zero_grad()
        loss_d_a = discriminator_loss(self.D_A(real_b), self.D_A(self.pool_B.query(fake_b)), o.gan_mode)
        loss_d_a.backward()
        loss_d_b = discriminator_loss(self.D_B(real_a), self.D_B(self.pool_A.query(fake_a)), o.gan_mode)
        loss_d_b.backward()
        self.opt_D.step()
        return {"G_A": loss_g_a.item(), "G_B": loss_g_b.item(), "cyc_A": loss_cycle_a.item(),
                "cyc_B": loss_cycle_b.item(), "D_A": loss_d_a.item(), "D_B": loss_d_b.item()}

    def sample_grid(self, batch):
        real_a = self.center(batch[0], self.options.input_nc)
        real_b = self.center(batch[1], self.options.output_nc)
        fake_b, fake_a = self.G_A(real_a), self.G_B(real_b)
        return self.grid([real_a, fake_b, self.G_B(fake_b), real_b, fake_a, self.G_A(fake_a)])

    def meta(self) -> dict[str, Any]:
        return {"train_options": asdict(self.options),
                "generators": {"G_A": self.G_A_config.to_dict(), "G_B": self.G_B_config.to_dict()},
                "discriminators": {"D_A": self.D_A_config.to_dict(), "D_B": self.D_B_config.to_dict()}}

    def extra_state(self) -> dict[str, Any]:
        return {"pool_A": self.pool_A.state_dict(), "pool_B": self.pool_B.state_dict()}

    def load_extra_state(self, state: dict[str, Any]) -> None:
        self.pool_A.load_state_dict(state["pool_A"])
        self.pool_B.load_state_dict(state["pool_B"])


class CycleGANTranslator(GeneratorTranslator):
    name = "cyclegan"
    summary = "Unpaired translation with cycle-consistent GANs (Zhu et al. 2017); loads reference checkpoints"
    capabilities = Capabilities(training=True, unpaired=True, fully_convolutional=False)
    TrainOptions = CycleGANTrainOptions

    @classmethod
    def training_task(cls, options, settings, device):
        return CycleGANTask(options, settings, device)


@hookimpl
def register_translators(register: Any) -> None:
    register(CycleGANTranslator)
