"""The bundled SDEdit demo model turns stroke paintings into images that look more like its
training renderings (texture, edges) while staying close to the strokes."""

from __future__ import annotations

import sys

import numpy as np

import imgtrans
from imgtrans_testenv import ROOT

sys.path.insert(0, str(ROOT / "samples"))
import make_gan_datasets as scenes  # noqa: E402
from make_sdedit_dataset import stroke_painting  # noqa: E402


def _gradient_energy(image: np.ndarray) -> float:
    gray = image.astype(np.float64).mean(-1)
    return float(np.abs(np.diff(gray, axis=0)).mean() + np.abs(np.diff(gray, axis=1)).mean())


def test_bundled_model_adds_realistic_detail_and_stays_faithful(host):
    import torch

    torch.set_num_threads(1)
    rng = np.random.default_rng(77)
    strokes = [stroke_painting(scenes.random_scene(rng, 64)) for _ in range(4)]
    renders = [scenes.render(scenes.random_scene(rng, 64), rng) for _ in range(8)]
    model = imgtrans.load("sdedit", options={"strength": 0.5, "steps": 20}, seed=0)  # default weights
    assert model.weight_spec.name == "sdedit.facades_synth"
    out = model(strokes, names=[str(i) for i in range(4)])
    flat, real, ours = (np.mean([_gradient_energy(i) for i in group]) for group in (strokes, renders, out))
    assert abs(ours - real) < abs(flat - real)  # detail level moves from the strokes' towards the renderings'
    rms = np.mean([np.sqrt(((o.astype(float) - s.astype(float)) ** 2).mean()) for o, s in zip(out, strokes)])
    assert rms < 0.3 * 255  # still the painted scene
