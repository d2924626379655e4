"""Training a small pixel-space diffusion model for SDEdit: diffusers' UNet2DModel with the
DDPM noise-prediction loss (Ho et al. 2020) and an exponential moving average of the
weights, which is what gets sampled from.

Every checkpoint also holds ``diffusers/``: a standard model folder (model_index.json, unet/
with the EMA weights, scheduler/) that ``DDPMPipeline.from_pretrained`` loads as it is and
that ``imgtrans convert --plugin sdedit --weights RUN`` uses.
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from diffusers import DDIMScheduler, DDPMPipeline, DDPMScheduler, UNet2DModel

from imgtrans.plugin import Jitter, TrainingTask, checked_image_folder, load_rgb8, resize, to_tensor
from imgtrans_sdedit.folders import CHECKPOINT_MODEL
from imgtrans_sdedit.options import NAME, SDEditTrainOptions


def build_unet(o: SDEditTrainOptions) -> Any:
    n = len(o.widths)
    down = ["DownBlock2D"] * n
    up = ["UpBlock2D"] * n
    if o.attention:
        down[-1], up[0] = "AttnDownBlock2D", "AttnUpBlock2D"
    return UNet2DModel(sample_size=o.sample_size, in_channels=3, out_channels=3,
                       block_out_channels=o.widths, layers_per_block=o.layers_per_block,
                       down_block_types=tuple(down), up_block_types=tuple(up), norm_num_groups=8)


def build_scheduler(o: SDEditTrainOptions) -> Any:
    return DDPMScheduler(num_train_timesteps=o.num_train_timesteps, beta_start=o.beta_start,
                         beta_end=o.beta_end, beta_schedule="linear", variance_type="fixed_small",
                         clip_sample=False)


class SquareImages:
    """Each image center-cropped to a square and resized (PIL-exact bicubic) to ``size``."""

    def __init__(self, paths: list[Path], size: int) -> None:
        self.paths, self.size = paths, size

    def __len__(self) -> int:
        return len(self.paths)

    def __getitem__(self, index: int) -> tuple[Any]:
        image = to_tensor(load_rgb8(self.paths[index]))
        side = min(image.shape[-2:])
        top, left = (image.shape[1] - side) // 2, (image.shape[2] - side) // 2
        image = image[:, top:top + side, left:left + side]
        return (resize(image[None], (self.size, self.size), "bicubic", levels=255)[0],)


class SDEditTask(TrainingTask):
    plugin = NAME

    def __init__(self, options: SDEditTrainOptions, settings: Any, device: Any) -> None:
        self.options, self.device = options, device
        self.default_epochs = options.n_epochs
        good = checked_image_folder(settings.data, settings.on_bad_data)
        self.dataset = SquareImages(good, options.sample_size)
        self.unet = build_unet(options).to(device)
        self.ema = copy.deepcopy(self.unet).requires_grad_(False)
        self.scheduler = build_scheduler(options)
        self.opt = torch.optim.AdamW(self.unet.parameters(), lr=options.lr)
        self.flip = Jitter(options.sample_size, flip=options.flip)

    def check(self, checks: Any) -> None:
        """The UNet must take a batch at ``sample_size`` (the options check the widths)."""
        size, batch = self.options.sample_size, checks.batch_size
        checks.network("unet", self.unet, (batch, 3, size, size), (batch,),
                       hint="try another sample_size or channels")

    def networks(self):
        return {"unet": self.unet, "ema": self.ema}

    def optimizers(self):
        return {"unet": self.opt}

    def train_step(self, batch) -> dict[str, float]:
        x0 = self.flip(batch[0]) * 2.0 - 1.0
        noise = torch.randn_like(x0)
        t = torch.randint(0, self.options.num_train_timesteps, (x0.shape[0],), device=x0.device)
        loss = F.mse_loss(self.unet(self.scheduler.add_noise(x0, noise, t), t).sample, noise)
        self.opt.zero_grad()
        loss.backward()
        self.opt.step()
        with torch.no_grad():
            for ema, live in zip(self.ema.parameters(), self.unet.parameters()):
                ema.lerp_(live, 1.0 - self.options.ema_decay)
        return {"mse": loss.item()}

    def sample_grid(self, batch):
        """Top row: training images; bottom row: EMA-model samples from pure noise (20 DDIM steps)."""
        sampler = DDIMScheduler.from_config(self.scheduler.config)
        sampler.set_timesteps(20)
        self.ema.eval()
        x = torch.randn_like(batch[0])
        for t in sampler.timesteps:
            x = sampler.step(self.ema(x, t).sample, t, x).prev_sample
        samples = ((x.clamp(-1, 1) + 1) / 2)
        return torch.cat([torch.cat(list(batch[0]), -1), torch.cat(list(samples), -1)], -2)

    def write_extra(self, folder: Path) -> None:
        """The EMA model as a standard diffusers folder inside the checkpoint."""
        DDPMPipeline(unet=self.ema, scheduler=self.scheduler).save_pretrained(folder / CHECKPOINT_MODEL)
