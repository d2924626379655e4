"""Measurable quality for layout2im models of the synthetic family (``synthetic.VOCAB``).

The paper measures object classification accuracy (a classifier trained on real object
crops, applied to crops of generated images), Inception Score and diversity (LPIPS between
two samples of the same layout; layout2im.md §7). Here, for the synthetic shapes:

* ``train_object_classifier``: a tiny CNN that classifies 32x32 object crops (the same
  bilinear crops the object discriminator sees) into the synthetic classes, trained in
  seconds on crops of freshly rendered random layouts; it reports its accuracy on held-out
  real crops;
* ``object_accuracy``: the fraction of a layout's objects whose crop in a generated image
  the classifier labels as the layout says;
* ``diversity``: mean per-pixel L1 distance (in [0, 1] RGB) between two samples of the same
  layouts, and ``object_diversity``, the same distance between the 32x32 crops of each box
  (how much the objects themselves change, not only the background). LPIPS, the paper's diversity measure, needs pretrained AlexNet/VGG weights that
  are not available offline, so this is a plain pixel distance: comparable between models
  evaluated here, not with the paper's numbers.

Script::

    python -m imgtrans_layout2im.quality --weights RUN [--layouts N] [--seed S]

prints a Markdown table: object accuracy, image and object diversity of the model, of real renderings of
the same layouts (upper bound) and of two trivial baselines (the mean rendering of random
layouts; each box filled with the average colour of all classes on the mean background).

The same accuracy and diversity are ``imgtrans eval`` measures (``object_accuracy``,
``diversity``; :mod:`imgtrans_layout2im.measures`) for outputs on disk, whatever made them;
this script keeps the experiment around them: layouts drawn at random, images generated in
memory, real renderings and baselines side by side.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from imgtrans_layout2im.layouts import Layout, box_masks
from imgtrans_layout2im.loading import load_model
from imgtrans_layout2im.tensors import crop_boxes, to_unit_range
from imgtrans_layout2im.synthetic import COLOURS, VOCAB, random_layout, render
from imgtrans_layout2im.vocabulary import Vocabulary

CROP_SIZE = 32
ImageSource = Any
"""What ``object_accuracy`` can evaluate: a (N, 3, 64, 64) tensor in [0, 1] (one image per
layout), a callable ``layouts -> such a tensor``, a ``Layout2ImGenerator``, or a loaded
layout2im translator (anything with a ``.net`` generator)."""


class ObjectClassifier(nn.Module):
    """A tiny CNN: (O, 3, 32, 32) crops in [0, 1] to logits over the vocabulary (index 0,
    ``__image__``, is never a target)."""

    def __init__(self, num_classes: int = len(VOCAB), width: int = 16) -> None:
        super().__init__()
        w = width
        self.features = nn.Sequential(
            nn.Conv2d(3, w, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),           # 16
            nn.Conv2d(w, 2 * w, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),       # 8
            nn.Conv2d(2 * w, 4 * w, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2))   # 4
        self.head = nn.Linear(4 * w * 16, num_classes)

    def forward(self, crops: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(crops * 2 - 1).flatten(1))


def object_crops(images: torch.Tensor, layouts: Sequence[Layout]) -> tuple[torch.Tensor, torch.Tensor]:
    """``(crops (O, 3, 32, 32), labels (O,))`` of every object of ``layouts`` in
    ``images`` (one image per layout, [0, 1])."""
    objs, boxes, _, owners = box_masks(list(layouts), images.shape[-1])
    return crop_boxes(images.float(), boxes.to(images.device), owners.to(images.device),
                      CROP_SIZE), objs


def render_batch(layouts: Sequence[Layout], rng: np.random.Generator) -> torch.Tensor:
    """Real renderings (N, 3, 64, 64) in [0, 1] of synthetic layouts."""
    pixels = np.stack([render(layout, rng) for layout in layouts])
    return torch.from_numpy(pixels).permute(0, 3, 1, 2).float() / 255.0


def random_layouts(count: int, seed: int, min_objects: int = 1,
                   max_objects: int = 4) -> list[Layout]:
    """``count`` random synthetic layouts (as ``synthetic.make_dataset`` draws them)."""
    rng = np.random.default_rng(seed)
    return [random_layout(rng, VOCAB, min_objects, max_objects, source=f"eval#{i}")
            for i in range(count)]


def _classify(classifier: nn.Module, crops: torch.Tensor) -> torch.Tensor:
    classifier.eval()
    with torch.no_grad():
        return torch.cat([classifier(part).argmax(1) for part in crops.split(256)])


def train_object_classifier(rng_seed: int = 0, steps: int = 300, *, batch_layouts: int = 16,
                            held_out: int = 200, lr: float = 2e-3
                            ) -> tuple[ObjectClassifier, float]:
    """Train the crop classifier on crops of freshly rendered random layouts (1 to 4 objects,
    ``batch_layouts`` per step); returns it with its accuracy on the crops of ``held_out``
    other renderings. Seeded by ``rng_seed`` alone; torch's global RNG is left untouched."""
    rng = np.random.default_rng(rng_seed)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(rng_seed)
        classifier = ObjectClassifier()
        optimizer = torch.optim.Adam(classifier.parameters(), lr=lr)
        classifier.train()
        for _ in range(steps):
            layouts = [random_layout(rng, VOCAB, 1, 4) for _ in range(batch_layouts)]
            crops, labels = object_crops(render_batch(layouts, rng), layouts)
            loss = F.cross_entropy(classifier(crops), labels)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
    test_rng = np.random.default_rng([rng_seed, 1])
    layouts = [random_layout(test_rng, VOCAB, 1, 4) for _ in range(held_out)]
    crops, labels = object_crops(render_batch(layouts, test_rng), layouts)
    accuracy = float((_classify(classifier, crops) == labels).float().mean())
    return classifier.eval(), accuracy


