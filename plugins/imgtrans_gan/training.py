"""pix2pix and CycleGAN training, as the reference trains them.

pix2pix: Adam(2e-4, 0.5), vanilla GAN loss + 100 * L1, PatchGAN on (A, B), linear LR decay.
CycleGAN: two ResNet generators and two PatchGANs, LSGAN, cycle weight 10 per direction,
identity weight 0.5, image pools of 50, Adam(2e-4, 0.5), linear LR decay.
Shared: network construction from options, jitter to [-1, 1], the schedule, sample grids.

Each step calls the networks in the reference's order (bench/reference_train.py checks three
steps bit for bit): pix2pix's D sees the fake pair before the real one (with batch norm the
order sets its running statistics); CycleGAN updates G, then D_A and D_B on real then pooled
fake. Discriminators always get detached fakes, whatever the pool size. Every epoch trains at
the reference's current learning rate (see :mod:`imgtrans.training.schedules` for the one
epoch by which its 2020-2025 train.py differed).
"""

from __future__ import annotations

import itertools
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from imgtrans.plugin import (
    ImagePool, Jitter, PairedDataset, Sample, TrainingTask, UnpairedDataset, aligned_samples,
    check_items, convert_channels, discriminator_loss, gan_loss, linear_decay, unaligned_domains)
from imgtrans_gan.networks import DiscriminatorConfig, GeneratorConfig, init_weights
from imgtrans_gan.options import CycleGANTrainOptions, Pix2PixTrainOptions


