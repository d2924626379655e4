"""spandrel's side of the zoo: detecting an architecture in a state dict, loading it, and what
the loaded model is (architecture, purpose, scale, channels, size requirements, tiling,
half/bfloat16 support, licence).

Files are never read here: imgtrans's safe loader reads them (safetensors, or
``torch.load(weights_only=True)``) and only the state dict reaches spandrel
(``ModelLoader.load_from_state_dict``), so no pickle code runs. spandrel's main registry is
used, plus ``spandrel_extra_arches``' when the user installed it (non-commercial licences:
shown with every model). Importing this module imports torch and spandrel, which imports
torchvision; the translator imports it when it first needs it.
"""

from __future__ import annotations

import importlib
import importlib.metadata
import logging
import sys
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any, Mapping

from imgtrans.plugin import WeightsError, describe_keys, unwrap_state_dict

log = logging.getLogger(__name__)

INSTALL_HINT = "pip install 'imgtrans[zoo]'"
MISSING = (f"other super-resolution and restoration architectures (SPAN, DAT, HAT, SwinIR, "
           f"OmniSR, SCUNet...) need spandrel: {INSTALL_HINT}")
PURPOSES = ("SR", "Restoration")  # image in, image out: what the zoo translator runs


def spandrel() -> Any:
    """The spandrel module; ``WeightsError`` with the install hint when it cannot be imported
    (not installed, or its torchvision does not import beside this torch)."""
    try:
        import spandrel as module
    except ImportError as exc:
        raise WeightsError(f"{MISSING} ({type(exc).__name__}: {exc})") from exc
    return module


@lru_cache(maxsize=1)
def registry() -> Any:
    """spandrel's main registry, plus ``spandrel_extra_arches``' when installed (in a copy:
    spandrel's global registry is left as it is)."""
    main = spandrel().MAIN_REGISTRY
    try:
        from spandrel_extra_arches import EXTRA_REGISTRY
    except ImportError:
        return main
    combined = main.copy()
    combined.add(*EXTRA_REGISTRY, ignore_duplicates=True)
    return combined


def _prepared(state_dict: Mapping[str, Any]) -> dict[str, Any]:
    """A plain state dict (imgtrans's unwrapping, then spandrel's canonicalisation)."""
    return dict(spandrel().canonicalize_state_dict(unwrap_state_dict(state_dict)))


def detect(state_dict: Mapping[str, Any]) -> Any:
    """The registry entry (``ArchSupport``) whose cheap key check claims ``state_dict`` (any
    wrapper), in spandrel's detection order; None when none does. Builds no network."""
    sd = _prepared(state_dict)
    for support in registry().architectures("detection"):
        try:
            if support.detect(sd):
                return support
        except Exception as exc:  # one architecture's check must not hide the others
            log.debug("spandrel %s detect failed: %s", support.architecture.id, exc)
    return None


@lru_cache(maxsize=None)
def licence_of(architecture: Any) -> str:
    """The licence of an architecture's code: its LICENSE file (``architectures/<Name>/__arch/``)
    when installed, else ``licences.LICENCES`` (read from spandrel's repository, whose wheels
    leave the files out); non-commercial ones say so."""
    from imgtrans_zoo.licences import LICENCES

    module_name = type(architecture).__module__
    module = sys.modules.get(module_name)
    folder = Path(getattr(module, "__file__", "") or ".").parent / "__arch"
    files = sorted(folder.glob("LICEN[SC]E*")) if folder.is_dir() else []
    if files:
        return classify_licence(files[0].read_text(encoding="utf-8", errors="replace"))
    known = LICENCES.get(module_name.rsplit(".", 1)[-1])
    if known:
        return known
    if module_name.startswith("spandrel_extra_arches"):
        return "see spandrel_extra_arches (its architectures are non-commercial or copyleft)"
    return "unknown (see the architecture's folder in spandrel's repository)"


def classify_licence(text: str) -> str:
    """A licence's short name from its text (the LICENSE files of spandrel's architectures)."""
    head = " ".join(text[:3000].split())
    words = head.lower().replace("-", " ")
    rules = (("academic public license", "Academic Public License (non-commercial)"),
             ("s lab license", "S-Lab License 1.0 (non-commercial)"),
             ("noncommercial sharealike", "CC-BY-NC-SA-4.0 (non-commercial)"),
             ("noncommercial", "CC-BY-NC-4.0 (non-commercial)"),
             ("non commercial", "non-commercial use only"),
             ("attribution sharealike", "CC-BY-SA-4.0"),
             ("cc0", "CC0-1.0"), ("apache license", "Apache-2.0"), ("apache 2.0", "Apache-2.0"),
             ("bsd 3 clause", "BSD-3-Clause"), ("mit license", "MIT"),
             ("permission is hereby granted, free of charge", "MIT"))
    for marker, name in rules:
        if marker in words:
            return name
    return head[:60] + ("…" if len(head) > 60 else "")


