"""Turn what the user typed after ``--weights`` into a local file or folder.

One value can be a registry name, a path or a URL; this module decides which, in a fixed
order, and makes every failure say what was tried and what would have worked.
"""

from __future__ import annotations

import difflib
import logging
import os
import http.client
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any, Callable
from urllib.parse import urlsplit

from imgtrans.errors import UsageError, WeightsError
from imgtrans.translators.base import WeightSpec
from imgtrans.weights.cache import cache_path_for, record_sha256, recorded_sha256, sha256_file
from imgtrans.weights.hub import fetch_hub_folder, find_hub_folder
from imgtrans.weights.download import Progress, download, incomplete_reason, offline_hint
from imgtrans.weights.bundled import bundled_path, verified_bundle

log = logging.getLogger(__name__)


def is_url(value: str) -> bool:
    """http(s) URLs are downloaded; anything else is a name or a path."""
    return urlsplit(value).scheme.lower() in ("http", "https")


def looks_like_path(value: str) -> bool:
    return value.startswith(("~", ".")) or "/" in value or os.sep in value


def default_spec(plugin: str, known: list[WeightSpec]) -> WeightSpec | None:
    """The first spec of ``plugin`` marked ``default``, or None."""
    return next((s for s in known if s.plugin == plugin and s.default), None)


def normalise_name(name: str) -> str:
    """Lookup key of a weights name: case and ``-``/``_`` do not matter
    (``RealESRGAN_x4plus``, ``realesr-general-x4v3``)."""
    return name.strip().lower().replace("-", "_")


def _names(spec: WeightSpec) -> set[str]:
    """Every name a spec answers to: full name, tag, aliases, ``translator.alias``."""
    names = {spec.name, spec.tag, *spec.aliases, *(f"{spec.plugin}.{a}" for a in spec.aliases)}
    return {normalise_name(n) for n in names}


def find_spec(name: str, known: list[WeightSpec], plugin: str | None = None) -> WeightSpec | None:
    """The spec ``name`` refers to, or None. No plugin check is made here.

    ``name`` is a full ``"translator.tag"``, a tag or alias, or a translator name (meaning its
    default); case and ``-``/``_`` do not matter. With ``plugin``, its own specs are
    preferred; a name several translators' weights share, with no ``plugin`` to choose,
    raises :class:`UsageError` listing them.
    """
    key = normalise_name(name)
    matches = [s for s in known if key in _names(s)]
    if plugin:
        own = [s for s in matches if s.plugin == plugin]
        if own:
            return own[0]
        if key == normalise_name(plugin):
            return default_spec(plugin, known)
    full = [s for s in matches if normalise_name(s.name) == key]
    if full:
        return full[0]
    if len(matches) > 1:
        names = ", ".join(sorted(s.name for s in matches))
        raise UsageError(f"weights {name!r} could mean {names}; give the full name "
                         f"(or --plugin)")
    if matches:
        return matches[0]
    return default_spec(key, known)


def lookup_spec(name: str, known: list[WeightSpec], plugin: str | None = None) -> WeightSpec:
    """Like ``find_spec`` but raises ``WeightsError`` for an unknown name or one that
    belongs to another plugin than ``plugin`` (when given)."""
    spec = find_spec(name, known, plugin)
    if spec is None:
        raise unknown_weights_error(name, plugin, known, path_tried=False)
    _check_plugin(spec, plugin)
    return spec


def _check_plugin(spec: WeightSpec, plugin: str | None) -> None:
    if plugin and spec.plugin != plugin:
        raise WeightsError(f"{spec.name}: these are {spec.plugin} weights, not {plugin} weights; "
                           f"use --plugin {spec.plugin} (or leave --plugin out)")


def unknown_weights_error(value: str, plugin: str | None, known: list[WeightSpec], path_tried: bool) -> WeightsError:
    what = "neither an existing file or folder nor a known weights name" if path_tried \
        else "not a known weights name"
    mine = [s for s in known if plugin is None or s.plugin == plugin]
    subject = f"--weights {value!r}" if path_tried else repr(value)
    lines = [f"{subject} is {what}" + (f" for {plugin!r}." if plugin else ".")]
    if plugin and value == plugin and mine:
        lines.append(f"Translator {plugin!r} has no default weights; name one explicitly.")
    others = sorted(s.name for s in known if s.tag == value and s not in mine)
    if others:
        lines.append(f"Did you mean {', '.join(others)}? (for another translator)")
    candidates = {s.name for s in mine} | ({s.tag for s in mine} if plugin else set())
    close = difflib.get_close_matches(value, sorted(candidates), n=3, cutoff=0.6)
    if close:
        lines.append(f"Close names: {', '.join(close)}.")
    listing = "imgtrans weights list" + (f" --plugin {plugin}" if plugin else "")
    lines.append(f"Run `{listing}` to see the known names." if mine
                 else "No named weights are known" + (f" for {plugin!r}." if plugin else "."))
    return WeightsError(" ".join(lines))


