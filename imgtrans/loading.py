"""A translator resolved (translator class, weights, checked options) and loaded: what
:func:`imgtrans.load` returns, and the picklable recipe the engines load where they run."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

from imgtrans.errors import ImgtransError, PluginError, UsageError, WeightsError
from imgtrans.plugins import manager
from imgtrans.translators.base import WeightSpec
from imgtrans.translators.options import build_options
from imgtrans.weights.resolved import ResolvedWeights


class LoadedTranslator:
    """A translator with its weights on a device, callable on images.

    Call it on a numpy image (H, W) or (H, W, C) uint8/uint16 in RGB(A) order, on a list of
    them, or on a float tensor (B, C, H, W) or (C, H, W) in [0, 1]; you get the same kind back.
    A translator that gives several samples per input returns, for one numpy image, the list
    of its samples, and for lists and tensors all samples of input 0 first, then of input 1...
    Translators of layouts take layout files or parsed layouts (one or a list) and return a
    list of uint8 images.
    """

    def __init__(self, runner: Any, weights: ResolvedWeights | None) -> None:
        self.runner = runner
        self.translator = runner.translator
        self.weights = weights
        self.weight_spec = weights.spec if weights is not None else None

    def __call__(self, images: Any, names: list[str] | None = None) -> Any:
        import numpy as np
        import torch

        if not self.runner.takes_images:  # layouts: parsed objects or files, a list of images back
            inputs = [self.translator.read_input(Path(i)) if isinstance(i, (str, Path)) else i
                      for i in (images if isinstance(images, (list, tuple)) else [images])]
            return self._run_inputs(inputs, names or [f"input{i}" for i in range(len(inputs))])
        if isinstance(images, torch.Tensor):
            batch = images[None] if images.ndim == 3 else images
            names = names or [f"tensor{i}" for i in range(batch.shape[0])]
            out = self.runner.run_float(batch.float(), names)
            return out[0] if images.ndim == 3 and out.shape[0] == 1 else out
        single = isinstance(images, np.ndarray)
        arrays = [images] if single else list(images)
        names = names or [f"image{i}" for i in range(len(arrays))]
        results = []
        for array, name in zip(arrays, names):  # sizes may differ: one at a time
            if array.dtype not in (np.uint8, np.uint16):
                raise TypeError(f"expected uint8 or uint16 images, got {array.dtype}")
            depth = 16 if array.dtype == np.uint16 else 8
            results.extend(self.runner.run_arrays([array], depth, [name]))
        return results[0] if single and len(results) == 1 else results

    def _run_inputs(self, inputs: list[Any], names: list[str]) -> list[Any]:
        """Parsed inputs in groups of equal ``batch_key`` (as the engines batch them), results
        in input order (all samples of an input together)."""
        groups: dict[Any, list[int]] = {}
        for i, item in enumerate(inputs):
            groups.setdefault(getattr(item, "batch_key", None), []).append(i)
        per_input: dict[int, list[Any]] = {}
        for members in groups.values():
            images = self.runner.run_inputs([inputs[i] for i in members], [names[i] for i in members])
            samples = len(images) // len(members)
            for k, i in enumerate(members):
                per_input[i] = images[k * samples:(k + 1) * samples]
        return [image for i in range(len(inputs)) for image in per_input[i]]

    def config(self) -> dict[str, Any]:
        cfg = self.translator.config()
        cfg.update(_weights_facts(self.weights))
        cfg["device"] = str(self.runner.device)
        cfg["precision"] = self.runner.precision.description
        return cfg


@dataclass(frozen=True)
class TranslatorRecipe:
    """A translator resolved here (its class, resolved weights and checked options) but not
    yet loaded. It pickles (without any state dict read while resolving), so an engine can
    load it where it runs, e.g. once per Ray actor, with the same code and error messages as
    :func:`load`; plugin modules and weights files must then exist there too."""

    cls: type
    weights: ResolvedWeights | None
    options: Any
    device: Any = "auto"
    tile: int = 0
    tile_pad: int = 10
    seed: int = 0
    precision: str = "exact"
    compile: bool = False

    @property
    def spec(self) -> WeightSpec | None:
        return self.weights.spec if self.weights is not None else None

    def describe(self, device: str) -> dict[str, Any]:
        """What the loaded translator's ``config()`` reports, without loading it."""
        return {"translator": self.cls.name, "options": dataclasses.asdict(self.options),
                **_weights_facts(self.weights), "device": device, "precision": self.precision}

    def load(self, device: Any = None) -> LoadedTranslator:
        """Load on ``device`` (default: the recipe's); errors are imgtrans errors."""
        from imgtrans.core.device import resolve_device
        from imgtrans.core.runner import TranslatorRunner

        name = self.cls.name
        torch_device = resolve_device(self.device if device is None else device)
        if self.weights is not None and not self.weights.path.exists():
            raise WeightsError(f"{self.weights.path}: weights not found on this machine; fetch them "
                               f"here (imgtrans weights fetch) or share IMGTRANS_CACHE_DIR")
        try:
            translator = self.cls.load(self.weights, self.options, torch_device)
        except WeightsError as exc:
            raise _explain_weights_error(exc, self.weights, name,
                                         manager.get_host().translators) from None
        except ImgtransError:
            raise
        except Exception as exc:
            where = f" with weights {self.weights}" if self.weights else ""
            raise PluginError(f"translator {name!r} failed to load{where}: "
                              f"{type(exc).__name__}: {exc}") from exc
        finally:
            if self.weights is not None:
                self.weights.release()  # the network holds what it needs
        runner = TranslatorRunner(translator, torch_device, tile=self.tile, tile_pad=self.tile_pad,
                                  seed=self.seed, precision=self.precision, compile=self.compile)
        return LoadedTranslator(runner, self.weights)


