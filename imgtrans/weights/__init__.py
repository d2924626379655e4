"""Weights: the registry of named checkpoints, the download cache, resolving ``--weights``
values to local files, and loading checkpoints without executing code.

Nothing here imports torch at module import; only ``load_state_dict``/``save_state_dict``
do, when called.
"""

from imgtrans.weights.cache import cache_dir, cache_path_for, sha256_file
from imgtrans.weights.download import download
from imgtrans.weights.registry import load_registry, parse_registry, pretrained_dir
from imgtrans.weights.resolve import (
    default_spec,
    fetch_url,
    find_spec,
    is_cached,
    local_path_for_spec,
    lookup_spec,
    resolve_weights,
)
from imgtrans.weights.fit import describe_keys, strict_load
from imgtrans.weights.safe_load import load_metadata, load_state_dict, save_state_dict

__all__ = [
    "cache_dir", "cache_path_for", "default_spec", "describe_keys", "download", "fetch_url", "find_spec",
    "is_cached", "load_metadata", "load_registry", "load_state_dict", "local_path_for_spec",
    "lookup_spec", "parse_registry", "pretrained_dir", "resolve_weights", "save_state_dict",
    "sha256_file", "strict_load",
]