def is_cached(spec: WeightSpec) -> bool:
    """True when the spec's file is on disk (bundled or downloaded). Does not hash."""
    if spec.file and bundled_path(spec).exists():
        return True
    if spec.repo:
        return find_hub_folder(spec.repo) is not None
    return bool(spec.url) and cache_path_for(spec.url).exists()


def local_path_for_spec(spec: WeightSpec, *, download_ok: bool = True,
                        progress: Progress | None = None,
                        should_stop: Callable[[], bool] | None = None) -> Path:
    """The local file of a spec: its bundled file or folder (verified against ``sha256``
    when known), else the cached download of ``url`` (verified likewise, fetched if missing
    or corrupt and ``download_ok``). Raises ``WeightsError`` with what to do otherwise."""
    if spec.file and (bundled_path(spec).exists() or not spec.url):
        return verified_bundle(spec)
    if spec.repo:
        return fetch_hub_folder(spec.repo, spec.name, download_ok=download_ok,
                                progress=progress)
    if not spec.url:
        raise WeightsError(f"weights {spec.name!r} cannot be fetched by imgtrans: {spec.description or 'no source known'}"
                           + (f" (see {spec.source})" if spec.source else ""))
    return fetch_url(spec.url, spec.sha256, label=spec.name, download_ok=download_ok,
                     progress=progress, should_stop=should_stop)


def fetch_url(url: str, sha256: str | None = None, *, label: str | None = None,
              download_ok: bool = True, progress: Progress | None = None,
              should_stop: Callable[[], bool] | None = None) -> Path:
    """The cached copy of ``url`` (``cache_path_for(url)``), downloaded if missing. Every use
    checks it against ``sha256`` (the publisher's), else against the sha256 recorded at its
    first download; a cached file that fails, or is visibly incomplete, is fetched again
    (or, with ``download_ok=False``, reported). ``label`` names the weights in messages."""
    label = label or url
    path = cache_path_for(url)
    if path.is_file():
        problem = _cached_problem(path, url, sha256)
        if problem is None:
            return path
        if not download_ok:
            raise WeightsError(f"the cached file {path} for {label} {problem}; run "
                               f"`imgtrans weights fetch {label}` to fetch it again")
        log.warning("the cached file %s for %s %s; fetching it again", path, label, problem)
        path.unlink()
    elif not download_ok or os.environ.get(OFFLINE_ENV, "").strip().upper() in _TRUE:
        why = f"{OFFLINE_ENV} is set" if download_ok else "downloads are off here"
        raise WeightsError(f"weights {label} are not downloaded yet ({why}); run "
                           f"`imgtrans weights fetch {label}` where downloads work. "
                           f"{offline_hint(url, path)}")
    download(url, path, sha256, progress, should_stop=should_stop)
    record_sha256(path, url, sha256_file(path))
    return path


def _cached_problem(path: Path, url: str, sha256: str | None) -> str | None:
    """What is wrong with a cached download, or None. A file cached before hashes were
    recorded gets its hash recorded now, if it is not visibly incomplete."""
    expected = (sha256 or recorded_sha256(path) or "").lower()
    if not expected:
        broken = incomplete_reason(path)
        if broken:
            return f"is incomplete ({broken})"
        record_sha256(path, url, sha256_file(path))
        return None
    actual = sha256_file(path)
    return None if actual == expected else f"is corrupt (sha256 {actual}, expected {expected})"


OFFLINE_ENV = "IMGTRANS_OFFLINE"
_TRUE = {"1", "TRUE", "YES", "ON"}
PROBE_SECONDS = 3.0
"""How long a default's download server may take to accept a connection before imgtrans
uses the bundled stand-in (a machine without a route should not wait for a long timeout)."""


