"""A synthetic layout dataset for the demo model: coloured, patterned shapes on calm textures.

Classes are colour x shape, e.g. ``"red circle"``, ``"blue square"``, ``"green triangle"``
(9 classes, ``VOCAB`` with ``"__image__"`` at index 0 as COCO vocabularies). Each object is
drawn to fill its box: a square fills the whole box (so it is a rectangle when the box is),
a circle is the ellipse inscribed in it, a triangle has its base on the box's bottom edge and
its apex at the middle of the top edge. Objects are drawn in layout order, later ones on
top. Images are 64x64 RGB.

Appearance model. The label fixes hue and shape only; everything else about an object is
drawn independently of the label, so that layout2im's per-object latent code z has something
to encode (with one fixed look per class, z could only steer invisible details):

* shade ``s ~ U(0, 1)``: the object's colour runs linearly from its class's darkest to its
  lightest shade (``SHADES``, e.g. red from maroon to salmon) plus a jitter of up to
  ±``COLOUR_JITTER`` per channel; every shade keeps its class channel at least 80 above
  the other two, so the class stays unmistakable;
* pattern (``PATTERNS``, with ``PATTERN_WEIGHTS``): ``solid``, ``stripes`` (at 0, 45, 90 or
  135 degrees), ``checks`` (4-pixel cells) or ``dots`` (on an 8-pixel grid), in a second
  shade of the same class 0.35 to 0.5 lighter (or darker, for light objects), at a random
  phase. Patterns repeat every ``PATTERN_PERIOD`` = 8 image pixels, the period of the
  generator's three stride-2 upsamplings: z is spread uniformly over the box, so positions
  inside a box are known to the generator only modulo that lattice (and by the distance to
  the box edges); patterns of arbitrary period or angle it could not draw from a code.

Backgrounds are low-contrast grey textures (gradients, soft stripes, checkers, smooth
noise) around a random grey level; they vary independently of the objects (the reference
model has no whole-image object, so no code can steer them), and are kept calm so that the
objects carry most of what varies between images.

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
"""Typical class colours (RGB), within each class's ``SHADES`` range."""
SHADES: dict[str, tuple[tuple[int, int, int], tuple[int, int, int]]] = {
    "red": ((125, 15, 20), (255, 115, 105)),
    "green": ((15, 110, 30), (120, 245, 130)),
    "blue": ((25, 40, 150), (125, 150, 255)),
}
"""Darkest and lightest shade (RGB) of each class colour; an object's shade is a linear mix."""
COLOUR_JITTER = 8
PATTERNS = ("solid", "stripes", "checks", "dots")
PATTERN_WEIGHTS = (0.4, 0.3, 0.15, 0.15)
PATTERN_PERIOD = 8
"""Patterns repeat every 8 image pixels (the generator's upsampling lattice)."""
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


def background(rng: np.random.Generator, size: int = IMAGE_SIZE) -> np.ndarray:
    """A random low-contrast grey texture, float32 (size, size, 3) in 0..255: two muted
    colours within ±28 of a grey level in 80..180, mixed by a gradient, soft stripes, a
    checkerboard or smooth noise."""
    level = rng.uniform(80, 180)
    a, b = (np.clip(level + rng.uniform(-28, 28) + rng.uniform(-10, 10, size=3), 0, 255)
            for _ in range(2))
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
    img = img + rng.normal(0, 3, size=img.shape)
    return img.astype(np.float32)


def shade(colour: str, s: float) -> np.ndarray:
    """The class colour ``colour`` at shade ``s`` in [0, 1] (0 darkest, 1 lightest):
    float32 RGB (3,) in 0..255."""
    dark, light = (np.array(c, dtype=np.float32) for c in SHADES[colour])
    return dark + np.float32(s) * (light - dark)


def _pattern_mask(kind: str, rng: np.random.Generator, size: int, scale: int) -> np.ndarray:
    """Where the second shade goes: bool (size*scale, size*scale) over the whole canvas
    (the shape mask cuts it out), periodic with ``PATTERN_PERIOD`` image pixels."""
    period = PATTERN_PERIOD
    coords = (np.arange(size * scale, dtype=np.float32) + 0.5) / scale  # image pixel units
    v, u = np.meshgrid(coords, coords, indexing="ij")  # v: rows (y), u: columns (x)
    du, dv = rng.uniform(0, period, size=2)
    u, v = u + np.float32(du), v + np.float32(dv)
    if kind == "stripes":
        t = (v, u + v, u, u - v)[int(rng.integers(0, 4))]  # 0, 45, 90, 135 degrees
        return np.mod(t, period) < period / 2
    if kind == "checks":
        half = period / 2
        return ((np.floor(u / half) + np.floor(v / half)) % 2).astype(bool)
    if kind == "dots":
        radius = rng.uniform(1.7, 2.4)
        cu, cv = np.mod(u, period) - period / 2, np.mod(v, period) - period / 2
        return cu * cu + cv * cv < radius * radius
    return np.zeros(u.shape, dtype=bool)


def _shape_mask(shape: str, box: tuple[int, int, int, int], canvas: int) -> np.ndarray:
    x0, y0, x1, y1 = box
    mask = np.zeros((canvas, canvas), dtype=np.uint8)
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
    return mask.astype(bool)


def render(layout: Layout, rng: np.random.Generator, vocab: Vocabulary = VOCAB,
           size: int = IMAGE_SIZE) -> np.ndarray:
    """The image of ``layout``: uint8 RGB (size, size, 3). ``rng`` draws the background and
    each object's appearance (shade, pattern, its second shade and phase; see the module
    docstring)."""
    scale = _SUPERSAMPLE
    canvas = size * scale
    big = cv2.resize(background(rng, size), (canvas, canvas), interpolation=cv2.INTER_LINEAR)
    for obj in layout.objects:
        colour_name, shape = _class_of(vocab, obj.label)
        s = float(rng.uniform(0, 1))
        offset = float(rng.uniform(0.35, 0.5))
        second = s + offset if s < 0.5 else s - offset
        jitter = rng.uniform(-COLOUR_JITTER, COLOUR_JITTER, size=3).astype(np.float32)
        main = np.clip(shade(colour_name, s) + jitter, 0, 255)
        other = np.clip(shade(colour_name, second) + jitter, 0, 255)
        kind = PATTERNS[int(rng.choice(len(PATTERNS), p=PATTERN_WEIGHTS))]
        pattern = _pattern_mask(kind, rng, size, scale)
        x0, y0, x1, y1 = (round(v * canvas) for v in obj.box)
        mask = _shape_mask(shape, (x0, y0, max(x1, x0 + 1), max(y1, y0 + 1)), canvas)
        big[mask] = np.where(pattern[mask][:, None], other, main)
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