def translator_recipe(name: str | None = None, weights: str | Path | ResolvedWeights | None = None, *,
                      device: Any = "auto", options: dict[str, Any] | None = None,
                      tile: int = 0, tile_pad: int = 10, seed: int = 0, precision: str = "exact",
                      compile: bool = False, progress: Callable[[int, int | None], None] | None = None,
                      should_stop: Callable[[], bool] | None = None) -> TranslatorRecipe:
    """Everything :func:`load` decides before loading (same arguments): the translator,
    its weights (resolved once, downloaded if need be) and its options. ``weights`` may
    already be resolved (:func:`resolve_weights_for`)."""
    if precision not in ("exact", "fast"):
        raise UsageError(f"--precision {precision!r}: choose exact or fast")
    host = manager.get_host()
    if weights is None and name is not None and name not in host.translators and _names_weights(name):
        name, weights = None, name
    if not isinstance(weights, ResolvedWeights):
        weights = resolve_weights_for(weights, name, progress=progress, should_stop=should_stop)
    if name is None:
        name = weights.owner if weights is not None else None
    if name is None:
        raise UsageError("name a translator (--plugin) or weights (--weights) that identify one")
    cls = host.get_translator(name)
    if weights is not None and weights.checkpoint is not None:
        weights.checkpoint.expect(name)
    if weights is None and cls.requires_weights:
        raise WeightsError(f"translator {name!r} needs weights: pass --weights "
                           f"(see `imgtrans info {name}` for known ones)")
    spec = weights.spec if weights is not None else None
    opts = build_options(cls.Options, {**(spec.options if spec else {}), **(options or {})},
                         translator=name)
    return TranslatorRecipe(cls, weights, opts, device, tile, tile_pad, seed, precision, compile)


def resolve_weights_for(weights: str | Path | None, name: str | None = None, *,
                        progress: Callable[[int, int | None], None] | None = None,
                        should_stop: Callable[[], bool] | None = None) -> ResolvedWeights | None:
    """``weights`` resolved once for translator ``name`` (or, without one, identified: the
    result's ``owner`` says whose they are); None for a translator without default weights."""
    from imgtrans.weights.identify import resolve_for

    host = manager.get_host()
    if name is not None:
        host.get_translator(name)  # an unknown translator is named before weights are looked at
    return resolve_for(None if weights is None else str(weights), name, host.translators,
                       host.known_weight_specs(), progress=progress, should_stop=should_stop)


def translator_for_weights(weights: str | Path | None,
                           progress: Callable[[int, int | None], None] | None = None,
                           should_stop: Callable[[], bool] | None = None) -> str:
    """The translator ``weights`` belong to (``--weights`` without ``--plugin``)."""
    resolved = resolve_weights_for(weights, None, progress=progress, should_stop=should_stop)
    assert resolved is not None and resolved.owner is not None
    return resolved.owner


def _weights_facts(weights: ResolvedWeights | None) -> dict[str, Any]:
    """What run reports and ``config()`` say about the weights."""
    spec = weights.spec if weights is not None else None
    return {"weights": str(weights.path) if weights is not None else None,
            "weight_name": spec.name if spec else None,
            "trained_on": spec.trained_on if spec and spec.trained_on else None}


def _names_weights(value: str) -> bool:
    """True when ``value`` (given where a translator name was expected) names weights."""
    from imgtrans.weights.resolve import is_url, find_spec

    if is_url(value) or Path(value).expanduser().exists():
        return True
    try:
        return find_spec(value, manager.get_host().known_weight_specs()) is not None
    except UsageError:
        return True  # an ambiguous weights name: identification explains it


def _explain_weights_error(exc: WeightsError, weights: ResolvedWeights | None, name: str,
                           translators: dict[str, Any]) -> WeightsError:
    """Name the weights in the message, and say which translator they fit if not this one."""
    from imgtrans.weights.identify import recognisers

    message = str(exc)
    if weights is not None and str(weights.path) not in message:
        message = f"{weights.path}: {message}"
    try:
        others = [t for t in recognisers(weights, translators) if t != name] if weights is not None else []
    except ImgtransError:
        others = []
    if others:
        message += (f"; these look like {' or '.join(others)} weights: use --plugin {others[0]}"
                    if len(others) == 1 else
                    f"; these look like weights for {', '.join(others)}: choose one with --plugin")
    return WeightsError(message)
