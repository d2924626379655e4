"""The bundled demo weights load by name (no --weights) and beat trivial baselines on fresh
held-out data generated here (pretrained/RESULTS.md has the full figures)."""

from __future__ import annotations

import sys

import numpy as np
import torch

import imgtrans
from imgtrans.eval.metrics import l1
from imgtrans_testenv import ROOT

sys.path.insert(0, str(ROOT / "samples"))
import make_gan_datasets as synth  # noqa: E402


def _t(images):
    return torch.stack([torch.from_numpy(i.astype(np.float32) / 255).permute(2, 0, 1) for i in images])


def test_bundled_pix2pix_beats_baselines(host):
    rng = np.random.default_rng(987)
    scenes = [synth.random_scene(rng, 64) for _ in range(8)]
    labels = [synth.label_map(s) for s in scenes]
    photos = [synth.render(s, rng) for s in scenes]
    model = imgtrans.load("pix2pix", "pix2pix.facades_synth", seed=0)  # not the default since photos_stylize
    fake = model(labels)
    mean_photo = np.mean(photos, axis=0)
    ours = l1(_t(fake), _t(photos)).mean().item()
    assert ours < 0.6 * l1(_t([mean_photo] * 8), _t(photos)).mean().item()
    assert ours < 0.3 * l1(_t(labels), _t(photos)).mean().item()


def test_bundled_cyclegan_beats_baselines(host):
    rng = np.random.default_rng(654)
    days, nights = [], []
    for _ in range(8):
        scene = synth.random_scene(rng, 64)
        state = rng.bit_generator.state
        days.append(synth.render(scene, rng))
        rng.bit_generator.state = state
        nights.append(synth.render(scene, rng, night=True))
    fake = imgtrans.load("cyclegan", options={"direction": "AtoB"}, seed=0)(days)
    ours = l1(_t(fake), _t(nights)).mean().item()
    assert ours < 0.5 * l1(_t(days), _t(nights)).mean().item()
    assert ours < 0.8 * l1(_t([np.mean(nights, axis=0)] * 8), _t(nights)).mean().item()
