"""How the layout2im plugin is put together: it uses imgtrans's public plugin API only, its
translator module imports no torch, and training code does not import the translator."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import imgtrans_layout2im
from imgtrans_testenv import subprocess_env

PACKAGE = Path(imgtrans_layout2im.__file__).parent


def _imported(path: Path) -> set[str]:
    names = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module)
    return names


def _python(code: str) -> str:
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          env=subprocess_env(), check=True).stdout.strip()


def test_modules_use_only_the_public_plugin_api():
    for path in sorted(PACKAGE.glob("*.py")):
        internal = {name for name in _imported(path)
                    if (name == "imgtrans" or name.startswith("imgtrans.")) and name != "imgtrans.plugin"}
        assert not internal, f"{path.name} imports {sorted(internal)}"


def test_translator_and_options_import_no_torch():
    out = _python("import sys, imgtrans_layout2im.translator, imgtrans_layout2im.options; "
                  "print(sorted(m for m in sys.modules if m == 'torch' or m in ("
                  "'imgtrans_layout2im.networks', 'imgtrans_layout2im.training', "
                  "'imgtrans_layout2im.loading')))")
    assert out == "[]"


def test_training_and_quality_do_not_import_the_translator():
    out = _python("import sys, imgtrans_layout2im.training, imgtrans_layout2im.quality; "
                  "print('imgtrans_layout2im.translator' in sys.modules)")
    assert out == "False"
