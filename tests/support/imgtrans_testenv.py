"""Paths and subprocess environment shared by tests (a plain module, so tests can import it
by name; conftest modules cannot be imported reliably)."""

from __future__ import annotations

import os
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SKETCH_DIR = ROOT / "samples" / "imgtrans-sketch"
SUPPORT_DIR = ROOT / "tests" / "support"
IMPORT_PATHS = (ROOT, ROOT / "plugins", SKETCH_DIR, SUPPORT_DIR)


def subprocess_env(**extra: str) -> dict[str, str]:
    """Environment for running ``python -m imgtrans`` from this checkout."""
    env = dict(os.environ)
    paths = [str(p) for p in IMPORT_PATHS]
    env["PYTHONPATH"] = os.pathsep.join(paths + [env.get("PYTHONPATH", "")])
    env.update(extra)
    return env
