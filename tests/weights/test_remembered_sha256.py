"""Run reports record the weights' sha256 on every run: a file is hashed once per version
(path, size, modification time), so a large model folder is not read again each time."""

from __future__ import annotations

import os

from imgtrans.weights import cache
from imgtrans.weights.cache import remembered_sha256, sha256_path


def test_a_folder_is_hashed_once_per_file_version(tmp_path, monkeypatch):
    folder = tmp_path / "model"
    (folder / "unet").mkdir(parents=True)
    (folder / "unet" / "w.safetensors").write_bytes(b"weights" * 1000)
    (folder / "model_index.json").write_text("{}")
    hashed = []
    real = cache.sha256_file
    monkeypatch.setattr(cache, "sha256_file", lambda p, *a: hashed.append(p.name) or real(p, *a))

    first = remembered_sha256(folder)
    assert first == sha256_path(folder, real) and sorted(hashed) == ["model_index.json", "w.safetensors"]
    hashed.clear()
    assert remembered_sha256(folder) == first and hashed == []  # remembered

    (folder / "unet" / "w.safetensors").write_bytes(b"changed" * 1000)
    os.utime(folder / "unet" / "w.safetensors", ns=(1, 1))
    second = remembered_sha256(folder)
    assert hashed == ["w.safetensors"] and second != first
    assert second == sha256_path(folder, real)