class GanTask(TrainingTask):
    """Base for the pix2pix and CycleGAN training tasks."""

    def __init__(self, options: Any, device: Any) -> None:
        self.options = options
        self.device = device
        self.default_epochs = options.n_epochs + options.n_epochs_decay
        self.jitter = Jitter(options.crop_size, flip=options.flip)

    # -- networks ----------------------------------------------------------------------
    def generator_config(self, input_nc: int, output_nc: int) -> GeneratorConfig:
        o = self.options
        return GeneratorConfig(arch=o.generator, input_nc=input_nc, output_nc=output_nc, ngf=o.ngf,
                               norm=o.norm, use_dropout=o.dropout, n_blocks=o.n_blocks,
                               num_downs=o.depth)

    def discriminator_config(self, input_nc: int) -> DiscriminatorConfig:
        o = self.options
        return DiscriminatorConfig(arch=o.discriminator, input_nc=input_nc, ndf=o.ndf,
                                   n_layers=o.n_layers_d, norm=o.norm)

    def init(self, *nets: nn.Module) -> None:
        for net in nets:
            init_weights(net, self.options.init_type, self.options.init_gain)

    def check(self, checks: Any) -> None:
        """Run every network on a batch of crops as training will (without computing): too
        deep a network for the crop, or batch norm left with one value per channel, is
        reported here instead of failing in the first step."""
        o, size, batch = self.options, self.options.crop_size, checks.batch_size
        for name, channels in self.network_inputs().items():
            if name.startswith("G"):
                hint = ("a larger crop_size or batch size, or norm=instance" if o.norm == "batch"
                        else "a larger crop_size")
            elif o.discriminator == "n_layers":
                hint = f"a larger crop_size, or fewer discriminator layers (n_layers_d={o.n_layers_d})"
            else:
                hint = "a larger crop_size or batch size"
            checks.network(name, self.networks()[name], (batch, channels, size, size), hint="try " + hint)

    def network_inputs(self) -> dict[str, int]:
        """The input channels of each network."""
        raise NotImplementedError

    def make_schedulers(self) -> None:
        rule = linear_decay(self.options.n_epochs, self.options.n_epochs_decay)
        self._schedulers = {name: torch.optim.lr_scheduler.LambdaLR(opt, rule)
                            for name, opt in self.optimizers().items()}

    def schedulers(self) -> dict[str, Any]:
        return self._schedulers

    # -- data --------------------------------------------------------------------------
    def to_range(self, x: torch.Tensor, channels: int) -> torch.Tensor:
        return convert_channels(x, channels) * 2.0 - 1.0

    def jitter_pair(self, a: torch.Tensor, b: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Same crop and flip on both halves of each pair; then [-1, 1]."""
        a, b = self.jitter(a, b)
        return self.to_range(a, self.options.input_nc), self.to_range(b, self.options.output_nc)

    def jitter_each(self, a: torch.Tensor, b: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Independent crops and flips (unpaired domains); then [-1, 1]."""
        return self.to_range(self.jitter(a), self.options.input_nc), self.to_range(self.jitter(b), self.options.output_nc)

    def center(self, x: torch.Tensor, channels: int | None = None) -> torch.Tensor:
        """Center crop to crop_size, to [-1, 1] (for sample grids)."""
        size = self.options.crop_size
        top, left = (x.shape[-2] - size) // 2, (x.shape[-1] - size) // 2
        return self.to_range(x[..., top:top + size, left:left + size], channels or x.shape[1])

    @staticmethod
    def grid(columns: list[torch.Tensor]) -> torch.Tensor:
        """Rows = batch items, columns = the given [-1, 1] tensors; returns (3, H, W) in [0, 1]."""
        cols = [convert_channels((c.detach() + 1.0) / 2.0, 3) for c in columns]
        rows = [torch.cat([c[i] for c in cols], dim=-1) for i in range(cols[0].shape[0])]
        return torch.cat(rows, dim=-2)


class Pix2PixTask(GanTask):
    plugin = "pix2pix"

    def __init__(self, options: Pix2PixTrainOptions, settings: Any, device: Any) -> None:
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

    def network_configs(self) -> dict[str, dict[str, Any]]:
        return {"G": self.G_config.to_dict(), "D": self.D_config.to_dict()}

    def network_inputs(self) -> dict[str, int]:
        o = self.options
        return {"G": o.input_nc, "D": o.input_nc + o.output_nc}

    def _pair(self, batch):
        a, b = batch
        return (b, a) if self.options.direction == "BtoA" else (a, b)

    def train_step(self, batch) -> dict[str, float]:
        real_a, real_b = self.jitter_pair(*self._pair(batch))
        fake_b = self.G(real_a)
        self.D.requires_grad_(True)
        self.opt_D.zero_grad()
        # fake pair first, as the reference's backward_D: with batch norm the order of the
        # two calls decides D's running statistics
        pred_fake = self.D(torch.cat([real_a, fake_b.detach()], 1))
        pred_real = self.D(torch.cat([real_a, real_b], 1))
        loss_d = discriminator_loss(pred_real, pred_fake, self.options.gan_mode)
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


class CycleGANTask(GanTask):
    plugin = "cyclegan"

    def __init__(self, options: CycleGANTrainOptions, settings: Any, device: Any) -> None:
        super().__init__(options, device)
        a, b = unaligned_domains(settings.data)
        good_a = [s.a for s in check_items([Sample(p) for p in a], [], settings.on_bad_data)]
        good_b = [s.a for s in check_items([Sample(p) for p in b], [], settings.on_bad_data)]
        self.dataset = UnpairedDataset(good_a, good_b, options.load_size, seed=settings.seed)
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

    def network_configs(self) -> dict[str, dict[str, Any]]:
        return {"G_A": self.G_A_config.to_dict(), "G_B": self.G_B_config.to_dict(),
                "D_A": self.D_A_config.to_dict(), "D_B": self.D_B_config.to_dict()}

    def network_inputs(self) -> dict[str, int]:
        o = self.options
        return {"G_A": o.input_nc, "G_B": o.output_nc, "D_A": o.output_nc, "D_B": o.input_nc}

    def train_step(self, batch) -> dict[str, float]:
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
        loss_d_a = self._discriminator_step(self.D_A, real_b, self.pool_B.query(fake_b))
        loss_d_b = self._discriminator_step(self.D_B, real_a, self.pool_A.query(fake_a))
        self.opt_D.step()
        return {"G_A": loss_g_a.item(), "G_B": loss_g_b.item(), "cyc_A": loss_cycle_a.item(),
                "cyc_B": loss_cycle_b.item(), "D_A": loss_d_a.item(), "D_B": loss_d_b.item()}

    def _discriminator_step(self, net: nn.Module, real: torch.Tensor, fake: torch.Tensor) -> torch.Tensor:
        """D's loss (real first, then fake, as the reference's backward_D_basic), backpropagated.
        The fakes are detached here, whatever the pool returned: a pool of size 0 hands back
        the generator's output itself, whose graph the G step has already freed."""
        loss = discriminator_loss(net(real), net(fake.detach()), self.options.gan_mode)
        loss.backward()
        return loss

    def sample_grid(self, batch):
        real_a = self.center(batch[0], self.options.input_nc)
        real_b = self.center(batch[1], self.options.output_nc)
        fake_b, fake_a = self.G_A(real_a), self.G_B(real_b)
        return self.grid([real_a, fake_b, self.G_B(fake_b), real_b, fake_a, self.G_A(fake_a)])

    def extra_state(self) -> dict[str, Any]:
        return {"pool_A": self.pool_A.state_dict(), "pool_B": self.pool_B.state_dict()}

    def load_extra_state(self, state: dict[str, Any]) -> None:
        self.pool_A.load_state_dict(state["pool_A"])
        self.pool_B.load_state_dict(state["pool_B"])
