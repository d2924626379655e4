"""layout2im's evaluation measures, for models of the synthetic family (``synthetic.VOCAB``):
object accuracy and diversity (see :mod:`imgtrans_layout2im.quality`), on files.

    imgtrans convert layouts/ out/ --plugin layout2im --weights W --opt samples=2
    imgtrans eval out/ --inputs layouts/ --metrics object_accuracy,diversity

Each output is matched with its layout file by name (``<name>_s<k>`` is sample ``k`` of
``<name>.json``). Diversity compares samples 0 and 1 of each layout, so it needs at least two
samples per layout. The figures are those of ``python -m imgtrans_layout2im.quality`` except
that outputs here went through 8-bit files.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from imgtrans.plugin import Measure, UsageError, hookimpl

CLASSIFIER_SEED = 0
CLASSIFIER_STEPS = 300


def _layout(path: Path | None, name: str) -> Any:
    from imgtrans.plugin import InputError
    from imgtrans_layout2im.layouts import parse_layouts
    from imgtrans_layout2im.synthetic import VOCAB

    if path is None:
        raise UsageError(f"{name}: no layout file in --inputs has this name")
    try:
        layouts = parse_layouts(path, VOCAB)
    except InputError as exc:
        raise UsageError(f"{exc} (these measures are for models of the synthetic shapes: "
                         f"labels {', '.join(VOCAB.labels)})") from None
    if len(layouts) != 1:
        raise UsageError(f"{path}: holds {len(layouts)} layouts; one layout per file")
    return layouts[0]


def object_accuracy_measure(context: Any) -> dict[str, float]:
    """Fraction of objects whose crop in their output the synthetic crop classifier labels
    as the layout says (classifier trained as ``quality.evaluate`` trains it)."""
    import torch

    from imgtrans_layout2im import quality

    classifier, _ = quality.train_object_classifier(CLASSIFIER_SEED, CLASSIFIER_STEPS)
    right = total = 0
    for item in context.items:
        layout = _layout(item.input, item.name)
        image = context.read_output(item).float()
        crops, labels = quality.object_crops(image, [layout])
        with torch.no_grad():
            hits = int((classifier.eval()(crops).argmax(1) == labels).sum())
        context.add_file_value(item, "object_accuracy", hits / len(labels))
        right, total = right + hits, total + len(labels)
    if not total:
        raise UsageError("object_accuracy: no output has a layout")
    return {"object_accuracy": right / total}


def diversity_measure(context: Any) -> dict[str, float]:
    """Mean pixel L1 between samples 0 and 1 of each layout, over whole images
    (``diversity``) and over the 32x32 crops of the boxes (``object_diversity``)."""
    import torch

    from imgtrans_layout2im import quality

    samples: dict[Path, dict[int, Any]] = {}
    for item in context.items:
        if item.input is not None:
            samples.setdefault(item.input, {})[item.sample] = item
    pairs = [(s[0], s[1]) for s in samples.values() if 0 in s and 1 in s]
    if not pairs:
        raise UsageError("diversity needs two samples per layout (<name>_s0, <name>_s1: "
                         "convert with --opt samples=2)")
    image_diffs, crops_a, crops_b = [], [], []
    for first, second in pairs:
        layout = _layout(first.input, first.name)
        a, b = context.read_output(first).float(), context.read_output(second).float()
        image_diffs.append(quality.diversity(a, b))
        crops_a.append(quality.object_crops(a, [layout])[0])
        crops_b.append(quality.object_crops(b, [layout])[0])
    return {"diversity": sum(image_diffs) / len(image_diffs),
            "object_diversity": quality.diversity(torch.cat(crops_a), torch.cat(crops_b))}


@hookimpl
def register_measures(register: Any) -> None:
    register(Measure(name="object_accuracy", compute=object_accuracy_measure,
                     needs_targets=False, needs_inputs=True,
                     summary="layout2im (synthetic shapes): fraction of objects a crop "
                             "classifier recognises in the outputs (needs --inputs layouts)"))
    register(Measure(name="diversity", compute=diversity_measure,
                     needs_targets=False, needs_inputs=True,
                     summary="layout2im: pixel L1 between two samples of each layout, whole "
                             "images and object crops (needs --inputs and 2 samples)"))
