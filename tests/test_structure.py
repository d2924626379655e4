"""DESIGN.md: "files stay short (split a module past ~400 lines by responsibility)". Every
``.py`` file of the package and of the built-in plugins stays at or under the limit; the
source is only read, never imported."""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CHECKED = ("imgtrans", "plugins")
MAX_LINES = 400


def _too_long(root: Path, folders=CHECKED, limit: int = MAX_LINES) -> list[str]:
    """``"path: N lines"`` for each ``.py`` file under ``folders`` of ``root`` past ``limit``."""
    found = []
    for folder in folders:
        for path in sorted((root / folder).rglob("*.py")):
            lines = len(path.read_text(encoding="utf-8").splitlines())
            if lines > limit:
                found.append(f"{path.relative_to(root).as_posix()}: {lines} lines")
    return found


def test_no_module_over_400_lines():
    assert (ROOT / "imgtrans" / "__init__.py").is_file()
    too_long = _too_long(ROOT)
    assert not too_long, (f"split by responsibility (DESIGN.md), at most {MAX_LINES} lines: "
                          + "; ".join(too_long))


def test_the_check_sees_long_files(tmp_path):
    (tmp_path / "imgtrans").mkdir()
    (tmp_path / "imgtrans" / "short.py").write_text("x = 1\n" * MAX_LINES, encoding="utf-8")
    (tmp_path / "plugins" / "p").mkdir(parents=True)
    (tmp_path / "plugins" / "p" / "long.py").write_text("x = 1\n" * (MAX_LINES + 1), encoding="utf-8")
    assert _too_long(tmp_path) == [f"plugins/p/long.py: {MAX_LINES + 1} lines"]
