"""Weights shipped inside a package: imgtrans's own ``pretrained/`` folder (the registry) or
a plugin's package (specs a plugin declares in ``known_weights``).

A plugin's ``file`` is relative to the package that registered it, found with
``importlib.resources``, so a third-party plugin can bundle weights next to its code. A
``sha256``, when given, is checked before first use in a process, as for downloads: a
corrupted or edited bundle fails loudly instead of converting with wrong weights.
"""

from __future__ import annotations

import logging
import threading
from importlib import resources
from pathlib import Path

from imgtrans.errors import WeightsError
from imgtrans.translators.base import WeightSpec
from imgtrans.weights.cache import sha256_path
from imgtrans.weights.registry import pretrained_dir

log = logging.getLogger(__name__)
_verified: dict[tuple[str, str], str] = {}
_lock = threading.Lock()


def bundled_path(spec: WeightSpec) -> Path:
    """Where the spec's bundled file or folder is (it may not exist)."""
    assert spec.file, spec
    return _in_package(spec, spec.file)


def examples_folder(spec: WeightSpec) -> Path | None:
    """Where the spec's folder of example images is (it may not exist); None without one."""
    return _in_package(spec, spec.examples) if spec.examples else None


def _in_package(spec: WeightSpec, relative: str) -> Path:
    """``relative`` in the package that declared ``spec`` (``pretrained/`` for the registry)."""
    if spec.package is None:
        return pretrained_dir() / relative
    try:
        root = resources.files(spec.package)
    except (ModuleNotFoundError, TypeError) as exc:
        raise WeightsError(f"weights {spec.name!r}: package {spec.package!r} cannot be found: {exc}") from None
    if not isinstance(root, Path):  # e.g. a zipped package: we load from real files only
        raise WeightsError(f"weights {spec.name!r}: package {spec.package!r} is not installed as "
                           f"plain files, so its bundled weights cannot be read")
    return root.joinpath(relative)


def verified_bundle(spec: WeightSpec) -> Path:
    """The spec's bundled file or folder, checked against ``sha256`` when the spec has one
    (once per process and path). Raises ``WeightsError`` when missing or different."""
    path = bundled_path(spec)
    if not path.exists():
        where = f"package {spec.package!r}" if spec.package else "imgtrans"
        raise WeightsError(f"bundled weights {spec.name!r} are missing: {path} does not exist; "
                           f"the installation of {where} looks incomplete")
    if spec.sha256:
        expected = spec.sha256.lower()
        key = (str(path), expected)
        with _lock:
            if key not in _verified:
                _verified[key] = sha256_path(path)
            actual = _verified[key]
        if actual != expected:
            raise WeightsError(f"bundled weights {spec.name!r} at {path} are corrupt or were changed: "
                               f"sha256 {actual}, expected {expected}; reinstall the package")
    return path


def forget_verified() -> None:
    """Check bundles again on next use (for tests and `imgtrans weights verify`)."""
    with _lock:
        _verified.clear()


def plugin_specs(cls: type) -> list[WeightSpec]:
    """A translator class's ``known_weights``, each tied to the package that defines the
    class (so ``file`` resolves inside it). Specs named for another translator are left out
    with a warning: one plugin's mistake must not break every listing."""
    import dataclasses
    import sys

    module = sys.modules.get(cls.__module__)
    package = getattr(module, "__package__", None) or cls.__module__.rpartition(".")[0] or cls.__module__
    specs = []
    for spec in cls.known_weights:
        if spec.plugin != cls.name:
            log.warning("translator %r declares weights %r, ignored: names of its weights must "
                        "start with '%s.'", cls.name, spec.name, cls.name)
            continue
        specs.append(dataclasses.replace(spec, package=spec.package or package) if spec.file else spec)
    return specs
