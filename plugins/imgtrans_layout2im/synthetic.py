"""A synthetic layout dataset for the demo model: coloured shapes on textured backgrounds.

Classes are colour x shape, e.g. ``"red circle"``, ``"blue square"``, ``"green triangle"``
(9 classes, ``VOCAB`` with ``"__image__"`` at index 0 as COCO vocabularies). Each object is
drawn to fill its box: a square fills the whole box (so it is a rectangle when the box is),
a circle is the ellipse inscribed in it, a triangle has its base on the box's bottom edge and
its apex at the middle of the top edge. Objects are drawn in layout order, later ones on
top. Backgrounds are low-saturation textures (gradients, stripes, checkers, smooth noise),
so the class colours stand out. Images are 64x64 RGB.

``make_dataset`` writes PNG images and a COCO-format ``instances.json``, so the training
data goes through the same reader (``coco.read_coco``) as COCO itself. Boxes lie on the
64-pixel grid, so layouts survive the pixel round trip exactly.

numpy and OpenCV only (no torch).
"""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np

from imgtrans_layout2im.layouts import Layout, LayoutObject
from imgtrans_layout2im.vocabulary import IMAGE_TOKEN, Vocabulary

IMAGE_SIZE = 64
SHAPES = ("circle", "square", "triangle")
COLOURS: dict[str, tuple[int, int, int]] = {
    "red": (215, 40, 40),
    "green": (40, 175, 60),
    "blue": (45, 80, 225),
}
"""Class colours (RGB); each object is drawn with this colour jittered by up to ±COLOUR_JITTER
per channel."""
COLOUR_JITTER = 15
CLASS_NAMES = tuple(f"{colour} {shape}" for colour in COLOURS for shape in SHAPES)
VOCAB = Vocabulary([IMAGE_TOKEN, *CLASS_NAMES])
"""The synthetic vocabulary: ``__image__`` then the 9 classes (COCO category ids 1..9)."""

_SUPERSAMPLE = 4  # shapes are drawn at 4x and area-downsampled: smooth edges


def _class_of(vocab: Vocabulary, label: int) -> tuple[str, str]:
    name = vocab.name(label)
    colour, _, shape = name.partition(" ")
    if colour not in COLOURS or shape not in SHAPES:
        raise ValueError(f"class {name!r} is not a synthetic class (colour shape, e.g. "
                         f"'red circle')")
    return colour, shape


def _covers(box: tuple[int, int, int, int], x: float, y: float, margin: int = 2) -> bool:
    x0, y0, x1, y1 = box
    return x0 - margin <= x < x1 + margin and y0 - margin <= y < y1 + margin


def _overlap(a: tuple[int, int, int, int], b: tuple[int, int, int, int]) -> float:
    """Intersection area over the smaller box's area."""
    w = min(a[2], b[2]) - max(a[0], b[0])
    h = min(a[3], b[3]) - max(a[1], b[1])
    if w <= 0 or h <= 0:
        return 0.0
    smaller = min((a[2] - a[0]) * (a[3] - a[1]), (b[2] - b[0]) * (b[3] - b[1]))
    return w * h / smaller


def random_layout(rng: np.random.Generator, vocab: Vocabulary = VOCAB, min_objects: int = 1,
                  max_objects: int = 4, *, size: int = IMAGE_SIZE,
                  min_side: float = 0.22, max_side: float = 0.55, max_overlap: float = 0.4,
                  source: str = "synthetic") -> Layout:
    """A random layout of ``min_objects..max_objects`` synthetic objects.

    Box sides are ``min_side..max_side`` of the image, on the ``size`` pixel grid (box values
    are multiples of ``1/size``). A new box never covers the centre of an earlier one, nor
    more than ``max_overlap`` of the area of either box of a pair, so every object stays
    recognisable."""
    if not 1 <= min_objects <= max_objects:
        raise ValueError(f"need 1 <= min_objects <= max_objects, got {min_objects}, "
                         f"{max_objects}")
    labels = [i for i in range(len(vocab)) if vocab.is_label(i)]
    for label in labels:
        _class_of(vocab, label)
    lo, hi = max(2, round(min_side * size)), max(2, round(max_side * size))
    for _ in range(100):
        count = int(rng.integers(min_objects, max_objects + 1))
        boxes: list[tuple[int, int, int, int]] = []
        for _ in range(count * 30):
            if len(boxes) == count:
                break
            w, h = (int(v) for v in rng.integers(lo, hi + 1, size=2))
            x0, y0 = int(rng.integers(0, size - w + 1)), int(rng.integers(0, size - h + 1))
            box = (x0, y0, x0 + w, y0 + h)
            centres = [((a + c) / 2, (b + d) / 2) for a, b, c, d in boxes]
            if any(_covers(box, cx, cy) for cx, cy in centres):
                continue
            if any(_overlap(box, other) > max_overlap for other in boxes):
                continue
            boxes.append(box)
        if len(boxes) == count:
            break
    else:
        raise ValueError(f"cannot place {min_objects}..{max_objects} boxes with sides "
                         f"{min_side}..{max_side} without covering each other's centres")
    objects = tuple(LayoutObject(int(rng.choice(labels)),
                                 (x0 / size, y0 / size, x1 / size, y1 / size))
                    for x0, y0, x1, y1 in boxes)
    return Layout(objects, source)


