"""Reading COCO-format annotation files (instances, and stuff) into layouts, with the
layout2im paper's filters."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from imgtrans.plugin import InputError
from imgtrans_layout2im.layouts import Layout, LayoutObject
from imgtrans_layout2im.vocabulary import GAP_TOKEN, IMAGE_TOKEN, Vocabulary, read_json


def _coco_section(data: Any, key: str, path: Path) -> list:
    if not isinstance(data, dict) or not isinstance(data.get(key), list):
        raise InputError(path, f"not a COCO annotation file: no {key!r} list")
    return data[key]


def read_coco(instances_json: Path, stuff_json: Path | None = None,
              vocab: Vocabulary | None = None, *, min_object_size: float = 0.02,
              min_objects: int = 3, max_objects: int = 8, include_other: bool = False,
              stuff_only: bool = True) -> tuple[Vocabulary, list[tuple[str, Layout]]]:
    """Layouts of a COCO (and COCO-Stuff) annotation set, filtered as layout2im trains.

    Follows the reference COCO loader (``data/coco_custom_mask.py`` of zhaobozb/layout2im,
    itself sg2im's; see layout2im.md §1 and §5):

    * vocabulary: index = COCO category id (instance categories, then stuff categories),
      ``"__image__"`` at 0 (COCO ids start at 1) and ``"NONE"`` for unused ids, so COCO-Stuff
      2017 gives 184 entries (ids up to 183). The category ``"other"`` stays in the
      vocabulary even when its objects are dropped.
    * objects: instance annotations in file order, then stuff annotations in file order;
      kept when the box area ``w * h`` is **more than** ``min_object_size`` times the image
      area (``width * height`` from the ``images`` entry) and the category is not
      ``"other"`` (unless ``include_other``).
    * images: in the order of the instances file's ``images`` list; with a stuff file and
      ``stuff_only`` (the reference default) only images that have stuff annotations; kept
      when ``min_objects <= #objects <= max_objects`` (reference: 3 and 8).
    * boxes: COCO ``[x, y, w, h]`` pixels become ``(x/W, y/H, (x+w)/W, (y+h)/H)``, not
      clipped (the reference divides by the size of the image file, which COCO's
      ``width``/``height`` match).

    The reference adds no ``__image__`` object and shuffles the objects of an image every
    time it loads it; here the file order is kept. With ``vocab`` given (e.g. the one a
    checkpoint was trained with), labels are looked up by category name in it, and a
    category it lacks is an ``InputError``; otherwise the vocabulary is built as above and
    returned. Returns ``(vocabulary, [(file_name, layout), ...])``.
    """
    instances_json = Path(instances_json)
    instances = read_json(instances_json)
    stuff = read_json(Path(stuff_json)) if stuff_json is not None else None

    sizes: dict[Any, tuple[float, float]] = {}
    file_names: dict[Any, str] = {}
    order: list[Any] = []
    for entry in _coco_section(instances, "images", instances_json):
        try:
            image_id, width, height = entry["id"], float(entry["width"]), float(entry["height"])
            file_name = str(entry["file_name"])
        except (KeyError, TypeError, ValueError):
            raise InputError(instances_json, f"image entry {json.dumps(entry)[:120]} lacks "
                                             f"id, file_name, width or height") from None
        if width <= 0 or height <= 0:
            raise InputError(instances_json, f"image {image_id} has size {width}x{height}")
        if image_id in sizes:
            raise InputError(instances_json, f"image id {image_id} appears twice")
        sizes[image_id], file_names[image_id] = (width, height), file_name
        order.append(image_id)

    id_to_name: dict[int, str] = {}
    sources = [(instances_json, instances)]
    if stuff is not None:
        sources.append((Path(stuff_json), stuff))  # type: ignore[arg-type]
    for path, data in sources:
        for cat in _coco_section(data, "categories", path):
            try:
                cat_id, cat_name = cat["id"], cat["name"]
            except (KeyError, TypeError):
                raise InputError(path, f"category {json.dumps(cat)[:120]} lacks id or "
                                       f"name") from None
            if not isinstance(cat_id, int) or isinstance(cat_id, bool) or cat_id < 1:
                raise InputError(path, f"category {cat_name!r} has id {cat_id!r}; COCO "
                                       f"category ids are integers from 1 (0 is __image__)")
            if id_to_name.get(cat_id, cat_name) != cat_name:
                raise InputError(path, f"category id {cat_id} is both {id_to_name[cat_id]!r} "
                                       f"and {cat_name!r}")
            if cat_name in id_to_name.values() and id_to_name.get(cat_id) != cat_name:
                raise InputError(path, f"category name {cat_name!r} has two ids")
            id_to_name[cat_id] = cat_name

    if vocab is None:
        names = [GAP_TOKEN] * (max(id_to_name, default=0) + 1)
        names[0] = IMAGE_TOKEN
        for cat_id, cat_name in id_to_name.items():
            names[cat_id] = cat_name
        try:
            vocab = Vocabulary(names)
        except ValueError as exc:
            raise InputError(instances_json, f"cannot build a vocabulary: {exc}") from None

    objects: dict[Any, list[LayoutObject]] = {image_id: [] for image_id in order}
    with_stuff: set[Any] = set()
    for path, data in sources:
        is_stuff = data is stuff
        for ann in _coco_section(data, "annotations", path):
            try:
                image_id, cat_id = ann["image_id"], ann["category_id"]
                x, y, w, h = (float(v) for v in ann["bbox"])
            except (KeyError, TypeError, ValueError):
                raise InputError(path, f"annotation {json.dumps(ann)[:120]} lacks image_id, "
                                       f"category_id or a 4-number bbox") from None
            if image_id not in sizes:
                raise InputError(path, f"annotation {ann.get('id', '?')} refers to image "
                                       f"{image_id}, which {instances_json.name} does not list")
            if cat_id not in id_to_name:
                raise InputError(path, f"annotation {ann.get('id', '?')} has unknown "
                                       f"category {cat_id}")
            if is_stuff:
                with_stuff.add(image_id)
            width, height = sizes[image_id]
            name = id_to_name[cat_id]
            if (w * h) / (width * height) <= min_object_size:
                continue
            if name == "other" and not include_other:
                continue
            if name not in vocab or not vocab.is_label(vocab.index(name)):
                raise InputError(path, f"category {name!r} (id {cat_id}) is not a class of "
                                       f"the vocabulary")
            box = (x / width, y / height, (x + w) / width, (y + h) / height)
            objects[image_id].append(LayoutObject(vocab.index(name), box))

    if stuff is not None and stuff_only:
        order = [image_id for image_id in order if image_id in with_stuff]
    out = []
    for image_id in order:
        objs = objects[image_id]
        if min_objects <= len(objs) <= max_objects:
            layout = Layout(tuple(objs), f"{instances_json.name}#{image_id}",
                            Path(file_names[image_id]).stem)
            out.append((file_names[image_id], layout))
    return vocab, out


# ---------------------------------------------------------------------------------------
# Model input
# ---------------------------------------------------------------------------------------
