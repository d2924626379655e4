"""The plugin tutorial shows only code that exists: every Python and TOML block of
``docs/writing-a-plugin.md`` names a file of the sample package and appears in it verbatim,
so the tutorial cannot drift from code that is tested.

A block names its file in its first line (``# imgtrans_sketch/tone.py``, not part of the
compared text) or in an HTML comment on the line before the fence
(``<!-- file: imgtrans_sketch/weights/tone_warm/imgtrans.json -->``), for languages without
``#`` comments. Paths are relative to ``samples/imgtrans-sketch``.
"""

from __future__ import annotations

import ast
import re
import textwrap
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
TUTORIAL = ROOT / "docs" / "writing-a-plugin.md"
SAMPLE = ROOT / "samples" / "imgtrans-sketch"
MUST_BE_MARKED = {"python", "py", "toml"}
FENCE = re.compile(r"^(`{3,}|~{3,})\s*([\w+-]*)\s*$")
FIRST_LINE_MARKER = re.compile(r"^#\s+([\w./-]+\.\w+)\s*$")
COMMENT_MARKER = re.compile(r"^<!--\s*file:\s*([\w./-]+)\s*-->$")
LINK = re.compile(r"\]\((?!https?:|#)([^)\s]+)\)")


@dataclass(frozen=True)
class Block:
    line: int  # of the opening fence, 1-based
    lang: str
    text: str  # without the marker line
    file: str | None


def parse_blocks(markdown: str) -> list[Block]:
    """Fenced code blocks with the file each one names (None when unmarked)."""
    lines = markdown.splitlines()
    blocks: list[Block] = []
    i = 0
    while i < len(lines):
        opening = FENCE.match(lines[i])
        if not opening:
            i += 1
            continue
        fence, lang = opening.groups()
        end = next((j for j in range(i + 1, len(lines)) if lines[j].strip() == fence), None)
        assert end is not None, f"line {i + 1}: code block never closed"
        body = lines[i + 1:end]
        before = lines[i - 1].strip() if i > 0 else ""
        file = None
        if COMMENT_MARKER.match(before):
            file = COMMENT_MARKER.match(before).group(1)
        elif body and FIRST_LINE_MARKER.match(body[0]):
            file = FIRST_LINE_MARKER.match(body[0]).group(1)
            body = body[1:]
        blocks.append(Block(i + 1, lang.lower(), "\n".join(body), file))
        i = end + 1
    return blocks


BLOCKS = parse_blocks(TUTORIAL.read_text(encoding="utf-8"))
MARKED = [b for b in BLOCKS if b.file]


def test_every_python_and_toml_block_names_its_file():
    unmarked = [f"line {b.line} ({b.lang})" for b in BLOCKS
                if b.lang in MUST_BE_MARKED and not b.file]
    assert not unmarked, f"blocks without a '# <file>' first line: {', '.join(unmarked)}"


def test_the_tutorial_covers_the_sample():
    """Guards the other tests against passing on nothing (a parser that finds no blocks)."""
    files = {b.file for b in MARKED}
    assert {"pyproject.toml", "imgtrans_sketch/__init__.py", "imgtrans_sketch/sketch.py",
            "imgtrans_sketch/tone.py", "imgtrans_sketch/tone_training.py", "tests/conftest.py",
            "tests/test_imgtrans_sketch.py"} <= files


PUBLIC = {"imgtrans", "imgtrans.plugin", "imgtrans.testing"}


def test_blocks_use_only_public_imgtrans_modules():
    """What the tutorial shows, a plugin author copies: no imgtrans internals (the plugin
    host's manager, core modules...), only the plugin API, the test helpers and the API."""
    found = set()
    for block in (b for b in MARKED if b.lang == "python"):
        for node in ast.walk(ast.parse(textwrap.dedent(block.text))):  # methods: indented
            if isinstance(node, ast.ImportFrom) and node.module:
                found.add((node.module, block.line))
            elif isinstance(node, ast.Import):
                found.update((alias.name, block.line) for alias in node.names)
    internal = sorted(f"line {line}: {m}" for m, line in found
                      if m.split(".")[0] == "imgtrans" and m not in PUBLIC)
    assert not internal, internal
    assert {m for m, _ in found} >= {"imgtrans.plugin", "imgtrans.testing"}


def test_documented_test_helpers_exist_and_every_one_is_documented():
    import imgtrans.testing as testing

    text = TUTORIAL.read_text(encoding="utf-8")
    functions = [n for n in testing.__all__ if callable(getattr(testing, n)) and n[0].islower()]
    assert functions, "imgtrans.testing exports no functions"
    assert [n for n in functions if f"`{n}(" not in text] == []
    mentioned = set(re.findall(r"`imgtrans\.testing\.(\w+)`", text))
    assert mentioned <= set(testing.__all__), mentioned - set(testing.__all__)


def test_translator_references_in_the_tutorial_name_translators(monkeypatch):
    """``register("module:Class")`` references are strings: nothing else checks them."""
    from imgtrans.plugin import Translator
    from imgtrans.plugins.references import import_reference

    monkeypatch.syspath_prepend(str(SAMPLE))
    references = [r for b in MARKED for r in re.findall(r'register\("([\w.]+:[\w.]+)"\)', b.text)]
    assert len(references) >= 2, references
    for reference in references:
        cls = import_reference(reference)
        assert isinstance(cls, type) and issubclass(cls, Translator), reference


@pytest.mark.parametrize("block", MARKED, ids=lambda b: f"line{b.line}-{b.file}")
def test_block_is_verbatim_in_its_file(block):
    path = SAMPLE / block.file
    assert path.is_file(), f"line {block.line}: {block.file} does not exist in {SAMPLE}"
    assert block.text.strip(), f"line {block.line}: empty block"
    source = "\n" + path.read_text(encoding="utf-8") + "\n"
    assert "\n" + block.text + "\n" in source, (
        f"docs/writing-a-plugin.md line {block.line}: this block is not, as whole lines, in "
        f"{block.file}; copy it again from the file")


def test_relative_links_exist():
    text = TUTORIAL.read_text(encoding="utf-8")
    missing = [target for target in LINK.findall(text)
               if not (TUTORIAL.parent / target.split("#")[0]).exists()]
    assert not missing, missing


def test_parser_reads_both_markers():
    markdown = ("```python\n# a.py\nx = 1\n```\n\n<!-- file: b.json -->\n```json\n{}\n```\n"
                "```bash\n# not a marker\necho\n```\n")
    blocks = parse_blocks(markdown)
    assert [(b.lang, b.file, b.text) for b in blocks] == [
        ("python", "a.py", "x = 1"), ("json", "b.json", "{}"),
        ("bash", None, "# not a marker\necho")]
