"""README's model-zoo tables, generated: the architectures spandrel's registry detects (with
their licences) and the zoo's registry entries. ``python tests/zoo/zoo_tables.py`` prints
them; ``--write README.md`` replaces the text between the ``zoo-tables`` markers
(``test_zoo_readme.py`` keeps the README current, in the zoo venv)."""

from __future__ import annotations

import sys
from pathlib import Path

START = "<!-- zoo-tables:start (python tests/zoo/zoo_tables.py --write README.md) -->"
END = "<!-- zoo-tables:end -->"


def markdown() -> str:
    from imgtrans.weights.registry import load_registry
    from imgtrans_zoo.models import spandrel, supported_architectures

    version = spandrel().__version__
    rows = supported_architectures()
    lines = [f"Architectures spandrel {version} detects, in detection order "
             f"({len(rows)}; inpainting and face models are detected but refused):", "",
             "| architecture | licence of its code |", "|---|---|"]
    lines += [f"| {r['name']} | {r['license']} |" for r in rows]
    entries = [s for s in load_registry() if s.plugin == "zoo"]
    lines += ["", f"Registry entries ({len(entries)}; `--weights NAME` downloads and checks the "
              f"published sha256):", "", "| name | model | licence |", "|---|---|---|"]
    lines += [f"| `{s.name}` | {s.description} | {s.license} |" for s in entries]
    return "\n".join(lines) + "\n"


def replaced(text: str, tables: str) -> str:
    """``text`` with the part between the markers replaced by ``tables``."""
    head, rest = text.split(START, 1)
    _, tail = rest.split(END, 1)
    return f"{head}{START}\n{tables}{END}{tail}"


if __name__ == "__main__":
    tables = markdown()
    if len(sys.argv) == 3 and sys.argv[1] == "--write":
        path = Path(sys.argv[2])
        path.write_text(replaced(path.read_text(encoding="utf-8"), tables), encoding="utf-8")
    else:
        sys.stdout.write(tables)
