"""What pix2pix and CycleGAN training share: the reference's options and defaults, network
construction from options, jitter to [-1, 1], the linear LR schedule and sample grids.
Module import stays torch-free (options are read when listing plugins)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from imgtrans.training.task import TrainingTask


@dataclass(frozen=True)
class GanTrainOptions:
    ngf: int = field(default=64, metadata={"help": "generator width"})
    ndf: int = field(default=64, metadata={"help": "discriminator width"})
    n_blocks: int = field(default=9, metadata={"help": "ResNet generator blocks (9 or 6 in the reference)"})
    discriminator: Literal["basic", "n_layers", "pixel"] = "basic"
    n_layers_d: int = field(default=3, metadata={"help": "PatchGAN layers (basic = 3: 70x70 patches)"})
    input_nc: int = field(default=3, metadata={"help": "input channels (1 or 3)"})
    output_nc: int = field(default=3, metadata={"help": "output channels (1 or 3)"})
    lr: float = 2e-4
    beta1: float = 0.5
    n_epochs: int = field(default=100, metadata={"help": "epochs at the initial learning rate"})
    n_epochs_decay: int = field(default=100, metadata={"help": "epochs of linear decay to zero"})
    load_size: int = field(default=286, metadata={"help": "images are resized to this first"})
    crop_size: int = field(default=256, metadata={"help": "then randomly cropped to this"})
    flip: bool = field(default=True, metadata={"help": "random horizontal flips"})
    init_type: Literal["normal", "xavier", "kaiming", "orthogonal"] = "normal"
    init_gain: float = 0.02

    def __post_init__(self) -> None:
        if self.crop_size > self.load_size:
            raise ValueError("crop_size must not exceed load_size")
        if self.input_nc not in (1, 3) or self.output_nc not in (1, 3):
            raise ValueError("input_nc and output_nc must be 1 or 3")


class GanTask(TrainingTask):
    """Base for the pix2pix and CycleGAN training tasks."""

    def __init__(self, options: Any, device: Any) -> None:
        from imgtrans.training.augment import Jitter

        self.options = options
        self.device = device
        self.default_epochs = options.n_epochs + options.n_epochs_decay
        self.jitter = Jitter(options.crop_size, flip=options.flip)

    # -- networks ----------------------------------------------------------------------
    def generator_config(self, input_nc: int, output_nc: int):
        from imgtrans_gan.networks import GeneratorConfig

        o = self.options
        return GeneratorConfig(arch=o.generator, input_nc=input_nc, output_nc=output_nc, ngf=o.ngf,
                               norm=o.norm, use_dropout=o.dropout, n_blocks=o.n_blocks,
                               num_downs=o.depth)

    def discriminator_config(self, input_nc: int):
        from imgtrans_gan.networks import DiscriminatorConfig

        o = self.options
        return DiscriminatorConfig(arch=o.discriminator, input_nc=input_nc, ndf=o.ndf,
                                   n_layers=o.n_layers_d, norm=o.norm)

    def init(self, *nets: Any) -> None:
        from imgtrans_gan.networks import init_weights

        for net in nets:
            init_weights(net, self.options.init_type, self.options.init_gain)

    def make_schedulers(self) -> None:
        import torch

        from imgtrans.training.schedules import linear_decay

        rule = linear_decay(self.options.n_epochs, self.options.n_epochs_decay)
        self._schedulers = {name: torch.optim.lr_scheduler.LambdaLR(opt, rule)
                            for name, opt in self.optimizers().items()}

    def schedulers(self) -> dict[str, Any]:
        return self._schedulers

    # -- data --------------------------------------------------------------------------
    def to_range(self, x: Any, channels: int) -> Any:
        from imgtrans.core.preprocess import convert_channels

        return convert_channels(x, channels) * 2.0 - 1.0

    def jitter_pair(self, a: Any, b: Any) -> tuple[Any, Any]:
        """Same crop and flip on both halves of each pair; then [-1, 1]."""
        a, b = self.jitter(a, b)
        return self.to_range(a, self.options.input_nc), self.to_range(b, self.options.output_nc)

    def jitter_each(self, a: Any, b: Any) -> tuple[Any, Any]:
        """Independent crops and flips (unpaired domains); then [-1, 1]."""
        return self.to_range(self.jitter(a), self.options.input_nc), self.to_range(self.jitter(b), self.options.output_nc)

    def center(self, x: Any, channels: int | None = None) -> Any:
        """Center crop to crop_size, to [-1, 1] (for sample grids)."""
        size = self.options.crop_size
        top, left = (x.shape[-2] - size) // 2, (x.shape[-1] - size) // 2
        return self.to_range(x[..., top:top + size, left:left + size], channels or x.shape[1])

    @staticmethod
    def grid(columns: list[Any]) -> Any:
        """Rows = batch items, columns = the given [-1, 1] tensors; returns (3, H, W) in [0, 1]."""
        import torch

        from imgtrans.core.preprocess import convert_channels

        cols = [convert_channels((c.detach() + 1.0) / 2.0, 3) for c in columns]
        rows = [torch.cat([c[i] for c in cols], dim=-1) for i in range(cols[0].shape[0])]
        return torch.cat(rows, dim=-2)
