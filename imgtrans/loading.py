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


class LoadedTranslator:
    """A translator with its weights on a device, callable on images.

    Call it on a numpy image (H, W) or (H, W, C) uint8/uint16 in RGB(A) order, on a list of
    them, or on a float tensor (B, C, H, W) or (C, H, W) in [0, 1]; you get the same kind back.
    A translator that gives several samples per input returns, for one numpy image, the list
    of its samples, and for lists and tensors all samples of input 0 first, then of input 1...
    Translators of layouts take layout files or parsed layouts (one or a list) and return a
    list of uint8 images.
    """

    def __init__(self, runner: Any, weights: Path | None, spec: WeightSpec | None) -> None:
        self.runner = runner
        self.translator = runner.translator
        self.weights = weights
        self.weight_spec = spec

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
        cfg["weights"] = str(self.weights) if self.weights else None
        cfg["weight_name"] = self.weight_spec.name if self.weight_spec else None
        cfg["device"] = str(self.runner.device)
        cfg["precision"] = self.runner.precision.description
        return cfg


@dataclass(frozen=True)
class TranslatorRecipe:
    """A translator resolved here (its class, weights file and checked options) but not yet
    loaded. It pickles, so an engine can load it where it runs, e.g. once per Ray actor, with
    the same code and error messages as :func:`load`; plugin modules and weights files must
    then exist there too."""

    cls: type
    weights: Path | None
    spec: WeightSpec | None
    options: Any
    device: Any = "auto"
    tile: int = 0
    tile_pad: int = 10
    seed: int = 0
    precision: str = "exact"
    compile: bool = False

    def describe(self, device: str) -> dict[str, Any]:
        """What the loaded translator's ``config()`` reports, without loading it."""
        return {"translator": self.cls.name, "options": dataclasses.asdict(self.options),
                "weights": str(self.weights) if self.weights else None,
                "weight_name": self.spec.name if self.spec else None, "device": device,
                "precision": self.precision}

    def load(self, device: Any = None) -> LoadedTranslator:
        """Load on ``device`` (default: the recipe's); errors are imgtrans errors."""
        from imgtrans.core.device import resolve_device
        from imgtrans.core.runner import TranslatorRunner

        name = self.cls.name
        torch_device = resolve_device(self.device if device is None else device)
        if self.weights is not None and not self.weights.exists():
            raise WeightsError(f"{self.weights}: weights not found on this machine; fetch them "
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
        runner = TranslatorRunner(translator, torch_device, tile=self.tile, tile_pad=self.tile_pad,
                                  seed=self.seed, precision=self.precision, compile=self.compile)
        return LoadedTranslator(runner, self.weights, self.spec)


def translator_recipe(name: str | None = None, weights: str | Path | None = None, *,
                      device: Any = "auto", options: dict[str, Any] | None = None,
                      tile: int = 0, tile_pad: int = 10, seed: int = 0, precision: str = "exact",
                      compile: bool = False, progress: Callable[[int, int | None], None] | None = None,
                      should_stop: Callable[[], bool] | None = None) -> TranslatorRecipe:
    """Everything :func:`load` decides before loading (same arguments): the translator,
    its weights (downloaded if need be) and its options."""
    from imgtrans.weights.resolve import resolve_weights

    if precision not in ("exact", "fast"):
        raise UsageError(f"--precision {precision!r}: choose exact or fast")
    host = manager.get_host()
    if weights is None and name is not None and name not in host.translators and _names_weights(name):
        name, weights = None, name
    name = name or translator_for_weights(weights, progress=progress, should_stop=should_stop)
    cls = host.get_translator(name)
    path, spec = resolve_weights(None if weights is None else str(weights), name,
                                 host.known_weight_specs(), progress=progress,
                                 should_stop=should_stop)
    if path is None and cls.requires_weights:
        raise WeightsError(f"translator {name!r} needs weights: pass --weights "
                           f"(see `imgtrans info {name}` for known ones)")
    if path is not None:
        _check_checkpoint_owner(path, name)
    opts = build_options(cls.Options, {**(spec.options if spec else {}), **(options or {})},
                         translator=name)
    return TranslatorRecipe(cls, path, spec, opts, device, tile, tile_pad, seed, precision, compile)


def translator_for_weights(weights: str | Path | None,
                           progress: Callable[[int, int | None], None] | None = None,
                           should_stop: Callable[[], bool] | None = None) -> str:
    """The translator ``weights`` belong to (``--weights`` without ``--plugin``)."""
    from imgtrans.weights.identify import identify_translator

    if weights is None:
        raise UsageError("name a translator (--plugin) or weights (--weights) that identify one")
    host = manager.get_host()
    return identify_translator(str(weights), host.translators, host.known_weight_specs(),
                               progress=progress, should_stop=should_stop)


def _names_weights(value: str) -> bool:
    """True when ``value`` (given where a translator name was expected) names weights."""
    from imgtrans.weights.resolve import is_url, find_spec

    if is_url(value) or Path(value).expanduser().exists():
        return True
    try:
        return find_spec(value, manager.get_host().known_weight_specs()) is not None
    except UsageError:
        return True  # an ambiguous weights name: identification explains it


def _check_checkpoint_owner(path: Path, name: str) -> None:
    """imgtrans checkpoints say whose they are: refuse another translator's before loading."""
    from imgtrans.checkpoints import find_checkpoint, read_checkpoint

    checkpoint = find_checkpoint(path)
    if checkpoint is not None:
        read_checkpoint(checkpoint, name)


def _explain_weights_error(exc: WeightsError, path: Path | None, name: str,
                           translators: dict[str, Any]) -> WeightsError:
    """Name the weights in the message, and say which translator they fit if not this one."""
    from imgtrans.weights.identify import recognisers

    message = str(exc)
    if path is not None and str(path) not in message:
        message = f"{path}: {message}"
    try:
        others = [t for t in recognisers(path, translators) if t != name] if path is not None else []
    except ImgtransError:
        others = []
    if others:
        message += (f"; these look like {' or '.join(others)} weights: use --plugin {others[0]}"
                    if len(others) == 1 else
                    f"; these look like weights for {', '.join(others)}: choose one with --plugin")
    return WeightsError(message)
