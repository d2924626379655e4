"""Layout files: the input of the ``layout2im`` translator.

A layout describes one image to generate as a list of objects, each a class label and a box.
A layout file is a UTF-8 JSON file in one of these forms.

One layout::

    {"objects": [{"label": "red circle", "box": [0.10, 0.20, 0.45, 0.60]},
                 {"label": 3, "box": [0.50, 0.50, 0.90, 0.95], "seed": 7}]}

Several layouts, each with an optional name::

    {"layouts": [{"name": "two-circles", "objects": [...]},
                 {"objects": [...]}]}

A bare JSON list ``[{"objects": [...]}, ...]`` means the same as ``{"layouts": [...]}``.

Object fields:

``label`` (required)
    The class: its name in the model's vocabulary (exact and case sensitive, e.g.
    ``"person"`` for COCO-Stuff models) or its integer index in the vocabulary. The reserved
    entries ``"__image__"`` and unused ``"NONE"`` slots (gaps between COCO category ids) are
    not valid labels: the reference model never saw them as objects.
``box`` (required)
    ``[x0, y0, x1, y1]``: the left, top, right and bottom edges of the object's box, origin
    at the top-left corner of the image. Without ``size`` the values are fractions of the
    image width (x) and height (y), in ``[0, 1]``; ``x1 > x0`` and ``y1 > y0``.
``seed`` (optional)
    A non-negative integer that fixes this object's latent code, so the object keeps its
    appearance while other objects or the run seed change. Without it the code is drawn from
    the run's random generator.

Layout fields:

``objects`` (required)
    The list of objects. Their number must lie within the model's limits (the reference
    COCO-Stuff model was trained on 3 to 8 objects per image).
``name`` (optional)
    A name for this layout's output image (without it, a single layout is named after its
    file). Names within a file must differ.
``size`` (optional)
    ``[width, height]`` of a canvas in pixels. With it, box values are pixel coordinates on
    that canvas (``0 <= x <= width``, ``0 <= y <= height``) and are divided by it. In the
    several-layouts form a top-level ``size`` applies to every layout without its own. The
    output keeps the canvas's aspect ratio: the model draws on its square grid and the image is
    then resized so that its longer side is the model's size (times ``scale``).

Keys starting with ``_`` (e.g. ``"_comment"``) are ignored anywhere; any other unknown key is
an error, so that a typo such as ``"boxes"`` is not silently dropped.

Object order matters: the generator fuses the objects of an image one after another with a
convolutional LSTM, so the same objects listed in another order give a different image (the
reference training loaders shuffled the order of objects every time).

How boxes become model input (``box_masks``): each object's box is drawn as a filled
rectangle on the model's 64x64 grid, rows ``round(y0 * 64)`` up to (excluding)
``max(round(y0 * 64) + 1, round(y1 * 64))`` and columns alike, so every box covers at least
one pixel. ``round`` is Python's (halves to even), as in the reference COCO loader.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from imgtrans.plugin import InputError
from imgtrans_layout2im.vocabulary import _RESERVED, Vocabulary, read_json

if TYPE_CHECKING:
    import torch

@dataclass(frozen=True)
class LayoutObject:
    """One object: a class index and its box ``(x0, y0, x1, y1)`` as fractions of the image
    size, origin top-left. ``seed`` fixes the object's latent code when set."""

    label: int
    box: tuple[float, float, float, float]
    seed: int | None = None

    def __post_init__(self) -> None:
        box = tuple(float(v) for v in self.box)
        if len(box) != 4:
            raise ValueError(f"a box has 4 numbers (x0, y0, x1, y1), not {len(box)}")
        object.__setattr__(self, "box", box)
        object.__setattr__(self, "label", int(self.label))


