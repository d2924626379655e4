"""Weights: the registry of named checkpoints, the download cache, resolving ``--weights``
values to local files, and loading checkpoints without executing code.

Nothing here imports torch at module import; only ``load_state_dict``/``save_state_dict``
do, when called.
"""

from __future__ import annotations

import importlib
from typing import Any

# name -> submodule; loaded on first use, so importing one submodule (e.g. the cache paths,
# at CLI start) does not import the HTTP client and the rest.
_EXPORTS = {
    "cache_dir": "cache", "cache_path_for": "cache", "sha256_file": "cache",
    "download": "download",
    "load_registry": "registry", "parse_registry": "registry", "pretrained_dir": "registry",
    "default_spec": "resolve", "fetch_url": "resolve", "find_spec": "resolve", "is_cached": "resolve",
    "local_path_for_spec": "resolve", "lookup_spec": "resolve", "resolve_weights": "resolve",
    "describe_keys": "fit", "strict_load": "fit",
    "load_metadata": "safe_load", "load_state_dict": "safe_load", "save_state_dict": "safe_load",
}


def __getattr__(name: str) -> Any:
    if name not in _EXPORTS:
        raise AttributeError(f"module 'imgtrans.weights' has no attribute {name!r}")
    value = getattr(importlib.import_module(f"imgtrans.weights.{_EXPORTS[name]}"), name)
    globals()[name] = value
    return value


__all__ = [
    "cache_dir", "cache_path_for", "default_spec", "describe_keys", "download", "fetch_url", "find_spec",
    "is_cached", "load_metadata", "load_registry", "load_state_dict", "local_path_for_spec",
    "lookup_spec", "parse_registry", "pretrained_dir", "resolve_weights", "save_state_dict",
    "sha256_file", "strict_load",
]
