"""Translators used only by the tests; registered with IMGTRANS_PLUGINS=imgtrans_testplugins
(subprocesses) or the ``register_plugin`` fixture. Each has a property the tests check."""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, field
from typing import Any

from imgtrans.plugins import hookimpl
from imgtrans.translators.base import Capabilities, Preprocessing, Translator


class NoiseTranslator(Translator):
    """Adds per-image noise drawn from the context's generators: stochastic but batch-invariant."""

    name = "noise"
    summary = "adds seeded noise"
    capabilities = Capabilities(stochastic=True)

    def translate(self, images, context):
        import torch

        noise = torch.stack([torch.rand(images.shape[1:], generator=g, device=images.device)
                             for g in context.generators])
        return (images + 0.2 * (noise - 0.5)).clamp(0, 1)


@dataclass(frozen=True)
class SlowOptions:
    seconds: float = field(default=0.5, metadata={"help": "sleep per batch"})


class SlowTranslator(Translator):
    """Identity that sleeps per batch, so tests can interrupt or kill a run mid-way."""

    name = "slow"
    summary = "identity, slowly"
    Options = SlowOptions

    def translate(self, images, context):
        time.sleep(self.options.seconds)
        marker = os.environ.get("IMGTRANS_TEST_MARKER")
        if marker:
            open(marker, "a").close()
        return images


class Pad16Translator(Translator):
    """Inverts in [-1, 1]; insists on sizes that are multiples of 16."""

    name = "pad16"
    summary = "invert, needs multiples of 16"

    def preprocessing(self):
        return Preprocessing(value_range=(-1.0, 1.0), size_multiple=16)

    def translate(self, images, context):
        assert images.shape[-2] % 16 == 0 and images.shape[-1] % 16 == 0, images.shape
        assert images.min() >= -1.0 and images.max() <= 1.0
        return -images


class GainTranslator(Translator):
    """Multiplies by the ``gain`` tensor of its weights file: checks weights reach the model."""

    name = "gain"
    summary = "multiply by a learned gain"
    requires_weights = True

    @classmethod
    def load(cls, weights, options, device):
        from imgtrans.weights import load_state_dict

        self = cls(options, device)
        self.gain = load_state_dict(weights)["gain"].to(device)
        return self

    def translate(self, images, context):
        return (images * self.gain).clamp(0, 1)


@dataclass(frozen=True)
class SamplesOptions:
    samples: int = field(default=3, metadata={"help": "outputs per input"})


class SamplesTranslator(Translator):
    """Several seeded noisy versions per input, image-major."""

    name = "samples"
    summary = "several noisy samples per input"
    capabilities = Capabilities(stochastic=True)
    Options = SamplesOptions

    @classmethod
    def outputs_per_input(cls, options):
        return options.samples

    def translate(self, images, context):
        import torch

        out = []
        for image, generator in zip(images, context.generators):
            for _ in range(self.options.samples):
                out.append((image + 0.3 * (torch.rand(image.shape, generator=generator) - 0.5)).clamp(0, 1))
        return torch.stack(out)


class FlatTranslator(Translator):
    """Non-image input kind: a JSON file {"color": [r, g, b], "size": [h, w]} -> a flat image."""

    name = "flat"
    summary = "flat colour images from JSON descriptions"
    capabilities = Capabilities(input_kind="layout")
    input_extensions = frozenset({"json"})

    def read_input(self, path):
        import json

        from imgtrans.errors import InputError

        try:
            data = json.loads(path.read_text())
            return tuple(data["color"]), tuple(data["size"])
        except (ValueError, KeyError, TypeError) as exc:
            raise InputError(path, f"not a flat-colour description: {exc}") from None

    def generate(self, inputs, context):
        import torch

        return torch.stack([torch.tensor(color, dtype=torch.float32).view(3, 1, 1).expand(3, *size) / 255
                            for color, size in inputs])


@hookimpl
def register_translators(register: Any) -> None:
    for cls in (NoiseTranslator, SlowTranslator, Pad16Translator, GainTranslator, SamplesTranslator,
                FlatTranslator):
        register(cls)
