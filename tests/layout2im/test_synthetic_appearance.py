"""The synthetic renderer's appearance model: an object's look varies a lot within its class
(shade, pattern) while its class colour stays dominant, and patterns repeat on the 8-pixel
lattice the generator can draw."""

from __future__ import annotations

import numpy as np
from imgtrans_layout2im.layouts import Layout, LayoutObject
from imgtrans_layout2im.synthetic import COLOURS, PATTERN_PERIOD, SHADES, VOCAB, render, shade

BIG_BOX = (0.125, 0.125, 0.875, 0.875)  # pixels 8..56


def _square(colour: str) -> Layout:
    return Layout((LayoutObject(VOCAB.index(f"{colour} square"), BIG_BOX),), "test")


def test_every_shade_keeps_its_class_channel_dominant():
    for colour in SHADES:
        channel = list(COLOURS).index(colour)
        for s in np.linspace(0, 1, 11):
            rgb = shade(colour, float(s))
            others = np.delete(rgb, channel)
            assert rgb[channel] >= others.max() + 80, (colour, s, rgb)
    dark, light = shade("red", 0.0), shade("red", 1.0)
    assert light.sum() - dark.sum() > 250  # a wide range, dark to light


def test_one_class_renders_in_many_looks():
    rng = np.random.default_rng(0)
    inside = np.s_[10:54, 10:54]
    objects = [render(_square(colour), rng)[inside].astype(int)
               for colour in ("red", "blue") for _ in range(12)]
    for pixels, colour in zip(objects, ["red"] * 12 + ["blue"] * 12):
        channel = list(COLOURS).index(colour)
        others = np.delete(pixels, channel, axis=-1).max(-1)
        assert (pixels[..., channel] > others + 60).all()  # still unmistakably its colour
    reds = objects[:12]
    means = [p.mean() for p in reds]
    assert max(means) - min(means) > 40  # dark and light shades
    spread = [p.std(axis=(0, 1)).max() for p in reds]
    assert min(spread) < 10 and max(spread) > 25  # solid ones and patterned ones


def test_patterns_repeat_every_8_pixels():
    rng = np.random.default_rng(4)
    for _ in range(10):
        image = render(_square("green"), rng).astype(int)
        core = image[9:55 - PATTERN_PERIOD, 9:55 - PATTERN_PERIOD]
        assert np.array_equal(core, image[9 + PATTERN_PERIOD:55, 9:55 - PATTERN_PERIOD])
        assert np.array_equal(core, image[9:55 - PATTERN_PERIOD, 9 + PATTERN_PERIOD:55])