def generate_images(source: ImageSource, layouts: Sequence[Layout], seed: int = 0,
                    batch_size: int = 32) -> torch.Tensor:
    """One image per layout, (N, 3, 64, 64) in [0, 1], from any ``ImageSource``. Generators
    draw z ~ N(0, I) from a generator seeded with ``seed`` and run in eval mode; their
    output is clamped to [0, 1] (absolute colours, no per-image min-max stretch)."""
    if isinstance(source, torch.Tensor):
        if source.shape[0] != len(layouts):
            raise ValueError(f"{source.shape[0]} images for {len(layouts)} layouts")
        return source
    net = getattr(source, "net", source)
    if not hasattr(net, "generate"):
        if callable(source):
            return source(list(layouts))
        raise TypeError(f"cannot make images with {type(source).__name__}")
    device = next(net.parameters()).device
    generator = torch.Generator().manual_seed(seed)
    net.eval()
    out = []
    with torch.no_grad():
        for start in range(0, len(layouts), batch_size):
            part = list(layouts[start:start + batch_size])
            objs, _, masks, owners = box_masks(part, net.image_size)
            z = torch.randn(len(objs), net.z_dim, generator=generator)
            images = net.generate(objs.to(device), masks.to(device), owners.to(device), z.to(device))
            out.append(to_unit_range(images, "clamp").cpu())
    return torch.cat(out)


def object_accuracy(classifier: nn.Module, source: ImageSource, layouts: Sequence[Layout],
                    seed: int = 0) -> float:
    """Fraction of the objects of ``layouts`` whose 32x32 crop in the image made by
    ``source`` (see ``ImageSource``) the classifier assigns the layout's label."""
    images = generate_images(source, layouts, seed)
    crops, labels = object_crops(images, layouts)
    return float((_classify(classifier, crops) == labels).float().mean())


def diversity(images_a: torch.Tensor, images_b: torch.Tensor) -> float:
    """Mean per-pixel L1 distance between two samples of the same layouts ((N, 3, H, W) in
    [0, 1], image i of both made from layout i). Not LPIPS (unavailable offline): a pixel
    distance, 0 for a deterministic model."""
    if images_a.shape != images_b.shape:
        raise ValueError(f"shapes differ: {tuple(images_a.shape)} vs {tuple(images_b.shape)}")
    return float((images_a.float() - images_b.float()).abs().mean())


def object_diversity(images_a: torch.Tensor, images_b: torch.Tensor,
                     layouts: Sequence[Layout]) -> float:
    """``diversity`` of the 32x32 crops of every box of ``layouts``: how much the objects'
    appearance differs between two samples, whatever the background does."""
    crops_a, _ = object_crops(images_a, layouts)
    crops_b, _ = object_crops(images_b, layouts)
    return diversity(crops_a, crops_b)


# ---------------------------------------------------------------------------------------
# Trivial baselines
# ---------------------------------------------------------------------------------------

def mean_image(count: int = 256, seed: int = 12345) -> torch.Tensor:
    """The mean of ``count`` renderings of random layouts (3, 64, 64): a stand-in for the
    mean training image of ``synthetic.make_dataset`` data."""
    rng = np.random.default_rng(seed)
    layouts = [random_layout(rng, VOCAB, 1, 4) for _ in range(count)]
    return render_batch(layouts, rng).mean(0)