@dataclass(frozen=True)
class Layout:
    """The objects of one image, in the order the generator fuses them. ``source`` says
    where the layout came from (``"file.json"``, ``"file.json[2]"``, ``"instances.json#139"``)
    for messages; ``name`` is the name given in the file, if any."""

    objects: tuple[LayoutObject, ...]
    source: str
    name: str | None = None
    aspect: float = 1.0
    """Width / height of the canvas the layout was drawn on (its ``size``); outputs keep it."""

    def __post_init__(self) -> None:
        object.__setattr__(self, "objects", tuple(self.objects))
        if not (math.isfinite(self.aspect) and self.aspect > 0):
            raise ValueError(f"aspect must be a positive number, not {self.aspect}")

    @property
    def batch_key(self) -> float:
        """Layouts with the same key share a forward pass (their outputs have one shape)."""
        return round(self.aspect, 4)

    def __len__(self) -> int:
        return len(self.objects)

    def to_json(self, vocab: Vocabulary | None = None) -> dict[str, Any]:
        """This layout in the file format (labels as names when ``vocab`` is given)."""
        objects = []
        width = self.aspect  # a canvas of height 1 keeps the aspect ratio in the file
        for obj in self.objects:
            x0, y0, x1, y1 = obj.box
            box = [x0, y0, x1, y1] if width == 1.0 else [x0 * width, y0, x1 * width, y1]
            entry: dict[str, Any] = {
                "label": vocab.name(obj.label) if vocab is not None else obj.label, "box": box}
            if obj.seed is not None:
                entry["seed"] = obj.seed
            objects.append(entry)
        out: dict[str, Any] = {"objects": objects}
        if width != 1.0:
            out["size"] = [width, 1.0]
        if self.name is not None:
            out["name"] = self.name
        return out


def layouts_to_json(layouts: Iterable[Layout], vocab: Vocabulary | None = None) -> dict[str, Any]:
    """Several layouts in the ``{"layouts": [...]}`` file form."""
    return {"layouts": [layout.to_json(vocab) for layout in layouts]}


# ---------------------------------------------------------------------------------------
# Parsing layout files
# ---------------------------------------------------------------------------------------

_LAYOUT_KEYS = {"objects", "name", "size"}
_OBJECT_KEYS = {"label", "box", "seed"}


class _Bad(Exception):
    """A validation problem; turned into ``InputError(path, message)`` by ``parse_layouts``."""


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _check_keys(entry: dict, allowed: set[str], where: str) -> None:
    unknown = sorted(k for k in entry if k not in allowed and not str(k).startswith("_"))
    if unknown:
        raise _Bad(f"{where}unknown key(s) {', '.join(repr(k) for k in unknown)}; "
                   f"allowed: {', '.join(sorted(allowed))} (keys starting with '_' are ignored)")


def _parse_size(value: Any, where: str) -> tuple[float, float]:
    if (not isinstance(value, list) or len(value) != 2 or not all(_is_number(v) for v in value)
            or not all(math.isfinite(v) and v > 0 for v in value)):
        raise _Bad(f"{where}\"size\" must be [width, height], two positive numbers, "
                   f"not {json.dumps(value)}")
    return float(value[0]), float(value[1])


def _parse_label(value: Any, vocab: Vocabulary, where: str) -> int:
    if isinstance(value, str):
        if value in _RESERVED:
            raise _Bad(f"{where}label {value!r} is a reserved vocabulary entry, not a class")
        if value not in vocab:
            close = vocab.closest(value)
            hint = (f"; closest: {', '.join(repr(c) for c in close)}" if close
                    else f"; the vocabulary has {len(vocab.labels)} classes")
            raise _Bad(f"{where}unknown label {value!r}{hint}")
        return vocab.index(value)
    if isinstance(value, int) and not isinstance(value, bool):
        if not 0 <= value < len(vocab):
            raise _Bad(f"{where}label index {value} is out of range (the vocabulary has "
                       f"{len(vocab)} entries, 0..{len(vocab) - 1})")
        if not vocab.is_label(value):
            raise _Bad(f"{where}label index {value} is the reserved entry "
                       f"{vocab.name(value)!r}, not a class")
        return value
    raise _Bad(f"{where}label must be a class name or an integer index, "
               f"not {json.dumps(value)}")


