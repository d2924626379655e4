"""Model folders on the Hugging Face Hub (e.g. diffusers models).

They live in the normal Hugging Face cache (``HF_HOME`` / ``HF_HUB_CACHE``), not in imgtrans's
own cache, so a copy left by ``hf download REPO`` and one downloaded here are the same thing.
Only configs (``*.json``) and weights (``*.safetensors``, else ``*.bin``, which loading reads
with ``torch.load(weights_only=True)``) are fetched: never code (``*.py``) or other pickles
(``*.pkl``, ``*.ckpt``), which loading must not run.

A pipeline repo (one with a ``model_index.json``, e.g. Stable Diffusion) is fetched by its
index: ``model_index.json`` and, for each component it names (``unet``, ``vae``,
``text_encoder``, ``tokenizer``, ``scheduler``...), that folder's configs, tokenizer text files
(``merges.txt``) and best weights; nothing at the top level (the single-file checkpoints such
repos also hold) and none of diffusers' optional components (``safety_checker``,
``feature_extractor``, ``image_encoder``), which image-to-image never loads. Weight variants
(``model.fp16.safetensors``) are taken only when asked for (``variant="fp16"``), and then
only where the folder has them.

Progress: ``huggingface_hub`` shows its own tqdm bars on stderr (``HF_HUB_DISABLE_PROGRESS_BARS=1``
hides them); the ``progress`` callback of single-file downloads is accepted but not called.
"""

from __future__ import annotations

import glob
import os
from collections.abc import Iterable
from pathlib import Path

from imgtrans.errors import WeightsError
from imgtrans.weights.download import TIMEOUT_SECONDS, Progress

WEIGHT_SUFFIXES = (".safetensors", ".bin")
"""In order of preference: safetensors cannot run code when loaded."""
_BROAD_PATTERNS = ("*.json", "*.safetensors", "*.bin")
_TRUE = {"1", "ON", "YES", "TRUE"}
PIPELINE_INDEX = "model_index.json"
OPTIONAL_COMPONENTS = frozenset({"safety_checker", "feature_extractor", "image_encoder"})
"""Pipeline components diffusers treats as optional and image-to-image never loads."""
_COMPONENT_TEXT = (".txt",)  # tokenizer files besides JSON (CLIP's merges.txt)


def _weight_rank(path: str, variant: str | None = None) -> int | None:
    """Lower is better: plain safetensors, plain .bin, then variants (``x.fp16.safetensors``)
    of each, with the asked ``variant`` first when given; None for a file that is not
    weights. Shards (``x-00001-of-00002.safetensors``) rank as their whole."""
    name = path.rpartition("/")[2]
    for rank, suffix in enumerate(WEIGHT_SUFFIXES):
        if name.endswith(suffix):
            stem = name[: -len(suffix)].split("-00", 1)[0]
            tag = stem.rpartition(".")[2] if "." in stem else None
            if variant is not None and tag == variant:
                return rank - len(WEIGHT_SUFFIXES)
            return rank + (len(WEIGHT_SUFFIXES) if tag is not None else 0)
    return None


def pipeline_components(index: dict) -> set[str]:
    """The component folders a parsed ``model_index.json`` names (entries ``[library,
    class]`` with a class), without ``OPTIONAL_COMPONENTS``."""
    return {name for name, entry in index.items()
            if not name.startswith("_") and name not in OPTIONAL_COMPONENTS
            and isinstance(entry, list) and len(entry) == 2 and entry[1]}


def select_files(paths: Iterable[str], index: dict | None = None,
                 variant: str | None = None) -> list[str]:
    """The repo files worth fetching: every ``.json`` and, per folder, only the best kind of
    weights, so a repo holding both formats costs one download, not two. With ``index`` (the
    parsed ``model_index.json`` of a pipeline repo): that file and the named components'
    folders only, their tokenizer text files included (see the module docstring)."""
    paths = list(paths)
    components = pipeline_components(index) if index is not None else set()
    if not components & {p.partition("/")[0] for p in paths if "/" in p}:
        index = None  # no component folders: a flat repo (google/ddpm-*), chosen file by file
    if index is not None:
        paths = [p for p in paths if p == PIPELINE_INDEX
                 or (p.count("/") == 1 and p.partition("/")[0] in components)]
    best: dict[str, int] = {}
    for path in paths:
        rank = _weight_rank(path, variant)
        if rank is not None:
            folder = path.rpartition("/")[0]
            best[folder] = min(best.get(folder, rank), rank)

    def wanted(p: str) -> bool:
        if p.endswith(".json") or (index is not None and "/" in p and p.endswith(_COMPONENT_TEXT)):
            return True
        rank = _weight_rank(p, variant)
        return rank is not None and rank == best[p.rpartition("/")[0]]

    return sorted(p for p in paths if wanted(p))


def _patterns(files: Iterable[str]) -> list[str]:
    """Exact file names as ``allow_patterns`` (which are fnmatch patterns)."""
    return [glob.escape(f) for f in files]


def _hf_offline() -> bool:
    """``HF_HUB_OFFLINE`` as huggingface_hub read it at import, or as set since."""
    try:
        from huggingface_hub import constants
        if getattr(constants, "HF_HUB_OFFLINE", False):
            return True
    except ImportError:
        pass
    return os.environ.get("HF_HUB_OFFLINE", "").strip().upper() in _TRUE


