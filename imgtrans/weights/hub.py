"""Model folders on the Hugging Face Hub (e.g. diffusers models): imgtrans downloads single
files only, so these are found in the local Hugging Face cache, offline, or explained."""

from __future__ import annotations

from pathlib import Path

from imgtrans.errors import WeightsError


def find_hub_folder(repo: str) -> Path | None:
    """The snapshot folder of ``repo`` in the local Hugging Face cache (left by
    ``hf download REPO``), or None. Never touches the network."""
    try:
        from huggingface_hub import snapshot_download

        return Path(snapshot_download(repo, local_files_only=True))
    except Exception:  # not cached, incomplete, or huggingface_hub not installed
        return None


def hub_folder_or_hint(repo: str, label: str) -> Path:
    """The cached folder of ``repo``, or a ``WeightsError`` saying how to get it."""
    found = find_hub_folder(repo)
    if found is not None:
        return found
    raise WeightsError(
        f"weights {label!r} are the Hugging Face Hub model folder {repo}, which imgtrans does not "
        f"download (it fetches single files only). Get it once with `hf download {repo} --local-dir DIR` "
        f"(older huggingface_hub: `huggingface-cli download {repo} --local-dir DIR`) and pass "
        f"`--weights DIR`; a copy in the Hugging Face cache (`hf download {repo}`) is found automatically.")
