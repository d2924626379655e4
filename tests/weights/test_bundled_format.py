"""Every bundled imgtrans checkpoint is written in the current format (the version-1 reader
stays for users' files: tests/gan/test_gan_plugin.py and tests/layout2im read v1 copies)."""

from __future__ import annotations

import json
from pathlib import Path

from imgtrans.checkpoints import FORMAT_VERSION, META_FILE

PRETRAINED = Path(__file__).resolve().parents[2] / "pretrained"


def test_bundled_checkpoints_are_the_current_format():
    descriptions = sorted(PRETRAINED.glob(f"*/{META_FILE}"))
    assert len(descriptions) >= 6
    versions = {d.parent.name: json.loads(d.read_text())["format_version"] for d in descriptions}
    assert versions == {name: FORMAT_VERSION for name in versions}
