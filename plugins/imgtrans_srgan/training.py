"""Training SRResNet (MSE phase) and SRGAN (adversarial phase), after Ledig et al. 2017.

Low-resolution inputs are made on the fly on the training device: random HR crops,
random flips (Kornia), then bicubic antialiased downsampling by the scale. The SRGAN phase
uses the paper's weights: content loss + 1e-3 x adversarial loss, content = MSE of VGG19
``features.35`` activations (conv5_4 after ReLU) scaled by 1/12.75. VGG19 weights cannot be
downloaded here: pass a local torchvision-layout file with ``--opt vgg_weights=PATH``;
without one the content loss falls back to pixel MSE + L1 of image gradients (Sobel), and
the log says so.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import kornia
import torch
import torch.nn.functional as F
from torch import nn

from imgtrans.plugin import (
    Jitter, TrainingTask, UsageError, checked_image_folder, gan_loss, load_rgb8, load_state_dict,
    to_tensor, weights_at)
from imgtrans_srgan.archs import SRConfig, SRGANDiscriminator
from imgtrans_srgan.inference import load_sr_weights
from imgtrans_srgan.options import SRTrainOptions

log = logging.getLogger(__name__)


class HRCrops:
    """Random ``size`` x ``size`` crops of the HR images, float (3, size, size) in [0, 1].
    Randomness: torch's global generator (seeded and checkpointed by the training loop)."""

    def __init__(self, paths: list[Path], size: int) -> None:
        self.paths, self.size = paths, size

    def __len__(self) -> int:
        return len(self.paths)

    def __getitem__(self, index: int) -> tuple[torch.Tensor]:
        image = to_tensor(load_rgb8(self.paths[index]))
        top = int(torch.randint(0, image.shape[1] - self.size + 1, ()))
        left = int(torch.randint(0, image.shape[2] - self.size + 1, ()))
        return (image[:, top:top + self.size, left:left + self.size],)