def _muted_colour(rng: np.random.Generator) -> np.ndarray:
    grey = rng.uniform(60, 200)
    return np.clip(grey + rng.uniform(-18, 18, size=3), 0, 255)


def background(rng: np.random.Generator, size: int = IMAGE_SIZE) -> np.ndarray:
    """A random low-saturation texture, float32 (size, size, 3) in 0..255."""
    a, b = _muted_colour(rng), _muted_colour(rng)
    kind = rng.integers(0, 4)
    yy, xx = np.mgrid[0:size, 0:size].astype(np.float32) / size
    if kind == 0:  # linear gradient at a random angle
        angle = rng.uniform(0, 2 * np.pi)
        t = (np.cos(angle) * xx + np.sin(angle) * yy)
        t = (t - t.min()) / max(float(t.max() - t.min()), 1e-6)
    elif kind == 1:  # soft stripes
        angle, period = rng.uniform(0, np.pi), rng.uniform(0.08, 0.3)
        t = 0.5 + 0.5 * np.sin(2 * np.pi * (np.cos(angle) * xx + np.sin(angle) * yy) / period)
    elif kind == 2:  # checkerboard
        cell = int(rng.integers(4, 17))
        t = (((np.arange(size)[:, None] // cell) + (np.arange(size)[None, :] // cell)) % 2)
        t = t.astype(np.float32)
    else:  # smooth noise
        grid = rng.uniform(0, 1, size=(int(rng.integers(3, 7)),) * 2).astype(np.float32)
        t = cv2.resize(grid, (size, size), interpolation=cv2.INTER_CUBIC).clip(0, 1)
    img = a[None, None, :] * (1 - t[..., None]) + b[None, None, :] * t[..., None]
    img = img + rng.normal(0, 4, size=img.shape)
    return img.astype(np.float32)


def render(layout: Layout, rng: np.random.Generator, vocab: Vocabulary = VOCAB,
           size: int = IMAGE_SIZE) -> np.ndarray:
    """The image of ``layout``: uint8 RGB (size, size, 3). ``rng`` draws the background and
    the colour jitter."""
    scale = _SUPERSAMPLE
    big = cv2.resize(background(rng, size), (size * scale, size * scale),
                     interpolation=cv2.INTER_LINEAR)
    for obj in layout.objects:
        colour_name, shape = _class_of(vocab, obj.label)
        colour = np.clip(np.array(COLOURS[colour_name], dtype=np.float32)
                         + rng.uniform(-COLOUR_JITTER, COLOUR_JITTER, size=3), 0, 255)
        x0, y0, x1, y1 = (round(v * size * scale) for v in obj.box)
        x1, y1 = max(x1, x0 + 1), max(y1, y0 + 1)
        mask = np.zeros((size * scale, size * scale), dtype=np.uint8)
        if shape == "square":
            mask[y0:y1, x0:x1] = 1
        elif shape == "circle":
            centre = ((x0 + x1 - 1) // 2, (y0 + y1 - 1) // 2)
            axes = (max((x1 - x0) // 2, 1), max((y1 - y0) // 2, 1))
            cv2.ellipse(mask, centre, axes, 0, 0, 360, 1, thickness=-1)
        else:
            points = np.array([[x0, y1 - 1], [x1 - 1, y1 - 1], [(x0 + x1 - 1) // 2, y0]],
                              dtype=np.int32)
            cv2.fillPoly(mask, [points], 1)
        big[mask.astype(bool)] = colour
    small = cv2.resize(big, (size, size), interpolation=cv2.INTER_AREA)
    return np.clip(np.rint(small), 0, 255).astype(np.uint8)


def make_dataset(out_dir: Path, n: int, seed: int, *, min_objects: int = 1,
                 max_objects: int = 4) -> Path:
    """Write ``n`` random layouts as ``out_dir/images/000000.png ...`` and their annotations
    as ``out_dir/instances.json`` (COCO format: images, categories with ids 1..9 = ``VOCAB``
    indices, annotations with pixel ``bbox`` ``[x, y, w, h]``). Returns the JSON path.
    The same ``seed`` gives the same files."""
    out_dir = Path(out_dir)
    image_dir = out_dir / "images"
    image_dir.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    images, annotations = [], []
    for i in range(n):
        layout = random_layout(rng, VOCAB, min_objects, max_objects, source=f"synthetic#{i}")
        file_name = f"{i:06d}.png"
        if not cv2.imwrite(str(image_dir / file_name), render(layout, rng)[:, :, ::-1]):
            raise OSError(f"could not write {image_dir / file_name}")
        images.append({"id": i + 1, "file_name": file_name, "width": IMAGE_SIZE,
                       "height": IMAGE_SIZE})
        for obj in layout.objects:
            x0, y0, x1, y1 = (round(v * IMAGE_SIZE) for v in obj.box)
            annotations.append({"id": len(annotations) + 1, "image_id": i + 1,
                                "category_id": obj.label, "bbox": [x0, y0, x1 - x0, y1 - y0],
                                "area": (x1 - x0) * (y1 - y0), "iscrowd": 0})
    categories = [{"id": VOCAB.index(name), "name": name, "supercategory": name.split()[1]}
                  for name in CLASS_NAMES]
    data = {"info": {"description": "imgtrans synthetic layouts (coloured shapes)",
                     "seed": seed, "count": n},
            "images": images, "categories": categories, "annotations": annotations}
    path = out_dir / "instances.json"
    path.write_text(json.dumps(data, indent=1), encoding="utf-8")
    return path
