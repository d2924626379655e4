"""``tone``: a learned colour look (a grade), applied to each pixel.

It learns from before/after pairs (``imgtrans train tone``) and ships its own default
weights, ``tone.warm``, inside the package. Nothing here imports torch at module level:
``load`` imports the network module, ``training_task`` the training module.
"""

from __future__ import annotations

from typing import Any, Mapping

from imgtrans.plugin import (
    Capabilities,
    Preprocessing,
    ResolvedWeights,
    TranslateContext,
    Translator,
    WeightSpec,
    WeightsError,
    build_network,
    describe_keys,
    unwrap_state_dict,
)
from imgtrans_sketch.options import TONE, ToneOptions, ToneTrainOptions

# ToneNet's tensors and their number of dimensions: what ``recognises`` checks.
_KEYS = {"tone_hidden.weight": 4, "tone_hidden.bias": 1, "tone_out.weight": 4, "tone_out.bias": 1}


class ToneTranslator(Translator):
    name = TONE
    summary = "Learned colour look from before/after pairs (tiny per-pixel network)"
    capabilities = Capabilities(training=True, paired=True, fully_convolutional=True)
    Options = ToneOptions
    TrainOptions = ToneTrainOptions
    requires_weights = True
    fast_mode_error = ("bf16 (emulated on CPU), 8-bit levels vs exact: mean 0.067, 99.9th pct 1, "
                       "max 1 (tone.warm, strength 1, four 64x64 images; tests/test_tone.py)")
    known_weights = (
        WeightSpec(
            name="tone.warm",
            file="weights/tone_warm",
            sha256="fbe1b3e88d321ee297f78916bba9231f9bcb79e144d399ce0df373fe86f55ddd",
            license="MIT",
            default=True,
            description="warm look (more red, less blue), trained by recipes/train_tone_warm.py",
        ),
    )

    def __init__(self, options: ToneOptions, device: Any, net: Any) -> None:
        super().__init__(options, device)
        self.net = net

    @classmethod
    def load(cls, weights: ResolvedWeights, options: ToneOptions, device: Any) -> "ToneTranslator":
        """``weights`` arrive resolved: an imgtrans checkpoint (already parsed) or a bare
        state dict file (already read, if identifying it needed that)."""
        from imgtrans_sketch.tone_network import ToneConfig

        if weights.checkpoint is not None:  # weights is never None: requires_weights
            weights.checkpoint.expect(cls.name)  # refuses another translator's checkpoint
            saved, state = weights.network("net")
            config = ToneConfig.from_dict(saved)
        else:  # a bare state dict file, e.g. net.safetensors
            state = unwrap_state_dict(weights.state_dict())
            if not cls.recognises(state):
                found = describe_keys(sorted(state), state)
                raise WeightsError(f"{weights.path}: not tone weights (it holds {found})")
            config = ToneConfig.from_state_dict(state)
        return cls(options, device, build_network(config, state).to(device))

    @classmethod
    def recognises(cls, state_dict: Mapping[str, Any]) -> bool:
        """Exactly ToneNet's four tensors, RGB in and out: lets ``--weights FILE`` work
        without ``--plugin``."""
        try:
            state = unwrap_state_dict(state_dict)
        except WeightsError:
            return False
        if set(state) != set(_KEYS) or any(len(state[k].shape) != n for k, n in _KEYS.items()):
            return False
        return (tuple(state["tone_hidden.weight"].shape[1:]) == (3, 1, 1)
                and state["tone_out.weight"].shape[0] == 3)

    @classmethod
    def training_task(cls, options: ToneTrainOptions, settings: Any, device: Any) -> Any:
        from imgtrans_sketch.tone_training import ToneTask

        return ToneTask(options, settings, device)

    def preprocessing(self) -> Preprocessing:
        return Preprocessing(channels=3, value_range=(0.0, 1.0), alpha="preserve")

    def translate(self, images: Any, context: TranslateContext) -> Any:
        """(B, 3, H, W) RGB in [0, 1] -> the same, graded; ``strength`` blends with the input."""
        import torch

        with torch.no_grad():
            graded = self.net(images)
        return (images + self.options.strength * (graded - images)).clamp(0.0, 1.0)