def _package_of(architecture: Any) -> str:
    top = type(architecture).__module__.split(".", 1)[0]
    try:
        return f"{top} {importlib.metadata.version(top)}"
    except importlib.metadata.PackageNotFoundError:
        return top


@dataclass
class ZooModel:
    """A loaded spandrel model and what imgtrans needs to know about it."""

    descriptor: Any
    facts: dict[str, Any] = field(default_factory=dict)
    memory_format: Any = None  # torch.contiguous_format unless ``layout`` chooses otherwise

    @property
    def architecture(self) -> str:
        return self.facts["architecture"]


def describe(descriptor: Any) -> dict[str, Any]:
    """What ``imgtrans info`` and run reports show about a loaded model."""
    arch, req = descriptor.architecture, descriptor.size_requirements
    return {"architecture": arch.name, "architecture_id": str(arch.id),
            "purpose": descriptor.purpose, "tags": list(descriptor.tags),
            "scale": int(descriptor.scale), "input_channels": int(descriptor.input_channels),
            "output_channels": int(descriptor.output_channels),
            "size_requirements": {"minimum": int(req.minimum), "multiple_of": int(req.multiple_of),
                                  "square": bool(req.square)},
            "tiling": descriptor.tiling.name.lower(),
            "supports_half": bool(descriptor.supports_half),
            "supports_bfloat16": bool(descriptor.supports_bfloat16),
            "license": licence_of(arch), "library": _package_of(arch)}


def load_model(state_dict: Mapping[str, Any], where: str) -> ZooModel:
    """The spandrel model ``state_dict`` (any wrapper) holds, in eval mode, fp32, on the CPU.
    ``WeightsError`` (one line) for: no architecture detected, weights that do not fit the
    detected architecture, a model that needs a mask (inpainting), a face model, a model that
    does not map an image to an image of 1, 3 or 4 channels."""
    module = spandrel()
    sd = _prepared(state_dict)
    support = detect(sd)
    if support is None:
        raise WeightsError(f"{where}: no spandrel architecture recognises these weights (found "
                           f"{len(sd)} tensors, first: {describe_keys(list(sd), sd, 3)})")
    name = support.architecture.name
    try:
        descriptor = support.architecture.load(sd)
    except Exception as exc:  # size mismatches, missing keys, odd hyper-parameters
        reason = " ".join(str(exc).split()).replace("Error(s) in loading state_dict for ", "")
        raise WeightsError(f"{where}: these look like {name} weights, but they do not fit "
                           f"spandrel's {name}: {reason[:240] or type(exc).__name__}") from exc
    if isinstance(descriptor, module.MaskedImageModelDescriptor):
        raise WeightsError(f"{where}: a {name} inpainting model: it needs a mask with every "
                           f"image, which the zoo translator does not take")
    if descriptor.purpose not in PURPOSES:
        kind = {"FaceSR": "face restoration"}.get(descriptor.purpose, descriptor.purpose)
        raise WeightsError(f"{where}: a {name} {kind} model (it expects aligned face crops); the "
                           f"zoo translator runs super-resolution and restoration models only")
    facts = describe(descriptor)
    if facts["input_channels"] not in (1, 3, 4) or facts["output_channels"] not in (1, 3, 4):
        raise WeightsError(f"{where}: a {name} model with {facts['input_channels']} input and "
                           f"{facts['output_channels']} output channels; images have 1, 3 or 4")
    descriptor.model.float()
    descriptor.eval()
    if "non-commercial" in facts["license"]:
        log.warning("%s: the %s architecture's licence is %s", where, name, facts["license"])
    return ZooModel(descriptor, facts)


def supported_architectures() -> list[dict[str, str]]:
    """Every architecture the registry detects, in detection order, with its licence (for
    the README's generated table and ``imgtrans info zoo``)."""
    return [{"id": str(s.architecture.id), "name": s.architecture.name,
             "license": licence_of(s.architecture), "library": _package_of(s.architecture)}
            for s in registry().architectures("detection")]