def hub_offline_hint(repo: str) -> str:
    """How to get ``repo`` onto a machine imgtrans cannot download on."""
    return (f"To use it offline, run `hf download {repo}` (older huggingface_hub: "
            f"`huggingface-cli download {repo}`) with network access: it fills the Hugging Face "
            f"cache (HF_HOME or HF_HUB_CACHE), where imgtrans finds it; or run `hf download {repo} "
            f"--local-dir DIR` and pass `--weights DIR`.")


def _read_index(path: str | os.PathLike | None) -> dict | None:
    """A parsed ``model_index.json``, or None for a missing or malformed one."""
    import json

    try:
        data = json.loads(Path(path).read_text(encoding="utf-8")) if path else None
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def _complete_copy_patterns(repo: str, variant: str | None = None) -> list[str]:
    """What a complete cached copy must hold: our selection from the file listing
    huggingface_hub cached when it downloaded (so a half-finished download does not count),
    else broad patterns (hand-made caches, older huggingface_hub), which check nothing."""
    try:
        from huggingface_hub import get_cached_repo_tree
        files = [f.path for f in get_cached_repo_tree(repo)]
    except Exception:  # no listing cached, or a huggingface_hub without it
        return list(_BROAD_PATTERNS)
    index = None
    if PIPELINE_INDEX in files:
        try:
            from huggingface_hub import try_to_load_from_cache
            cached = try_to_load_from_cache(repo, PIPELINE_INDEX)
        except Exception:
            cached = None
        index = _read_index(cached if isinstance(cached, str) else None)
        if index is None:  # the listing says there is one, the cache lacks it: incomplete
            return [PIPELINE_INDEX]
    return _patterns(select_files(files, index, variant))


def find_hub_folder(repo: str, variant: str | None = None) -> Path | None:
    """The snapshot folder of ``repo`` in the local Hugging Face cache (left by
    ``hf download REPO`` or ``fetch_hub_folder``), or None. Never touches the network."""
    try:
        from huggingface_hub import snapshot_download

        return Path(snapshot_download(repo, local_files_only=True,
                                      allow_patterns=_complete_copy_patterns(repo, variant)))
    except Exception:  # not cached, incomplete, or huggingface_hub not installed
        return None


def _reason(exc: BaseException) -> str:
    """One line on why a Hub download failed: the root cause, not huggingface_hub's
    multi-line wrappers."""
    chain = [exc]
    while chain[-1].__cause__ is not None and len(chain) < 10:
        chain.append(chain[-1].__cause__)
    if {type(e).__name__ for e in chain} & {"RepositoryNotFoundError", "GatedRepoError"}:
        return ("the repository was not found on the Hub, or it is private or gated "
                "(log in with `hf auth login`)")
    root = chain[-1]
    lines = str(root).strip().splitlines()
    return f"{type(root).__name__}: {lines[0]}" if lines else type(root).__name__


def fetch_hub_folder(repo: str, label: str, *, download_ok: bool = True,
                     progress: Progress | None = None, variant: str | None = None) -> Path:
    """The local snapshot folder of the Hub repo ``repo`` (weights ``label``): the cached
    copy, else downloaded into the Hugging Face cache when ``download_ok`` (never with
    ``HF_HUB_OFFLINE``). Raises ``WeightsError`` saying how to get it otherwise.
    ``variant`` (e.g. ``"fp16"``): prefer those weight files where a folder has them.
    ``progress`` is unused: huggingface_hub draws its own bars."""
    found = find_hub_folder(repo, variant)
    if found is not None:
        return found
    what = f"weights {label!r} (the Hugging Face Hub model folder {repo})"
    if not download_ok:
        raise WeightsError(f"{what} are not downloaded yet; run `imgtrans weights fetch {label}`. "
                           f"{hub_offline_hint(repo)}")
    if _hf_offline():
        raise WeightsError(f"{what} are not in the Hugging Face cache and HF_HUB_OFFLINE is set, "
                           f"so they are not downloaded. {hub_offline_hint(repo)}")
    try:
        from huggingface_hub import HfApi, hf_hub_download, snapshot_download
    except ImportError as exc:
        raise WeightsError(f"{what} need the huggingface_hub package to download "
                           f"(pip install huggingface_hub). {hub_offline_hint(repo)}") from exc
    try:
        info = HfApi().model_info(repo, timeout=TIMEOUT_SECONDS)
        files = [s.rfilename for s in info.siblings or ()]
        index = None
        if PIPELINE_INDEX in files:  # a pipeline: fetch what its index names, nothing else
            index = _read_index(hf_hub_download(repo, PIPELINE_INDEX, revision=info.sha))
            if index is None:
                raise WeightsError(f"{what}: its {PIPELINE_INDEX} is not a JSON object")
        wanted = select_files(files, index, variant)
        if not any(_weight_rank(f) is not None for f in wanted):
            raise WeightsError(f"{what} have no .safetensors or .bin weights on the Hub; "
                               f"imgtrans loads no other format")
        folder = snapshot_download(repo, allow_patterns=_patterns(wanted))
    except WeightsError:
        raise
    except Exception as exc:  # huggingface_hub, httpx and OS errors alike
        raise WeightsError(f"could not download {what}: {_reason(exc)}. "
                           f"{hub_offline_hint(repo)}") from exc
    return Path(folder)
