"""The ``layout2im`` translator: images from layouts of labelled boxes (Zhao et al. 2019).

Inputs are layout JSON files (format: ``imgtrans_layout2im.layouts``), one layout per file
for ``convert``. Weights: the reference's generator-only state dicts (``netG_coco.pkl``,
``netG_vg.pkl``; the vocabulary is not in them, so pass the dataset's ``vocab.json`` with
``--opt vocab=PATH``), or a folder holding ``generator.safetensors``/``.pth`` plus
``vocab.json``. The architecture (vocabulary size, widths, ConvLSTM depth) is read off the
state dict. A checkpoint or run folder written by ``imgtrans train layout2im`` carries its
configuration and vocabulary and needs no other flag.

Each object's latent code comes from its ``seed`` when the layout gives one, else from the
run's generator for that file, so results are reproducible from ``--seed`` and do not depend
on batching. ``samples=N`` draws N images per layout (objects with a seed keep their code).
``overlay=true`` writes the generated image and, to its right, the same image with the boxes
and labels drawn over it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, Optional

from imgtrans.errors import InputError, WeightsError
from imgtrans.plugins import hookimpl
from imgtrans.translators.base import (
    Capabilities,
    TranslateContext,
    Translator,
    WeightSpec,
)
from imgtrans_layout2im.training import Layout2ImTrainOptions


@dataclass(frozen=True)
class Layout2ImOptions:
    vocab: Optional[str] = field(default=None, metadata={
        "help": "vocabulary JSON (the reference dataset's vocab.json), needed for reference checkpoints"})
    samples: int = field(default=1, metadata={"help": "images per layout (<name>_s0, _s1, ...)"})
    overlay: bool = field(default=False, metadata={"help": "also draw the boxes and labels, to the right"})
    rescale: Literal["reference", "clamp"] = field(default="reference", metadata={
        "help": "reference: per-image min-max to [0, 1] as the reference saves; clamp: keep absolute colours"})
    min_objects: int = field(default=1, metadata={"help": "fewest objects a layout may have"})
    max_objects: int = field(default=8, metadata={"help": "most objects a layout may have (reference COCO: 8)"})
    scale: int = field(default=1, metadata={"help": "enlarge the 64 px output this many times (nearest)"})

    def __post_init__(self) -> None:
        if not 1 <= self.samples <= 64:
            raise ValueError("samples must be between 1 and 64")
        if not 1 <= self.min_objects <= self.max_objects:
            raise ValueError("need 1 <= min_objects <= max_objects")
        if not 1 <= self.scale <= 16:
            raise ValueError("scale must be between 1 and 16")
        if self.vocab is not None and not Path(self.vocab).expanduser().is_file():
            raise ValueError(f"vocab {self.vocab!r}: no such file")


def _load(weights: Path, vocab_path: str | None) -> tuple[Any, Any]:
    from imgtrans.weights import load_state_dict
    from imgtrans_layout2im.config import load_generator
    from imgtrans_layout2im.vocabulary import Vocabulary

    weights = Path(weights)
    if weights.is_dir():
        trained = _load_trained(weights, vocab_path)
        if trained is not None:
            return trained
        files = sorted(p for p in weights.iterdir() if p.suffix in (".safetensors", ".pth", ".pkl", ".pt")
                       and "netd" not in p.name.lower())
        if not files:
            raise WeightsError(f"{weights}: no generator weights (.safetensors/.pth/.pkl) in this folder")
        vocab_path = vocab_path or (str(weights / "vocab.json") if (weights / "vocab.json").is_file() else None)
        weights = files[0]
    if vocab_path is None:
        raise WeightsError(f"{weights}: layout2im checkpoints do not contain their vocabulary; pass "
                           "--opt vocab=PATH (the dataset's vocab.json) or put vocab.json next to the weights")
    try:
        vocab = Vocabulary.read(Path(vocab_path).expanduser())
    except InputError as exc:
        raise WeightsError(str(exc)) from None
    net, config = load_generator(load_state_dict(weights))
    if config.vocab_size != len(vocab):
        raise WeightsError(f"{weights} was trained with {config.vocab_size} classes, but {vocab_path} "
                           f"has {len(vocab)} names: not its vocabulary")
    return net, vocab


def _load_trained(folder: Path, vocab_path: str | None) -> tuple[Any, Any] | None:
    """A checkpoint or run folder written by ``imgtrans train layout2im`` (generator ``G``,
    configuration and vocabulary in its metadata), or None when ``folder`` is not an
    imgtrans checkpoint."""
    from imgtrans.training import checkpoint as ckpt
    from imgtrans.weights.fit import strict_load
    from imgtrans_layout2im.config import Layout2ImConfig
    from imgtrans_layout2im.vocabulary import Vocabulary

    try:
        checkpoint = ckpt.resolve_checkpoint(folder)
    except WeightsError:
        return None
    meta = ckpt.read_meta(checkpoint)
    if "layout2im_config" not in meta or "vocab" not in meta:
        raise WeightsError(f"{checkpoint}: an imgtrans checkpoint of {meta.get('plugin')!r}, "
                           f"not a layout2im model (no layout2im_config/vocab in its metadata)")
    try:
        config = Layout2ImConfig.from_dict(meta["layout2im_config"])
        vocab = Vocabulary.from_json(meta["vocab"])
    except (TypeError, ValueError) as exc:
        raise WeightsError(f"{checkpoint}: bad layout2im metadata: {exc}") from None
    if config.vocab_size != len(vocab):
        raise WeightsError(f"{checkpoint}: its configuration has {config.vocab_size} classes "
                           f"but its vocabulary {len(vocab)}")
    if vocab_path is not None:
        try:
            given = Vocabulary.read(Path(vocab_path).expanduser())
        except InputError as exc:
            raise WeightsError(str(exc)) from None
        if given != vocab:
            raise WeightsError(f"{checkpoint} carries its own vocabulary, which differs from "
                               f"{vocab_path}; leave out --opt vocab")
    net = config.build()
    strict_load(net, ckpt.load_network_state(checkpoint, "G"), config.describe())
    return net.eval(), vocab


class Layout2ImTranslator(Translator):
    name = "layout2im"
    summary = "Images from layouts of labelled boxes (Zhao et al. 2019); loads the reference checkpoints"
    capabilities = Capabilities(input_kind="layout", stochastic=True, training=True)
    Options = Layout2ImOptions
    TrainOptions = Layout2ImTrainOptions
    input_extensions = frozenset({"json"})
    requires_weights = True
    known_weights = tuple(
        WeightSpec(name=f"layout2im.{tag}", plugin="layout2im", source="https://github.com/zhaobozb/layout2im",
                   license="see the reference repository",
                   description=(f"the reference {data} model ({file}, {classes}): published only as a Google Drive "
                                f"link in the reference README, which imgtrans cannot fetch; download it, then pass "
                                f"--weights {file} --opt vocab=<the dataset's vocab.json>"))
        for tag, data, file, classes in (("coco", "COCO-Stuff", "netG_coco.pkl", "184-entry vocabulary"),
                                         ("vg", "Visual Genome", "netG_vg.pkl", "179-entry vocabulary")))

    @classmethod
    def load(cls, weights: Path | None, options: Layout2ImOptions, device: Any) -> "Layout2ImTranslator":
        net, vocab = _load(weights, options.vocab)  # type: ignore[arg-type]
        self = cls(options, device)
        self.net, self.vocab = net.to(device).eval(), vocab
        return self

    @classmethod
    def training_task(cls, options: Layout2ImTrainOptions, settings: Any, device: Any) -> Any:
        from imgtrans_layout2im.training import Layout2ImTask

        return Layout2ImTask(options, settings, device)

    @classmethod
    def outputs_per_input(cls, options: Layout2ImOptions) -> int:
        return options.samples

    def read_input(self, path: Path) -> Any:
        from imgtrans_layout2im.layouts import parse_layouts

        layouts = parse_layouts(path, self.vocab, self.options.min_objects, self.options.max_objects)
        if len(layouts) != 1:
            raise InputError(path, f"holds {len(layouts)} layouts; `imgtrans convert` writes one image "
                                   "per file: put one layout in each file")
        return layouts[0]

    def generate(self, inputs: list[Any], context: TranslateContext) -> Any:
        """Layouts -> (B * samples, 3, 64 * scale, (1 or 2) * 64 * scale) in [0, 1]."""
        import torch
        import torch.nn.functional as F

        from imgtrans_layout2im.layouts import box_masks
        from imgtrans_layout2im.networks import to_unit_range

        images = []
        for layout, generator in zip(inputs, context.generators):
            objs, _, masks, obj_to_img = box_masks([layout], self.net.image_size)
            for _ in range(self.options.samples):
                z = torch.stack([self._code(obj, generator) for obj in layout.objects])
                out = self.net.generate(objs.to(self.device), masks.to(self.device),
                                        obj_to_img.to(self.device), z)
                image = to_unit_range(out, self.options.rescale)[0]
                if self.options.overlay:
                    image = torch.cat([image, self._draw(image, layout)], dim=-1)
                images.append(image)
        batch = torch.stack(images)
        if self.options.scale > 1:
            batch = F.interpolate(batch, scale_factor=self.options.scale, mode="nearest")
        return batch

    def _code(self, obj: Any, generator: Any) -> Any:
        import torch

        if obj.seed is not None:
            generator = torch.Generator(device=self.device).manual_seed(obj.seed)
        return torch.randn(self.net.z_dim, generator=generator, device=self.device)

    def _draw(self, image: Any, layout: Any) -> Any:
        """The image with each object's box and label drawn on it (OpenCV, on the CPU)."""
        import cv2
        import numpy as np
        import torch

        size = image.shape[-1]
        canvas = np.ascontiguousarray((image.permute(1, 2, 0).cpu().numpy() * 255).round().astype(np.uint8))
        for obj in layout.objects:
            x0, y0, x1, y1 = (int(round(v * (size - 1))) for v in obj.box)
            cv2.rectangle(canvas, (x0, y0), (x1, y1), (255, 255, 255), 1)
            cv2.putText(canvas, self.vocab.name(obj.label)[:10], (x0 + 1, max(y0 + 7, 7)),
                        cv2.FONT_HERSHEY_PLAIN, 0.5, (255, 255, 0), 1)
        return torch.from_numpy(canvas).permute(2, 0, 1).float().div(255).to(image.device)


@hookimpl
def register_translators(register: Any) -> None:
    register(Layout2ImTranslator)