def _parse_box(value: Any, size: tuple[float, float] | None,
               where: str) -> tuple[float, float, float, float]:
    if not isinstance(value, list) or len(value) != 4 or not all(_is_number(v) for v in value):
        raise _Bad(f"{where}box must be 4 numbers [x0, y0, x1, y1], not {json.dumps(value)}")
    if not all(math.isfinite(v) for v in value):
        raise _Bad(f"{where}box {json.dumps(value)} has a non-finite number")
    x0, y0, x1, y1 = (float(v) for v in value)
    width, height = size if size is not None else (1.0, 1.0)
    if size is None:
        limits = "[0, 1] (fractions of the image size; give \"size\" for pixel boxes)"
    else:
        limits = f"the {width:g}x{height:g} canvas of \"size\""
    if not (0 <= x0 <= width and 0 <= x1 <= width and 0 <= y0 <= height and 0 <= y1 <= height):
        raise _Bad(f"{where}box {json.dumps(value)} lies outside {limits}")
    if x1 <= x0 or y1 <= y0:
        raise _Bad(f"{where}box {json.dumps(value)} is empty: it needs x1 > x0 and y1 > y0 "
                   f"(the format is [x0, y0, x1, y1], not [x, y, w, h])")
    return x0 / width, y0 / height, x1 / width, y1 / height


def _parse_seed(value: Any, where: str) -> int | None:
    if value is None:
        return None
    if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value < 2 ** 63:
        raise _Bad(f"{where}seed must be a non-negative integer, not {json.dumps(value)}")
    return value


def _parse_layout(entry: Any, vocab: Vocabulary, where: str, default_size: Any,
                  min_objects: int, max_objects: int) -> tuple[list, Any, float]:
    if not isinstance(entry, dict):
        raise _Bad(f"{where}a layout must be a JSON object with \"objects\", "
                   f"not {type(entry).__name__}")
    _check_keys(entry, _LAYOUT_KEYS, where)
    name = entry.get("name")
    if name is not None and (not isinstance(name, str) or not name.strip()):
        raise _Bad(f"{where}\"name\" must be a non-empty string, not {json.dumps(name)}")
    size_value = entry.get("size", default_size)
    size = _parse_size(size_value, where) if size_value is not None else None
    if "objects" not in entry:
        raise _Bad(f"{where}missing \"objects\" (the list of labelled boxes)")
    objects = entry["objects"]
    if not isinstance(objects, list):
        raise _Bad(f"{where}\"objects\" must be a list, not {type(objects).__name__}")
    if len(objects) < min_objects:
        raise _Bad(f"{where}has {len(objects)} object(s); at least {min_objects} needed")
    if len(objects) > max_objects:
        raise _Bad(f"{where}has {len(objects)} objects; the model takes at most {max_objects}")
    parsed = []
    for j, obj in enumerate(objects):
        here = f"{where}object {j}: "
        if not isinstance(obj, dict):
            raise _Bad(f"{here}must be a JSON object with \"label\" and \"box\", "
                       f"not {json.dumps(obj)}")
        _check_keys(obj, _OBJECT_KEYS, here)
        for key in ("label", "box"):
            if key not in obj:
                raise _Bad(f"{here}missing \"{key}\"")
        label = _parse_label(obj["label"], vocab, here)
        box = _parse_box(obj["box"], size, here)
        seed = _parse_seed(obj.get("seed"), here)
        parsed.append(LayoutObject(label, box, seed))
    return parsed, name, (size[0] / size[1] if size is not None else 1.0)