def average_colour_boxes(layouts: Sequence[Layout], background: torch.Tensor | None = None
                         ) -> torch.Tensor:
    """Each layout drawn as its boxes filled with the average colour of all classes over
    ``background`` (default: ``mean_image()``): right boxes, no class information."""
    background = mean_image() if background is None else background
    colour = torch.tensor(list(COLOURS.values()), dtype=torch.float32).mean(0) / 255.0
    _, _, masks, owners = box_masks(list(layouts), background.shape[-1])
    images = background[None].repeat(len(layouts), 1, 1, 1)
    for mask, owner in zip(masks, owners.tolist()):
        images[owner] = torch.where(mask.bool(), colour[:, None, None], images[owner])
    return images


# ---------------------------------------------------------------------------------------
# Report
# ---------------------------------------------------------------------------------------

def evaluate(net: Any, vocab: Vocabulary, *, layouts: int = 200, seed: int = 0,
             classifier_steps: int = 300, min_objects: int = 1, max_objects: int = 4
             ) -> dict[str, Any]:
    """Object accuracy and diversity of a synthetic-family generator against real renderings
    and the trivial baselines, on ``layouts`` held-out random layouts."""
    if list(vocab.names) != list(VOCAB.names):
        raise ValueError("the model's vocabulary is not the synthetic one "
                         f"({', '.join(VOCAB.labels)}); this measure is for synthetic-data models")
    classifier, classifier_accuracy = train_object_classifier(seed, classifier_steps)
    evaluation = random_layouts(layouts, seed + 1_000_003, min_objects, max_objects)
    rng = np.random.default_rng([seed, 2])
    real_a, real_b = render_batch(evaluation, rng), render_batch(evaluation, rng)
    fake_a = generate_images(net, evaluation, seed)
    fake_b = generate_images(net, evaluation, seed + 1)
    mean = mean_image()

    def row(name: str, a: torch.Tensor, b: torch.Tensor | None = None) -> tuple[str, float, float, float]:
        b = a if b is None else b  # a deterministic image: no diversity
        return (name, object_accuracy(classifier, a, evaluation), diversity(a, b),
                object_diversity(a, b, evaluation))

    rows = [
        row("real renderings (upper bound)", real_a, real_b),
        row("model, z ~ N(0, I)", fake_a, fake_b),
        row("baseline: mean image", mean[None].repeat(len(evaluation), 1, 1, 1)),
        row("baseline: boxes in the average class colour", average_colour_boxes(evaluation, mean)),
    ]
    return {"classifier_accuracy": classifier_accuracy, "layouts": len(evaluation),
            "objects": sum(len(layout) for layout in evaluation), "rows": rows}


def markdown(result: dict[str, Any]) -> str:
    lines = ["| images | object accuracy | diversity (pixel L1) | object diversity (crop L1) |",
             "|---|---|---|---|"]
    lines += [f"| {name} | {acc:.3f} | {div:.3f} | {obj:.3f} |"
              for name, acc, div, obj in result["rows"]]
    lines.append("")
    lines.append(f"{result['layouts']} held-out layouts, {result['objects']} objects; crop "
                 f"classifier accuracy on held-out real crops: "
                 f"{result['classifier_accuracy']:.3f}. Diversity: mean |a - b| over pixels "
                 f"of two samples per layout, over whole images and over the 32x32 crops of "
                 f"the boxes (not LPIPS, which is unavailable offline).")
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None, out: Callable[[str], None] = print) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m imgtrans_layout2im.quality",
        description="Object accuracy and diversity of a layout2im model trained on synthetic data.")
    parser.add_argument("--weights", required=True,
                        help="run or checkpoint folder from `imgtrans train layout2im`")
    parser.add_argument("--layouts", type=int, default=200, help="held-out layouts (default 200)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--classifier-steps", type=int, default=300)
    parser.add_argument("--min-objects", type=int, default=1)
    parser.add_argument("--max-objects", type=int, default=4)
    parser.add_argument("--vocab", default=None, help="vocabulary JSON (reference checkpoints only)")
    args = parser.parse_args(argv)
    net, vocab = load_model(args.weights, args.vocab)
    result = evaluate(net, vocab, layouts=args.layouts, seed=args.seed,
                      classifier_steps=args.classifier_steps, min_objects=args.min_objects,
                      max_objects=args.max_objects)
    out(markdown(result))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
