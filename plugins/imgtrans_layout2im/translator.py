"""The ``layout2im`` translator: images from layouts of labelled boxes (Zhao et al. 2019).

Inputs are layout JSON files (format: ``imgtrans_layout2im.layouts``), one layout per file
for ``convert``. Weights: the reference's generator-only state dicts (``netG_coco.pkl``,
``netG_vg.pkl``; the vocabulary is not in them, so pass the dataset's ``vocab.json`` with
``--opt vocab=PATH``), or a folder holding ``generator.safetensors``/``.pth`` plus
``vocab.json``. The architecture (vocabulary size, widths, ConvLSTM depth) is read off the
state dict. A checkpoint or run folder written by ``imgtrans train layout2im`` carries its
configuration and vocabulary and needs no other flag.

Each object's latent code comes from its ``seed`` when the layout gives one, else from the
run's generator for that file, drawn in the order a batch of one draws them, so results are
reproducible from ``--seed``; a batch runs through the generator together, which changes
only float rounding. ``samples=N`` draws N images per layout (objects with a seed keep
their code).
``overlay=true`` writes the generated image and, to its right, the same image with the boxes
and labels drawn over it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Mapping

from imgtrans.plugin import (
    Capabilities,
    InputError,
    TranslateContext,
    Translator,
    WeightSpec,
    hookimpl,
    unwrap_state_dict,
)
from imgtrans_layout2im.measures import register_measures  # noqa: F401  (the plugin's measure hook)
from imgtrans_layout2im.options import NAME, Layout2ImOptions, Layout2ImTrainOptions

# Keys of the reference generator that ``config.infer_config`` reads the architecture from,
# with their number of dimensions; plus a first ConvLSTM cell and the RGB output layer.
_GENERATOR_KEYS = {"layout_encoder.embedding.weight": 2, "crop_encoder.fc_mu.weight": 2,
                   "crop_encoder.c1.weight": 4, "decoder.c4.weight": 4}
_FIRST_CELL = "layout_encoder.clstm.cell_list.0."


class Layout2ImTranslator(Translator):
    name = NAME
    summary = "Images from layouts of labelled boxes (Zhao et al. 2019); loads the reference checkpoints"
    capabilities = Capabilities(input_kind="layout", stochastic=True, training=True,
                                cpu_batch_size=8)  # 1.8-2.1x at 8 on CPU (bench/RESULTS.md)
    fast_mode_error = ("bf16 CPU, 8-bit levels vs exact: mean 0.4, 99.9th pct 2, max 3 (bundled); bench/precision.py --quick; bench/RESULTS.md")
    Options = Layout2ImOptions
    TrainOptions = Layout2ImTrainOptions
    input_extensions = frozenset({"json"})
    requires_weights = True
    known_weights = tuple(
        WeightSpec(name=f"layout2im.{tag}", source="https://github.com/zhaobozb/layout2im",
                   license="see the reference repository",
                   description=(f"the reference {data} model ({file}, {classes}): published only as a Google Drive "
                                f"link in the reference README, which imgtrans cannot fetch; download it, then pass "
                                f"--weights {file} --opt vocab=<the dataset's vocab.json>"))
        for tag, data, file, classes in (("coco", "COCO-Stuff", "netG_coco.pkl", "184-entry vocabulary"),
                                         ("vg", "Visual Genome", "netG_vg.pkl", "179-entry vocabulary")))

    def __init__(self, options: Layout2ImOptions, device: Any, net: Any, vocab: Any) -> None:
        super().__init__(options, device)
        self.net, self.vocab = net, vocab

    @classmethod
    def load(cls, weights: Any, options: Layout2ImOptions, device: Any) -> "Layout2ImTranslator":
        from imgtrans_layout2im.loading import load_model

        net, vocab = load_model(weights, options.vocab, cls.name)
        return cls(options, device, net.to(device).eval(), vocab)

    @classmethod
    def training_task(cls, options: Layout2ImTrainOptions, settings: Any, device: Any) -> Any:
        from imgtrans_layout2im.training import Layout2ImTask

        return Layout2ImTask(options, settings, device)

    @classmethod
    def recognises(cls, state_dict: Mapping[str, Any]) -> bool:
        """A reference generator (``netG_coco.pkl``...): the keys the architecture is read
        from, with the right number of dimensions, a ConvLSTM and an RGB output layer."""
        try:
            sd = unwrap_state_dict(state_dict)
            return (all(key in sd and len(sd[key].shape) == ndim
                        for key, ndim in _GENERATOR_KEYS.items())
                    and tuple(sd["decoder.c4.weight"].shape[:1]) == (3,)
                    and any(key.startswith(_FIRST_CELL) for key in sd))
        except Exception:
            return False

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

    def labels(self) -> list[str]:
        return list(self.vocab.labels)

    def generate(self, inputs: list[Any], context: TranslateContext) -> Any:
        """Layouts -> (B * samples, 3, 64 * scale, (1 or 2) * 64 * scale) in [0, 1], image-major.
        Each sample is one pass of the whole batch; layout ``i``'s codes come from
        ``context.generators[i]``, sample after sample, as with a batch of one."""
        import torch
        import torch.nn.functional as F

        from imgtrans_layout2im.layouts import box_masks
        from imgtrans_layout2im.tensors import to_unit_range

        objs, _, masks, obj_to_img = (t.to(self.device) for t in box_masks(inputs, self.net.image_size))
        passes = []
        for _ in range(self.options.samples):
            z = torch.stack([self._code(obj, generator)
                             for layout, generator in zip(inputs, context.generators)
                             for obj in layout.objects])
            out = self.net.generate(objs, masks, obj_to_img, z)
            passes.append(to_unit_range(out, self.options.rescale))
        batch = torch.stack(passes, dim=1).flatten(0, 1)
        if self.options.scale > 1:
            batch = F.interpolate(batch, scale_factor=self.options.scale, mode="nearest")
        batch = _keep_aspect(batch, inputs[0].aspect)  # a batch shares one aspect (batch_key)
        if self.options.overlay:  # drawn at the output size, so labels stay sharp
            rows = [layout for layout in inputs for _ in range(self.options.samples)]
            batch = torch.stack([torch.cat([image, self._draw(image, layout)], dim=-1)
                                 for image, layout in zip(batch, rows)])
        return batch

    def _code(self, obj: Any, generator: Any) -> Any:
        import torch

        if obj.seed is not None:
            generator = torch.Generator(device=self.device).manual_seed(obj.seed)
        return torch.randn(self.net.z_dim, generator=generator, device=self.device)

    def _draw(self, image: Any, layout: Any) -> Any:
        """The image with each object's box and label drawn on it (OpenCV, on the CPU).
        Labels sit on a dark band, shortened to fit the image, at the first place along
        their box that no earlier label covers (see ``_label_place``)."""
        import cv2
        import numpy as np
        import torch

        from imgtrans_layout2im.tensors import box_pixels, outline_boxes

        rows, cols = image.shape[-2:]
        count = len(layout.objects)
        image = outline_boxes(image[None], [obj.box for obj in layout.objects], [0] * count,
                              [(255, 255, 255)] * count)[0]
        canvas = np.ascontiguousarray((image.permute(1, 2, 0).cpu().numpy() * 255).round().astype(np.uint8))
        font, scale = cv2.FONT_HERSHEY_SIMPLEX, max(max(rows, cols) / 320, 0.25)
        boxes = [box_pixels(obj.box, rows, cols) for obj in layout.objects]
        taken: list[tuple[int, int, int, int]] = []
        for obj, box in zip(layout.objects, boxes):
            name = label = self.vocab.name(obj.label)
            while len(label) > 2 and cv2.getTextSize(label, font, scale, 1)[0][0] > cols - 2:
                name = name[:-1]
                label = name + "."  # Hershey fonts are ASCII only: no ellipsis character
            (width, height), base = cv2.getTextSize(label, font, scale, 1)
            x, y = _label_place(box, width, height, base, cols, rows, taken)
            taken.append((x - 1, y - height - 1, x + width, y + base))
            cv2.rectangle(canvas, taken[-1][:2], taken[-1][2:], (0, 0, 0), -1)
            cv2.putText(canvas, label, (x, y), font, scale, (255, 255, 0), 1, cv2.LINE_AA)
        return torch.from_numpy(canvas).permute(2, 0, 1).float().div(255).to(image.device)


def _label_place(box: tuple[int, int, int, int], width: int, height: int, base: int, cols: int,
                 rows: int, taken: list[tuple[int, int, int, int]]) -> tuple[int, int]:
    """Text origin of a ``width`` x ``height`` (+ ``base``) label for ``box``: inside its top
    edge, inside its bottom edge, just above it or just below it, each kept inside the image;
    the first place whose band overlaps no ``taken`` band, else the one overlapping least."""
    x0, y0, _, y1 = box
    x = min(max(x0 + 1, 0), max(cols - width - 1, 0))

    def fit(y: int) -> int:
        return min(max(y, height + 1), rows - base - 1)

    def overlap(y: int) -> int:
        left, top, right, bottom = x - 1, y - height - 1, x + width, y + base
        return sum(max(0, min(right, r) - max(left, l)) * max(0, min(bottom, b) - max(top, t))
                   for l, t, r, b in taken)

    places = [fit(y0 + height + 2), fit(y1 - base - 1), fit(y0 - base - 2), fit(y1 + height + 2)]
    return x, min(places, key=overlap)  # min keeps the first of equal overlaps


def _keep_aspect(batch: Any, aspect: float) -> Any:
    """Square model outputs resized to the layout canvas's aspect ratio, the longer side
    unchanged (antialiased when shrinking)."""
    import torch.nn.functional as F

    if aspect == 1.0:
        return batch
    side = batch.shape[-1]
    size = (max(1, round(side / aspect)), side) if aspect > 1 else (side, max(1, round(side * aspect)))
    return F.interpolate(batch, size=size, mode="bilinear", antialias=True, align_corners=False).clamp(0, 1)


@hookimpl
def register_translators(register: Any) -> None:
    register(Layout2ImTranslator)
