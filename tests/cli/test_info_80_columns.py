"""``imgtrans info NAME`` reads at 80 columns (issue 24): each option is a block (name, type,
default, allowed values, then its help wrapped under it), never a table column squeezed to
1-3 words a line; the known weights likewise."""

from __future__ import annotations

import json
import subprocess
import sys

from imgtrans_testenv import subprocess_env

SCRIPT = """
import json, sys
from typer.testing import CliRunner
from imgtrans.cli import app
shown = {}
for name in sys.argv[1:]:
    text, data = (CliRunner().invoke(app, ["info", name, *extra]).output for extra in ([], ["--json"]))
    shown[name] = [text, json.loads(data)]
print(json.dumps(shown))
"""
NAMES = ["sdedit", "srgan", "cyclegan", "pix2pix", "layout2im", "zoo", "sketch"]


def _blocks(text: str, options: list[dict]) -> dict[str, list[str]]:
    """Option name -> the lines of its block (its head line and the help lines under it)."""
    lines = text.splitlines()
    found = {}
    for o in options:
        start = next(i for i, line in enumerate(lines) if line.startswith(f"  {o['name']}  "))
        end = start + 1
        while end < len(lines) and lines[end].startswith("      "):
            end += 1
        found[o["name"]] = lines[start:end]
    return found


def test_options_are_readable_blocks_at_80_columns():
    run = subprocess.run([sys.executable, "-c", SCRIPT, *NAMES], capture_output=True, text=True,
                         env=subprocess_env(COLUMNS="80", IMGTRANS_PLUGINS="imgtrans_sketch"), timeout=300)
    assert run.returncode == 0, run.stderr
    checked = 0
    for name, (text, data) in json.loads(run.stdout).items():
        assert data["options"], name
        assert all(len(line) <= 80 for line in text.splitlines()), (name, text)
        sections = text.split("\ntraining options (train --opt key=value)\n")
        for group in ("options", "train_options"):
            if not data[group]:
                continue
            blocks = _blocks(sections[group == "train_options"], data[group])
            for o in data[group]:
                head, *help_lines = blocks[o["name"]]
                assert o["type"] in head or o.get("path"), head
                assert f"default {o['default']!r}" in head, head
                if o["choices"]:
                    assert ", ".join(map(str, o["choices"])) in " ".join(blocks[o["name"]]).replace("\n      ", " ")
                elif o.get("min") is not None and o.get("max") is not None:
                    assert f"{o['min']} to {o['max']}" in head, head
                assert " ".join(" ".join(help_lines).split()) == " ".join(o["help"].split()), (name, o)
                # wrapped, not squeezed: every help line but the last is a real line of words
                for line in help_lines[:-1]:
                    assert len(line.split()) > 3 and len(line) > 50, (name, o["name"], help_lines)
                checked += 1
        for w in data["weights"]:
            assert any(line.startswith(f"  {w['name']}  (") for line in text.splitlines()), w["name"]
    assert checked > 60
