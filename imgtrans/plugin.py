"""Everything a plugin may use from imgtrans, in one place.

Plugins (built-in ones included) import from this module only; every other ``imgtrans``
module is internal and may change between releases. Names are resolved on first use, so
``from imgtrans.plugin import Translator`` does not import torch; the training and image
helpers import it when they are first touched.

The parts, and where ``docs/writing-a-plugin.md`` explains them:

* the contract: :class:`Translator`, :class:`Capabilities`, :class:`Preprocessing` (and
  :class:`OutscalePreprocessing`, Real-ESRGAN's --outscale to inherit),
  :class:`TranslateContext`, :class:`WeightSpec`, :class:`NoOptions`, :class:`NetworkConfig`,
  :func:`fast_scope` (``--precision fast`` for the parts of a translator that allow it;
  imports torch when called, not when imported)
* the hook marker :data:`hookimpl` (hooks are documented in ``imgtrans.plugins.hookspecs``)
* errors: :class:`InputError` (one input is bad), :class:`WeightsError`, :class:`UsageError`,
  :class:`PluginError`, :class:`DataError` (training data unusable)
* options: :func:`build_options`, :func:`describe_options`
* weights: :class:`ResolvedWeights` (what ``Translator.load`` receives: resolved once, with
  what identification read), :func:`build_network` (config + state dict -> network, built
  on the meta device), :func:`weights_at` (a local path as resolved weights),
  :func:`load_state_dict` / :func:`save_state_dict` (never execute
  code), :func:`unwrap_state_dict`, :func:`strict_load`, :func:`describe_keys`,
  :func:`sha256_path` (the checksum a :class:`WeightSpec` gives, also ``imgtrans weights hash``)
* checkpoints: :class:`Checkpoint`, :func:`read_checkpoint`, :func:`write_checkpoint`,
  :func:`find_checkpoint`
* training: :class:`TrainingTask`, :class:`TrainSettings`, datasets, augmentation, GAN losses,
  schedules, the image pool
* input files: :func:`read_json_file` (hostile JSON: size, depth and number limits)
* images: :func:`read_image`, :data:`IMAGE_EXTENSIONS`, :func:`resize`,
  :func:`convert_channels`, :func:`pad_to_multiple`, :func:`pad_right_bottom`,
  :func:`pair_half` (one half of side-by-side A|B images), :func:`write_image`
* evaluation (``register_measures``): :class:`Measure`, :class:`MeasureContext`,
  :class:`EvalItem`, :class:`EvalSettings`, :func:`downscale` / :func:`bicubic_upscale` (the
  super-resolution protocol's degradation and baseline)

A plugin's tests use :mod:`imgtrans.testing` (section 5 of the tutorial), public and kept
stable like this module, and torch-free to import: :func:`~imgtrans.testing.plugin_host` (an
isolated host with the built-ins and the plugins under test),
:func:`~imgtrans.testing.sample_image`, :func:`~imgtrans.testing.run_translator` (through
the whole pipeline, checking that batching changes no result) and
:func:`~imgtrans.testing.measure_fast_mode` (the figures of a translator's
``fast_mode_error``). They are not exported here: a plugin does not need them at run time.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

_EXPORTS: dict[str, str] = {
    # the contract (torch-free)
    "Translator": "imgtrans.translators.base",
    "Capabilities": "imgtrans.translators.base",
    "Preprocessing": "imgtrans.translators.base",
    "OutscalePreprocessing": "imgtrans.translators.outscale",
    "TranslateContext": "imgtrans.translators.base",
    "WeightSpec": "imgtrans.translators.base",
    "NoOptions": "imgtrans.translators.base",
    "NetworkConfig": "imgtrans.translators.config",
    "hookimpl": "imgtrans.plugins.hookspecs",
    "fast_scope": "imgtrans.core.fast_scope",  # imports torch when called
    # errors
    "ImgtransError": "imgtrans.errors",
    "DataError": "imgtrans.errors",
    "InputError": "imgtrans.errors",
    "PluginError": "imgtrans.errors",
    "UsageError": "imgtrans.errors",
    "WeightsError": "imgtrans.errors",
    # options
    "build_options": "imgtrans.translators.options",
    "describe_options": "imgtrans.translators.options",
    # weights (torch imported when called)
    "load_state_dict": "imgtrans.weights.safe_load",
    "save_state_dict": "imgtrans.weights.safe_load",
    "unwrap_state_dict": "imgtrans.weights.fit",
    "strict_load": "imgtrans.weights.fit",
    "build_network": "imgtrans.weights.fit",
    "ResolvedWeights": "imgtrans.weights.resolved",
    "weights_at": "imgtrans.weights.resolved",
    "describe_keys": "imgtrans.weights.fit",
    "sha256_path": "imgtrans.weights.cache",
    # checkpoints
    "Checkpoint": "imgtrans.checkpoints",
    "find_checkpoint": "imgtrans.checkpoints",
    "read_checkpoint": "imgtrans.checkpoints",
    "write_checkpoint": "imgtrans.checkpoints",
    # training (torch-free contract; the rest imports torch)
    "TrainingTask": "imgtrans.training.task",
    "TrainSettings": "imgtrans.training.task",
    "Checks": "imgtrans.training.checks",
    "Sample": "imgtrans.training.datasets",
    "PairedDataset": "imgtrans.training.datasets",
    "UnpairedDataset": "imgtrans.training.datasets",
    "aligned_samples": "imgtrans.training.datasets",
    "unaligned_domains": "imgtrans.training.datasets",
    "check_items": "imgtrans.training.datasets",
    "checked_image_folder": "imgtrans.training.datasets",
    "list_images": "imgtrans.training.datasets",
    "load_rgb8": "imgtrans.training.datasets",
    "to_tensor": "imgtrans.training.datasets",
    "Jitter": "imgtrans.training.augment",
    "gan_loss": "imgtrans.training.losses",
    "discriminator_loss": "imgtrans.training.losses",
    "ImagePool": "imgtrans.training.pool",
    "linear_decay": "imgtrans.training.schedules",
    # images
    "read_json_file": "imgtrans.core.jsonfile",
    "IMAGE_EXTENSIONS": "imgtrans.core.readers",
    "DecodedImage": "imgtrans.core.readers",
    "read_image": "imgtrans.core.readers",
    "convert_channels": "imgtrans.core.preprocess",
    "pad_to_multiple": "imgtrans.core.preprocess",
    "pad_right_bottom": "imgtrans.core.preprocess",
    "pair_half": "imgtrans.core.preprocess",
    "resize": "imgtrans.core.preprocess",
    "write_image": "imgtrans.core.writers",
    # evaluation (torch-free contract; the helpers import torch)
    "Measure": "imgtrans.eval.types",
    "MeasureContext": "imgtrans.eval.types",
    "EvalItem": "imgtrans.eval.types",
    "EvalSettings": "imgtrans.eval.types",
    "downscale": "imgtrans.eval.generate",
    "bicubic_upscale": "imgtrans.eval.generate",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'imgtrans.plugin' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return __all__


if TYPE_CHECKING:  # for type checkers and editors; at run time names load on first use
    from imgtrans.checkpoints import Checkpoint, find_checkpoint, read_checkpoint, write_checkpoint
    from imgtrans.core.jsonfile import read_json_file
    from imgtrans.core.fast_scope import fast_scope
    from imgtrans.core.preprocess import (
        convert_channels, pad_right_bottom, pad_to_multiple, pair_half, resize)
    from imgtrans.core.readers import IMAGE_EXTENSIONS, DecodedImage, read_image
    from imgtrans.core.writers import write_image
    from imgtrans.eval.generate import bicubic_upscale, downscale
    from imgtrans.eval.types import EvalItem, EvalSettings, Measure, MeasureContext
    from imgtrans.errors import DataError, ImgtransError, InputError, PluginError, UsageError, WeightsError
    from imgtrans.plugins.hookspecs import hookimpl
    from imgtrans.training.augment import Jitter
    from imgtrans.training.checks import Checks
    from imgtrans.training.datasets import (
        PairedDataset, Sample, UnpairedDataset, aligned_samples, check_items,
        checked_image_folder, list_images, load_rgb8, to_tensor, unaligned_domains)
    from imgtrans.training.losses import discriminator_loss, gan_loss
    from imgtrans.training.pool import ImagePool
    from imgtrans.training.schedules import linear_decay
    from imgtrans.training.task import TrainingTask, TrainSettings
    from imgtrans.translators.base import (
        Capabilities, NoOptions, Preprocessing, TranslateContext, Translator, WeightSpec)
    from imgtrans.translators.config import NetworkConfig
    from imgtrans.translators.outscale import OutscalePreprocessing
    from imgtrans.translators.options import build_options, describe_options
    from imgtrans.weights.fit import build_network, describe_keys, strict_load, unwrap_state_dict
    from imgtrans.weights.resolved import ResolvedWeights, weights_at
    from imgtrans.weights.cache import sha256_path
    from imgtrans.weights.safe_load import load_state_dict, save_state_dict