def offline_reason(spec: WeightSpec) -> str | None:
    """Why ``spec`` cannot be downloaded now, or None when its server answers: the
    ``IMGTRANS_OFFLINE`` or ``HF_HUB_OFFLINE`` switch, or a request that fails (refused,
    no such host, no route, or no HTTP answer within ``PROBE_SECONDS``: a proxy that accepts
    connections it cannot forward counts as no answer)."""
    for env in (OFFLINE_ENV, "HF_HUB_OFFLINE"):
        if os.environ.get(env, "").strip().upper() in _TRUE:
            return f"{env} is set"
    if spec.repo:
        endpoint = os.environ.get("HF_ENDPOINT", "").strip() or "https://huggingface.co"
    else:
        endpoint = spec.url or ""
    host = urlsplit(endpoint).hostname or endpoint
    request = urllib.request.Request(endpoint, method="HEAD")
    try:
        urllib.request.urlopen(request, timeout=PROBE_SECONDS).close()
    except urllib.error.HTTPError:
        return None  # the server answered (405, 404...): downloading will say more
    except (OSError, ValueError, http.client.HTTPException) as exc:
        reason = getattr(exc, "reason", exc)
        detail = "no answer" if isinstance(reason, TimeoutError) else (
            getattr(reason, "strerror", None) or str(reason))
        return f"{host} cannot be reached ({detail})"
    return None


def bundled_stand_in(spec: WeightSpec, known: list[WeightSpec]) -> WeightSpec:
    """``spec`` when it is bundled, else the bundled weights it names as its ``fallback``
    (itself when it names none): what runs without a download (the demo's choice)."""
    if spec.file or not spec.fallback:
        return spec
    return next((s for s in known if s.name == spec.fallback), spec)


def _default_weights(spec: WeightSpec, known: list[WeightSpec], **fetch: Any) -> tuple[Path, WeightSpec]:
    """A translator's default weights, or their bundled stand-in, with one warning, when
    they are not downloaded and cannot be now."""
    stand_in = bundled_stand_in(spec, known)
    if stand_in is spec or is_cached(spec):
        return local_path_for_spec(spec, **fetch), spec
    reason = offline_reason(spec) if fetch.get("download_ok", True) else "downloads are off"
    if reason is None:
        try:
            return local_path_for_spec(spec, **fetch), spec
        except WeightsError as exc:
            reason = str(exc).split(". ")[0]
    log.warning("%s is not downloaded and cannot be fetched now (%s); using the bundled %s%s. "
                "Run `imgtrans weights fetch %s` when online.", spec.name, reason, stand_in.name,
                f" ({stand_in.trained_on})" if stand_in.trained_on else "", spec.name)
    return local_path_for_spec(stand_in, **fetch), stand_in


def resolve_weights(value: str | None, plugin: str, known: list[WeightSpec], *,
                    download_ok: bool = True,
                    progress: Progress | None = None,
                    should_stop: Callable[[], bool] | None = None) -> tuple[Path | None, WeightSpec | None]:
    """Resolve a ``--weights`` value for translator ``plugin`` to ``(local path, spec)``.

    Tried in this order:

    * ``None``: the default spec of ``plugin`` in ``known``; ``(None, None)`` if it has none.
    * an http(s) URL: downloaded once into the cache and reused; the spec is the known one
      of ``plugin`` with that URL, or None. A checksum known for that URL is verified.
    * a name, unless the value looks like a path (starts with ``~`` or ``.``, or holds a
      separator): ``"plugin.tag"``, ``"tag"`` of ``plugin``, or a plugin name for its default.
      So an existing file called like a known name needs a ``./`` prefix.
    * an existing file or folder (``~`` expanded): returned as is, spec None.

    Names of another plugin's weights and unknown values raise ``WeightsError``.
    """
    if value is None:
        spec = default_spec(plugin, known)
        if spec is None:
            return None, None
        return _default_weights(spec, known, download_ok=download_ok, progress=progress,
                                should_stop=should_stop)
    if is_url(value):
        same_url = [s for s in known if s.url == value]
        spec = next((s for s in same_url if s.plugin == plugin), None)
        sha256 = next((s.sha256 for s in same_url if s.sha256), None)
        path = fetch_url(value, sha256, label=spec.name if spec else None,
                         download_ok=download_ok, progress=progress, should_stop=should_stop)
        return path, spec
    if not looks_like_path(value):
        spec = find_spec(value, known, plugin)
        if spec is not None:
            _check_plugin(spec, plugin)
            return local_path_for_spec(spec, download_ok=download_ok, progress=progress,
                                       should_stop=should_stop), spec
    path = Path(value).expanduser()
    if path.exists():
        return path, None
    if looks_like_path(value):  # not a file: maybe a name with a slash (a Hub repo id alias)
        spec = find_spec(value, known, plugin)
        if spec is not None:
            _check_plugin(spec, plugin)
            return local_path_for_spec(spec, download_ok=download_ok, progress=progress,
                                       should_stop=should_stop), spec
        raise WeightsError(f"--weights {value!r}: no such file or folder ({path})")
    raise unknown_weights_error(value, plugin, known, path_tried=True)
