"""The translator pix2pix and CycleGAN share: one generator applied to images in [-1, 1], with
the reference's preprocessing modes.

Torch-free at import, so listing plugins stays fast; the torch modules (``inference``,
``networks``, ``layout``) are imported by the methods that need them.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, ClassVar, Mapping

from imgtrans.plugin import Preprocessing, TranslateContext, Translator, WeightsError
from imgtrans_gan.options import GeneratorOptions


def has_files(folder: Path, *names: str) -> list[bool]:
    """Whether each of ``names`` is a file in ``folder``; an unreadable folder has none."""
    try:
        return [(Path(folder) / name).is_file() for name in names]
    except (OSError, TypeError, ValueError):
        return [False] * len(names)


class GeneratorTranslator(Translator):
    """A pix2pix/CycleGAN generator applied to images in [-1, 1]."""

    Options = GeneratorOptions
    requires_weights = True
    per_image_statistics: ClassVar[bool] = False  # pix2pix's default test mode sets this
    export_formats = ("reference",)

    @classmethod
    def checkpoint_network(cls, options: GeneratorOptions) -> str:
        """Which generator of an imgtrans checkpoint these options run."""
        raise NotImplementedError

    @classmethod
    def export(cls, checkpoint: Path, out: Path, fmt: str) -> list[Path]:
        """The reference's layout: ``latest_net_<name>.pth`` state dicts (G, D for pix2pix;
        G_A, G_B, D_A, D_B for CycleGAN), loadable by its test.py and train.py --continue_train."""
        if fmt != "reference":
            raise WeightsError(f"unknown export format {fmt!r}; {cls.name} exports: reference")
        from imgtrans_gan.inference import export_reference

        return export_reference(checkpoint, out, cls.name)

    @classmethod
    def recognises(cls, state_dict: Mapping[str, Any]) -> bool:
        try:
            from imgtrans_gan.layout import is_generator
        except ImportError:
            return False
        return is_generator(state_dict)

    def __init__(self, options: GeneratorOptions, device: Any, net: Any, config: Any) -> None:
        super().__init__(options, device)
        self.net, self.config_ = net, config

    @property
    def memory_per_pixel(self) -> int:
        """Bytes a forward pass holds per input pixel, for imgtrans's memory estimate: peak
        RSS on a CPU grew by 220 (ResNet) and 107 (U-Net) bytes per pixel from 1024x1024 to
        2048x2048 with the bundled ngf-16 generators, so about 14 and 7 x ngf."""
        return (14 if self.config_.arch == "resnet" else 7) * self.config_.ngf

    @classmethod
    def load(cls, weights: Any, options: GeneratorOptions, device: Any) -> "GeneratorTranslator":
        from imgtrans.plugin import weights_at
        from imgtrans_gan.inference import load_generator_weights
        from imgtrans_gan.modes import set_pix2pix_test_mode

        net, config = load_generator_weights(weights_at(weights), options.direction, cls.name,
                                             cls.checkpoint_network(options))
        eval_mode = options.eval or not cls.per_image_statistics
        return cls(options, device, set_pix2pix_test_mode(net.to(device), eval_mode=eval_mode), config)

    def preprocessing(self) -> Preprocessing:
        from imgtrans_gan.preprocessing import ReferencePreprocessing

        o = self.options
        half = None if not o.aligned else ("left" if o.direction == "AtoB" else "right")
        common = dict(value_range=(-1.0, 1.0), channels=self.config_.input_nc, half=half,
                      interpolation="bicubic", keep_gray=self.config_.input_nc == 1)
        if o.preprocess == "resize_and_crop":
            return ReferencePreprocessing(resize="fixed", fixed_size=(o.load_size, o.load_size),
                                          restore_size=False, **common)
        if o.preprocess == "none":
            return ReferencePreprocessing(resize="resize", size_multiple=4, restore_size=False,
                                          **common)
        # A ResNet generator's ReflectionPad2d(1) at the 4x-downsampled bottleneck needs more
        # than one pixel there: inputs below 8 px are padded up (U-Nets: the multiple suffices).
        return ReferencePreprocessing(resize="pad", size_multiple=self.config_.size_multiple,
                                      min_size=8 if self.config_.arch == "resnet" else 1,
                                      pad_mode="reflect", **common)

    def translate(self, images: Any, context: TranslateContext) -> Any:
        from imgtrans_gan.inference import run_generator

        multiple = self.config_.size_multiple
        if images.shape[-2] % multiple or images.shape[-1] % multiple:
            raise ValueError(f"{self.config_.describe()} needs sizes that are multiples of {multiple}; "
                             f"got {images.shape[-1]}x{images.shape[-2]} (use preprocess=native)")
        batch_statistics = self.per_image_statistics and not self.options.eval
        return run_generator(self.net, images, batch_statistics, context.generators)

    def config(self) -> dict[str, Any]:
        base = super().config()
        base["generator"] = self.config_.to_dict()
        return base
