"""Weights files and checkpoints get the permissions the umask gives (as results do): a
shared weights cache (IMGTRANS_CACHE_DIR) or a checkpoint handed to a colleague must be
readable by others when the umask says so, not owner-only like tempfile.mkstemp's files."""

from __future__ import annotations

import contextlib
import os
import stat

import pytest
import torch

from imgtrans.checkpoints import write_checkpoint
from imgtrans.weights.download import download
from imgtrans.weights.safe_load import save_state_dict

pytestmark = pytest.mark.skipif(os.name != "posix", reason="umask is POSIX")


@contextlib.contextmanager
def umask(mask):
    old = os.umask(mask)
    try:
        yield
    finally:
        os.umask(old)


def _mode(path):
    return stat.S_IMODE(path.stat().st_mode)


@pytest.mark.parametrize("mask, expected", [(0o022, 0o644), (0o077, 0o600)])
def test_saved_weights_and_checkpoints_follow_the_umask(tmp_path, mask, expected):
    with umask(mask):
        save_state_dict({"w": torch.ones(2)}, tmp_path / "w.safetensors")
        write_checkpoint(tmp_path / "ckpt", "pix2pix", {"G": torch.nn.Linear(2, 2)},
                         trainer_state={"step": 1})
    files = [tmp_path / "w.safetensors", *sorted((tmp_path / "ckpt").iterdir())]
    assert len(files) == 4  # weights, G, imgtrans.json, trainer_state.pt
    assert {f.name: _mode(f) for f in files} == {f.name: expected for f in files}


def test_downloaded_weights_follow_the_umask(http_server, tmp_path):
    url, sha = http_server.add("/w/model.pth", b"weights" * 100)
    with umask(0o022):
        dest = download(url, tmp_path / "cache" / "model.pth", sha)
    assert _mode(dest) == 0o644