class SRTask(TrainingTask):
    plugin = "srgan"

    def __init__(self, options: SRTrainOptions, settings: Any, device: Any) -> None:
        self.options, self.device = options, device
        self.default_epochs = options.n_epochs
        self.dataset = HRCrops(checked_image_folder(settings.data, settings.on_bad_data),
                               options.crop_size)
        self.config = SRConfig(arch=options.arch, in_ch=3, out_ch=3, scale=options.scale,
                               num_feat=options.num_feat, num_block=options.num_block)
        self.G = self.config.build().to(device)
        if options.init:
            net, config = load_sr_weights(weights_at(options.init), None)
            if config.to_dict() != self.config.to_dict():
                raise UsageError(f"init={options.init}: these weights are {config.describe()}, "
                                 f"the options ask for {self.config.describe()}")
            self.G.load_state_dict(net.state_dict())
        self.opt_G = torch.optim.Adam(self.G.parameters(), lr=options.lr, betas=(options.beta1, 0.999))
        self._nets, self._opts = {"G": self.G}, {"G": self.opt_G}
        if options.phase == "gan":
            self.D = SRGANDiscriminator(3, options.disc_channels, options.crop_size).to(device)
            self.opt_D = torch.optim.Adam(self.D.parameters(), lr=options.lr, betas=(options.beta1, 0.999))
            self._nets["D"], self._opts["D"] = self.D, self.opt_D
            self.vgg = _vgg_features(options.vgg_weights, device)
        self.flip = Jitter(options.crop_size, flip=True)

    def check(self, checks: Any) -> None:
        """HR crops must fit in every image; the networks must take them (e.g. the
        discriminator's batch norm needs more than one value per channel)."""
        o, batch = self.options, checks.batch_size
        checks.images_at_least(self.dataset.paths, o.crop_size, "crop_size")
        low = o.crop_size // o.scale
        checks.network("G", self.G, (batch, 3, low, low), hint="try a larger crop_size or batch size")
        if "D" in self._nets:
            checks.network("D", self.D, (batch, 3, o.crop_size, o.crop_size),
                           hint="try a larger crop_size or batch size")

    def networks(self):
        return self._nets

    def optimizers(self):
        return self._opts

    def degrade(self, hr: Any) -> Any:
        """HR (B, 3, H, W) -> LR by bicubic antialiased downsampling, on the device."""
        size = (hr.shape[-2] // self.options.scale, hr.shape[-1] // self.options.scale)
        return F.interpolate(hr, size=size, mode="bicubic", antialias=True, align_corners=False).clamp(0, 1)

    def train_step(self, batch) -> dict[str, float]:
        hr = self.flip(batch[0])
        lr = self.degrade(hr)
        sr = self.G(lr)
        if self.options.phase == "mse":
            self.opt_G.zero_grad()
            loss = F.mse_loss(sr, hr)
            loss.backward()
            self.opt_G.step()
            return {"mse": loss.item()}
        self.D.requires_grad_(True)
        self.opt_D.zero_grad()
        loss_d = gan_loss(self.D(hr), True, "vanilla") + gan_loss(self.D(sr.detach()), False, "vanilla")
        loss_d.backward()
        self.opt_D.step()
        self.D.requires_grad_(False)
        self.opt_G.zero_grad()
        content = self.content_loss(sr, hr)
        adv = gan_loss(self.D(sr), True, "vanilla")
        (content + self.options.adv_weight * adv).backward()
        self.opt_G.step()
        return {"content": content.item(), "adv": adv.item(), "D": loss_d.item()}

    def content_loss(self, sr: Any, hr: Any) -> Any:
        if self.vgg is not None:
            mean = sr.new_tensor([0.485, 0.456, 0.406]).view(1, 3, 1, 1)
            std = sr.new_tensor([0.229, 0.224, 0.225]).view(1, 3, 1, 1)
            return F.mse_loss(self.vgg((sr - mean) / std), self.vgg((hr - mean) / std).detach()) / 12.75 ** 2
        return F.mse_loss(sr, hr) + F.l1_loss(kornia.filters.sobel(sr), kornia.filters.sobel(hr))

    def sample_grid(self, batch):
        hr = batch[0]
        lr = self.degrade(hr)
        bicubic = F.interpolate(lr, size=hr.shape[-2:], mode="bicubic", align_corners=False).clamp(0, 1)
        self.G.eval()
        sr = self.G(lr).clamp(0, 1)
        rows = [torch.cat([bicubic[i], sr[i], hr[i]], dim=-1) for i in range(hr.shape[0])]
        return torch.cat(rows, dim=-2)

    def network_configs(self) -> dict[str, dict[str, Any]]:
        configs = {"G": self.config.to_dict()}
        if "D" in self._nets:
            configs["D"] = {}  # SRGANDiscriminator has no config class; the options rebuild it
        return configs


def _vgg_features(path: str | None, device: Any) -> Any:
    """VGG19 up to features.35 (conv5_4 + ReLU) from a local torchvision-layout state dict,
    or None (with a warning) when no file is given."""
    if not path:
        log.warning("no VGG19 weights given (--opt vgg_weights=PATH): content loss falls back to "
                    "pixel MSE + L1 of Sobel gradients instead of the paper's VGG54 loss")
        return None
    state = load_state_dict(Path(path))
    layers: list[nn.Module] = []
    channels = 3
    for width, convs in ((64, 2), (128, 2), (256, 4), (512, 4), (512, 4)):
        for _ in range(convs):
            layers += [nn.Conv2d(channels, width, 3, padding=1), nn.ReLU(inplace=False)]
            channels = width
        layers.append(nn.MaxPool2d(2))
    features = nn.Sequential(*layers[:36])
    own = {k.removeprefix("features."): v for k, v in state.items() if k.startswith("features.")}
    features.load_state_dict({k: v for k, v in own.items() if int(k.split(".")[0]) < 36})
    for p in features.parameters():
        p.requires_grad_(False)
    return features.eval().to(device)
