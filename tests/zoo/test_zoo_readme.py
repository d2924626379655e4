"""README's model-zoo tables are generated from spandrel's registry and the weights registry
(``python tests/zoo/zoo_tables.py --write README.md``); the registry's zoo entries carry what
the issue asks for."""

from __future__ import annotations

from pathlib import Path

from zoo_models import needs_spandrel

needs_spandrel()

from imgtrans.weights.registry import load_registry  # noqa: E402
from zoo_tables import END, START, markdown  # noqa: E402

README = Path(__file__).resolve().parents[2] / "README.md"


def test_readme_tables_are_current():
    text = README.read_text(encoding="utf-8")
    assert START in text and END in text
    assert text.split(START, 1)[1].split(END, 1)[0].strip() == markdown().strip(), (
        "README's zoo tables are stale: python tests/zoo/zoo_tables.py --write README.md")


def test_zoo_registry_entries_have_url_published_sha256_and_a_permissive_licence():
    entries = [s for s in load_registry() if s.plugin == "zoo"]
    assert len(entries) >= 15
    for spec in entries:
        assert spec.url and spec.url.startswith("https://") and len(spec.sha256 or "") == 64
        assert spec.license in ("Apache-2.0", "MIT", "BSD-3-Clause", "CC0-1.0", "CC-BY-4.0"), spec
    described = " ".join(s.description for s in entries)
    for arch in ("SwinIR", "HAT", "DAT", "SPAN", "RealPLKSR", "OmniSR"):
        assert f"{arch} " in described
