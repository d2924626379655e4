"""The Python API for known weights: list them, find where they are, fetch and check them.

Re-exported by :mod:`imgtrans.api`; ``imgtrans weights`` is built on these functions only.
The weights modules (http, hashing, the Hub client) load when a function runs, not on import.

>>> from imgtrans.api import known_weights, weights_path
>>> [s.name for s in known_weights() if s.plugin == "srgan"]    # doctest: +SKIP
>>> weights_path(find_weights("srgan"), download_ok=False)      # doctest: +SKIP
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Callable, Optional

from imgtrans.translators.base import WeightSpec

if TYPE_CHECKING:
    import numpy as np

DownloadProgress = Callable[[int, Optional[int]], None]
"""``progress(bytes done, bytes in total or None)``, called as a download goes."""

__all__ = ["WeightSpec", "DownloadProgress", "known_weights", "find_weights", "is_weights_url",
           "weights_on_disk", "weights_location", "weights_checksum", "weights_path",
           "fetch_weights_url", "forget_verified_weights", "weights_sha256", "weights_examples",
           "weights_example", "MAX_EXAMPLES"]

MAX_EXAMPLES = 4
"""Example images of a weights' domain that :func:`weights_examples` lists at most."""


def known_weights() -> list[WeightSpec]:
    """Every registry entry: ``pretrained/`` and what the loaded plugins declare."""
    from imgtrans.plugins import manager

    return list(manager.known_weight_specs())


def find_weights(name: str, known: list[WeightSpec] | None = None) -> WeightSpec:
    """The entry ``name`` (``plugin.tag``, an alias, or a translator for its default) names
    among ``known`` (default: :func:`known_weights`); ``WeightsError`` with the close names
    when none does."""
    from imgtrans.weights.resolve import lookup_spec

    return lookup_spec(name, known_weights() if known is None else known)


def is_weights_url(value: str) -> bool:
    """Whether ``value`` is an http(s) URL rather than a name or a path."""
    from imgtrans.weights.resolve import is_url

    return is_url(value)


def weights_on_disk(spec: WeightSpec) -> bool:
    """Whether ``spec``'s file or folder is on this machine (bundled or downloaded); nothing
    is hashed or fetched."""
    from imgtrans.weights.resolve import is_cached

    return is_cached(spec)


def weights_location(spec: WeightSpec) -> Path | None:
    """Where ``spec`` is (bundled file), or would be (download cache), on disk; a Hub
    folder only once downloaded; None for entries without any source."""
    from imgtrans.weights.bundled import bundled_path
    from imgtrans.weights.cache import cache_path_for
    from imgtrans.weights.hub import find_hub_folder

    if spec.file:
        return bundled_path(spec)
    if spec.repo:
        return find_hub_folder(spec.repo)
    return cache_path_for(spec.url) if spec.url else None


def weights_checksum(spec: WeightSpec) -> str:
    """How ``spec`` is checked: "sha256" (published), "hub" (by huggingface_hub),
    "recorded" (at first download), "at download" (not downloaded yet) or "none"."""
    from imgtrans.weights.cache import cache_path_for, recorded_sha256

    if spec.sha256:
        return "sha256"
    if spec.repo:
        return "hub"
    if spec.url:
        return "recorded" if recorded_sha256(cache_path_for(spec.url)) else "at download"
    return "none"


def weights_path(spec: WeightSpec, *, download_ok: bool = True,
                 progress: DownloadProgress | None = None) -> Path:
    """``spec``'s file or folder on disk, checked against its sha256; downloaded first when
    missing and ``download_ok`` (else ``WeightsError`` saying how to get it)."""
    from imgtrans.weights.resolve import local_path_for_spec

    return local_path_for_spec(spec, download_ok=download_ok, progress=progress)


def fetch_weights_url(url: str, *, download_ok: bool = True,
                      progress: DownloadProgress | None = None) -> Path:
    """The cached file of ``url``, downloaded first when missing and ``download_ok``
    (else ``WeightsError``); its sha256 is recorded at download and checked afterwards."""
    from imgtrans.weights.resolve import fetch_url

    return fetch_url(url, download_ok=download_ok, progress=progress)


def forget_verified_weights() -> None:
    """Forget which files were already verified in this process, so the next access hashes
    them again (``imgtrans weights verify``)."""
    from imgtrans.weights.bundled import forget_verified

    forget_verified()


def weights_sha256(path: str | Path) -> str:
    """The sha256 a registry entry gives for ``path``: of the file, or for a folder of its
    manifest of files and their hashes."""
    from imgtrans.weights.cache import sha256_path

    return sha256_path(Path(path))


def weights_examples(spec: WeightSpec | str) -> list[Path]:
    """Images of what ``spec`` (or the registry name) was trained on: up to
    :data:`MAX_EXAMPLES` files of its ``examples`` folder, by name; [] when it has none
    (published weights usually), or its folder is missing."""
    from imgtrans.api_images import list_image_files
    from imgtrans.weights.bundled import examples_folder

    folder = examples_folder(find_weights(spec) if isinstance(spec, str) else spec)
    if folder is None or not folder.is_dir():
        return []
    return sorted(list_image_files(folder, recursive=False))[:MAX_EXAMPLES]


def weights_example(spec: WeightSpec | str, index: int, *, size: int = 128) -> np.ndarray:
    """Example ``index`` of :func:`weights_examples` to show: (H, W, 3) RGB uint8 within
    ``size`` x ``size`` (small ones enlarged by a whole factor, nearest neighbour; large
    ones reduced). ``IndexError`` when there is no such example; ``InputError`` when its
    file cannot be read (files over 16 MB or 4096 x 4096 pixels are refused unread)."""
    from imgtrans.api_images import decode_image
    from imgtrans.core.contact_sheet import fit, to_rgb8

    files = weights_examples(spec)
    if not 0 <= index < len(files):
        raise IndexError(f"no example {index}: {len(files)} examples")
    decoded = decode_image(files[index], max_pixels=4096 * 4096, max_bytes=16 << 20)
    return fit(to_rgb8(decoded.pixels), size)
