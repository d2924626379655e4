"""A ``--weights`` value resolved once: where the weights are, what they are, whose they are.

:func:`resolve_for` is the one way in. In order: a registry name or alias names its
translator; a URL is downloaded once (and names its translator when the registry knows it);
an imgtrans checkpoint or run folder says whose it is in ``imgtrans.json`` (parsed here,
once); any other file or folder is shown to every installed translator's
``recognises``/``recognises_folder`` check (the file read once), and exactly one must claim
it; fallback translators (a model-zoo library's) are asked only when no other one does.
With a translator named (``--plugin``), nothing is read that loading will not need: a
foreign file is read when the translator loads it. The core knows no translator by name:
the checks belong to the translators.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any, Callable, Mapping

from imgtrans.checkpoints import find_checkpoint, read_checkpoint
from imgtrans.errors import UsageError, WeightsError
from imgtrans.translators.base import Translator, WeightSpec
from imgtrans.weights.download import Progress
from imgtrans.weights.resolve import (
    fetch_url,
    find_spec,
    is_url,
    local_path_for_spec,
    looks_like_path,
    resolve_weights,
    unknown_weights_error,
)
from imgtrans.weights.resolved import ResolvedWeights

log = logging.getLogger(__name__)


def resolve_for(value: str | None, plugin: str | None, translators: Mapping[str, type[Translator]],
                known: list[WeightSpec], *, download_ok: bool = True,
                progress: Progress | None = None,
                should_stop: Callable[[], bool] | None = None) -> ResolvedWeights | None:
    """Resolve ``value`` for translator ``plugin`` (or, with ``plugin=None``, find the
    translator: the result's ``owner``). ``value=None`` means ``plugin``'s default weights
    (None when it has none). Raises ``WeightsError`` for unknown values and another
    translator's checkpoint and weights no translator claims, ``UsageError`` when several claim
    them."""
    fetch = dict(download_ok=download_ok, progress=progress, should_stop=should_stop)
    if plugin is not None:
        path, spec = resolve_weights(value, plugin, known, **fetch)
        if path is None:
            return None
        weights = describe(path, spec, value)
        if weights.checkpoint is not None:
            weights.checkpoint.expect(plugin)
        return weights
    if value is None:
        raise UsageError("name a translator (--plugin) or weights (--weights) that identify one")
    path, spec = _locate(value, known, fetch)
    weights = describe(path, spec, value)
    if weights.owner is None:
        weights.owner, weights.found = _claimed_by(weights, translators, value)
    return weights


def identify_translator(value: str, translators: Mapping[str, type[Translator]],
                        known: list[WeightSpec], **fetch: Any) -> str:
    """The name of the translator ``value`` (registry name, URL, file or folder) is for; a
    registry name or a known URL names it without fetching anything."""
    spec = _named_spec(value, known)
    if spec is not None:
        return spec.plugin
    weights = resolve_for(value, None, translators, known, **fetch)
    assert weights is not None and weights.owner is not None
    return weights.owner


def describe(path: Path, spec: WeightSpec | None, source: str | None) -> ResolvedWeights:
    """What ``path`` is, reading only an imgtrans checkpoint's description."""
    owner = spec.plugin if spec is not None else None
    found = find_checkpoint(path)
    if found is not None:
        checkpoint = read_checkpoint(found)
        return ResolvedWeights(found, "checkpoint", spec=spec, checkpoint=checkpoint,
                               owner=checkpoint.translator, source=source)
    return ResolvedWeights(path, "folder" if path.is_dir() else "file", spec=spec, owner=owner,
                           source=source)


def _named_spec(value: str, known: list[WeightSpec]) -> WeightSpec | None:
    """The registry entry ``value`` names (a name, an alias or a known URL), or None; an
    existing path that looks like one is a path."""
    if is_url(value):
        return next((s for s in known if s.url == value), None)
    if looks_like_path(value) and Path(value).expanduser().exists():
        return None
    return find_spec(value, known)


def _locate(value: str, known: list[WeightSpec], fetch: dict[str, Any]) -> tuple[Path, WeightSpec | None]:
    """(local path, registry entry or None) of a value given without a translator."""
    spec = _named_spec(value, known)
    if is_url(value):
        sha256 = next((s.sha256 for s in known if s.url == value and s.sha256), None)
        return fetch_url(value, sha256, label=spec.name if spec else None, **fetch), spec
    if spec is not None:
        return local_path_for_spec(spec, **fetch), spec
    path = Path(value).expanduser()
    if not path.exists():
        if looks_like_path(value):
            raise WeightsError(f"--weights {value!r}: no such file or folder ({path})")
        raise unknown_weights_error(value, None, known, path_tried=True)
    return path, None


def _claimed_by(weights: ResolvedWeights, translators: Mapping[str, type[Translator]],
                value: str) -> tuple[str, Any]:
    """(the one translator whose check claims the weights, what its check returned)."""
    notes: list[str] = []
    claims = recognisers(weights, translators, notes)
    if len(claims) == 1:
        return next(iter(claims.items()))
    names = ", ".join(sorted(translators))
    if not claims:
        # a weights problem (exit 5): nothing installed knows this layout
        raise WeightsError(f"--weights {value}: no installed translator recognises these weights; "
                           f"name one with --plugin ({names})"
                           + "".join(f"; {note}" for note in dict.fromkeys(notes)))
    raise UsageError(f"--weights {value}: these weights fit several translators "
                     f"({', '.join(claims)}); choose one with --plugin")


def recognisers(weights: ResolvedWeights, translators: Mapping[str, type[Translator]],
                notes: list[str] | None = None) -> dict[str, Any]:
    """``{translator: what its check returned}`` for the translators whose ``recognises``
    (files: the state dict, read once and kept in ``weights``) or ``recognises_folder``
    check claims the weights. Fallback translators (``Translator.fallback``) are asked only
    when no other one claims them. A broken check counts as "no" (logged); the message of a
    check that raised ``WeightsError`` (it could not decide, and says why) goes to ``notes``."""
    if weights.kind == "checkpoint":
        return {weights.checkpoint.translator: True} if weights.checkpoint else {}
    if weights.kind == "folder":
        method, argument = "recognises_folder", weights.path
    else:
        method, argument = "recognises", weights.state_dict()
    claims: dict[str, Any] = {}
    for fallback in (False, True):
        for name, cls in sorted(translators.items()):
            if bool(getattr(cls, "fallback", False)) == fallback:
                answer = _asks(cls, method, argument, notes)
                if answer:
                    claims[name] = answer
        if claims:
            break
    return claims


def _asks(cls: type[Translator], method: str, argument: Any, notes: list[str] | None) -> Any:
    try:
        return getattr(cls, method)(argument)
    except WeightsError as exc:  # the check could not decide, and says why
        log.debug("%s.%s: %s", cls.name, method, exc)
        if notes is not None:
            notes.append(str(exc))
        return False
    except Exception as exc:  # a plugin's check must not break identification
        log.debug("%s.%s failed: %s", cls.name, method, exc)
        return False
