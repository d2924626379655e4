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


def write_fake_distribution(folder: Path, dist: str, entry_points: dict[str, str],
                            modules: dict[str, str], version: str = "1.2.3") -> None:
    """An installed-looking distribution in ``folder`` (put it on sys.path / PYTHONPATH):
    metadata, ``imgtrans`` entry points, and the modules they name (source text)."""
    import textwrap

    info = folder / f"{dist.replace('-', '_')}-{version}.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {dist}\nVersion: {version}\n")
    lines = "\n".join(f"{k} = {v}" for k, v in entry_points.items())
    (info / "entry_points.txt").write_text(f"[imgtrans]\n{lines}\n")
    for name, source in modules.items():
        (folder / f"{name}.py").write_text(textwrap.dedent(source))