def parse_layouts(path: Path, vocab: Vocabulary, min_objects: int = 1,
                  max_objects: int = 8) -> list[Layout]:
    """Read and validate a layout file (format in the module docstring).

    Raises ``InputError(path, reason)`` for the first problem, naming the layout and object
    index: malformed JSON (line and column), unknown label (with the closest valid names),
    label index out of range or reserved, box not 4 numbers, outside ``[0, 1]`` (or the
    ``size`` canvas), empty, too few or too many objects, unknown keys.
    """
    if min_objects < 1 or max_objects < min_objects:
        raise ValueError(f"need 1 <= min_objects <= max_objects, got {min_objects}, "
                         f"{max_objects}")
    path = Path(path)
    data = read_json(path)
    try:
        if isinstance(data, dict) and "layouts" in data:
            _check_keys(data, {"layouts", "size"}, "")
            entries, default_size = data["layouts"], data.get("size")
            if default_size is not None:
                _parse_size(default_size, "")
            if not isinstance(entries, list):
                raise _Bad(f"\"layouts\" must be a list, not {type(entries).__name__}")
            several = True
        elif isinstance(data, list):
            entries, default_size, several = data, None, True
        elif isinstance(data, dict):
            entries, default_size, several = [data], None, False
        else:
            raise _Bad(f"a layout file holds a JSON object or list, not {type(data).__name__}")
        if not entries:
            raise _Bad("the file holds no layouts")
        layouts = []
        for i, entry in enumerate(entries):
            if several:
                label = f"layout {i}"
                if isinstance(entry, dict) and isinstance(entry.get("name"), str):
                    label += f" ({entry['name']!r})"
                where = label + ": "
            else:
                where = ""
            objects, name, aspect = _parse_layout(entry, vocab, where, default_size, min_objects,
                                                  max_objects)
            source = f"{path}[{i}]" if several else str(path)
            layouts.append(Layout(tuple(objects), source, name, aspect))
    except _Bad as exc:
        raise InputError(path, str(exc)) from None
    if several:
        names = [layout.name for layout in layouts if layout.name is not None]
        dupes = sorted({n for n in names if names.count(n) > 1})
        if dupes:
            raise InputError(path, f"layout name(s) used more than once: "
                                   f"{', '.join(repr(d) for d in dupes)}")
    return layouts


# ---------------------------------------------------------------------------------------
# COCO / COCO-Stuff annotations
# ---------------------------------------------------------------------------------------

def box_masks(layouts: Sequence[Layout], size: int = 64
              ) -> tuple["torch.Tensor", "torch.Tensor", "torch.Tensor", "torch.Tensor"]:
    """The flat model input of a batch of layouts: ``(objs, boxes, masks, obj_to_img)``.

    ``objs`` LongTensor (O,) class indices; ``boxes`` FloatTensor (O, 4) ``(x0, y0, x1, y1)``;
    ``masks`` FloatTensor (O, 1, size, size) from ``tensors.masks_from_boxes``, each a filled
    rectangle of ones (rows
    ``round(y0*size)`` to ``max(round(y0*size) + 1, round(y1*size))``, exclusive, columns
    alike; Python ``round``, as the reference COCO loader); ``obj_to_img`` LongTensor (O,)
    with the objects of layout 0 first, then layout 1, and so on. Every layout needs at
    least one object. Deviation from the reference: rectangle ends are clipped to the grid,
    so a box starting outside the image does not wrap around (the reference slices with a
    negative start there). A box starting in the last half pixel (``y0 * size >= size -
    0.5``) gives an empty mask, as in the reference.
    """
    import torch

    from imgtrans_layout2im.tensors import masks_from_boxes

    if not layouts:
        raise ValueError("box_masks needs at least one layout")
    objs, boxes, owners = [], [], []
    for i, layout in enumerate(layouts):
        if not layout.objects:
            raise ValueError(f"layout {i} ({layout.source}) has no objects; the generator "
                             f"needs at least one per image")
        for obj in layout.objects:
            objs.append(obj.label)
            boxes.append(obj.box)
            owners.append(i)
    # the boxes as parsed (float64), not their float32 copy: rounding sees the file's values
    masks = masks_from_boxes(torch.tensor(boxes, dtype=torch.float64), size).float()
    return (torch.tensor(objs, dtype=torch.long), torch.tensor(boxes, dtype=torch.float32),
            masks, torch.tensor(owners, dtype=torch.long))
