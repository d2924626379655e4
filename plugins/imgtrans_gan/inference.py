"""Inference shared by the pix2pix and CycleGAN translators: one generator, the reference's
preprocessing modes, and the reference's test-time behaviour (made reproducible).

Weights can be a reference checkpoint file (``latest_net_G.pth``; the architecture is read
off the state dict), a reference CycleGAN folder (``latest_net_G_A.pth`` and
``latest_net_G_B.pth``; ``direction`` picks one), or an imgtrans checkpoint or run folder
written by ``imgtrans train``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from imgtrans.errors import WeightsError
from imgtrans.translators.base import Preprocessing, TranslateContext, Translator


@dataclass(frozen=True)
class GeneratorOptions:
    direction: Literal["AtoB", "BtoA"] = field(default="AtoB", metadata={
        "help": "CycleGAN folder: which generator (G_A or G_B); aligned input: which half is the input"})
    preprocess: Literal["native", "resize_and_crop", "none"] = field(default="native", metadata={
        "help": "native: any size, padded and cropped back; resize_and_crop: the reference's default "
                "(square load_size); none: the reference's --preprocess none (multiples of 4)"})
    load_size: int = field(default=256, metadata={"help": "size for preprocess=resize_and_crop"})
    aligned: bool = field(default=False, metadata={"help": "inputs are side-by-side A|B pairs"})
    eval: bool = field(default=False, metadata={
        "help": "evaluation mode (running statistics, no dropout), like the reference's --eval"})

    def __post_init__(self) -> None:
        if self.load_size < 16:
            raise ValueError("load_size must be at least 16")


def _reference_file(folder: Path, direction: str) -> Path | None:
    suffix = "_A" if direction == "AtoB" else "_B"
    for name in (f"latest_net_G{suffix}.pth", "latest_net_G.pth"):
        if (folder / name).is_file():
            return folder / name
    return None


def load_generator_weights(path: Path, direction: str, single_name: str) -> tuple[Any, Any]:
    """(generator module, GeneratorConfig) from any supported weights location."""
    from imgtrans.training import checkpoint as ckpt
    from imgtrans.weights import load_state_dict
    from imgtrans_gan.layout import load_generator
    from imgtrans_gan.networks import GeneratorConfig

    path = Path(path)
    if path.is_dir() and (ckpt.is_checkpoint(path) or ckpt.is_checkpoint(path / "checkpoints" / "latest")):
        meta = ckpt.read_meta(path)
        generators = meta.get("generators", {})
        name = single_name if single_name in generators else ("G_A" if direction == "AtoB" else "G_B")
        if name not in generators:
            raise WeightsError(f"{path}: checkpoint has no generator {name!r} (has {sorted(generators)})")
        config = GeneratorConfig.from_dict(generators[name])
        net = config.build()
        net.load_state_dict(ckpt.load_network_state(path, name))
        return net, config
    if path.is_dir():
        found = _reference_file(path, direction)
        if found is None:
            raise WeightsError(f"{path}: no latest_net_G_A.pth / latest_net_G_B.pth / latest_net_G.pth "
                               "and no imgtrans checkpoint in this folder")
        path = found
    net, config = load_generator(load_state_dict(path))
    return net, config


class GeneratorTranslator(Translator):
    """A pix2pix/CycleGAN generator applied to images in [-1, 1]."""

    Options = GeneratorOptions
    requires_weights = True
    per_image_statistics = False  # pix2pix's default test mode sets this
    export_formats = ("reference",)

    @classmethod
    def export(cls, checkpoint: Path, out: Path, fmt: str) -> list[Path]:
        """The reference's layout: ``latest_net_<name>.pth`` state dicts (G, D for pix2pix;
        G_A, G_B, D_A, D_B for CycleGAN), loadable by its test.py and train.py --continue_train."""
        import torch

        from imgtrans.training import checkpoint as ckpt

        if fmt != "reference":
            raise WeightsError(f"unknown export format {fmt!r}; {cls.name} exports: reference")
        meta = ckpt.read_meta(checkpoint)
        out = Path(out)
        out.mkdir(parents=True, exist_ok=True)
        written = []
        for name in meta["networks"]:
            target = out / f"latest_net_{name}.pth"
            torch.save(ckpt.load_network_state(checkpoint, name), target)
            written.append(target)
        return written

    @classmethod
    def load(cls, weights: Path | None, options: GeneratorOptions, device: Any) -> "GeneratorTranslator":
        from imgtrans_gan.networks import set_pix2pix_test_mode

        net, config = load_generator_weights(weights, options.direction, "G")  # type: ignore[arg-type]
        self = cls(options, device)
        self.config_ = config
        self.net = set_pix2pix_test_mode(net.to(device), eval_mode=options.eval or not cls.per_image_statistics)
        self.weights = weights
        return self

    def preprocessing(self) -> Preprocessing:
        o = self.options
        half = None if not o.aligned else ("left" if o.direction == "AtoB" else "right")
        common = dict(value_range=(-1.0, 1.0), channels=self.config_.input_nc, half=half,
                      interpolation="bicubic", keep_gray=self.config_.input_nc == 1)
        if o.preprocess == "resize_and_crop":
            return Preprocessing(resize="fixed", fixed_size=(o.load_size, o.load_size),
                                 restore_size=False, **common)
        if o.preprocess == "none":
            return Preprocessing(resize="resize", size_multiple=4, restore_size=False, **common)
        return Preprocessing(resize="pad", size_multiple=self.config_.size_multiple,
                             pad_mode="reflect", **common)

    def translate(self, images: Any, context: TranslateContext) -> Any:
        import torch

        multiple = self.config_.size_multiple
        if images.shape[-2] % multiple or images.shape[-1] % multiple:
            raise ValueError(f"{self.config_.describe()} needs sizes that are multiples of {multiple}; "
                             f"got {images.shape[-1]}x{images.shape[-2]} (use preprocess=native)")
        if not self.per_image_statistics or self.options.eval:
            return torch.cat([self.net(images[i:i + 1]) for i in range(images.shape[0])])
        outputs = []
        for i in range(images.shape[0]):  # batch statistics and dropout, per image, seeded
            with torch.random.fork_rng(devices=[images.device] if images.device.type == "cuda" else []):
                torch.manual_seed(context.generators[i].initial_seed())
                outputs.append(self.net(images[i:i + 1]))
        return torch.cat(outputs)

    def config(self) -> dict[str, Any]:
        base = super().config()
        base["generator"] = self.config_.to_dict()
        return base
