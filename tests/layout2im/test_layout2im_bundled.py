"""The bundled layout2im demo model loads by name and puts recognisable objects in their
boxes far more often than a trivial baseline (pretrained/RESULTS.md has the full figures)."""

from __future__ import annotations

import numpy as np
import torch
from imgtrans_layout2im import quality
from imgtrans_layout2im.synthetic import VOCAB, random_layout

import imgtrans


def test_bundled_model_beats_the_baseline(host):
    torch.set_num_threads(1)
    model = imgtrans.load("layout2im", seed=0)  # default weights
    assert model.weight_spec.name == "layout2im.shapes_synth"
    classifier, real_accuracy = quality.train_object_classifier(0, 100)
    assert real_accuracy > 0.9
    rng = np.random.default_rng(99)
    layouts = [random_layout(rng, VOCAB, 1, 4) for _ in range(24)]
    ours = quality.object_accuracy(classifier, model.translator, layouts, seed=1)
    gray = torch.full((len(layouts), 3, 64, 64), 0.5)
    assert ours > 0.35 and ours > 2 * quality.object_accuracy(classifier, gray, layouts)
    a = quality.generate_images(model.translator, layouts, seed=1)
    b = quality.generate_images(model.translator, layouts, seed=2)
    assert quality.diversity(a, b) > 0.005  # different codes, different images
