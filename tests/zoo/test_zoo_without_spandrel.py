"""Without spandrel (the main venv, or spandrel blocked here): the zoo translator is listed,
its module imports neither torch nor spandrel, and a file no translator knows gets the
install hint. Runs in every environment."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest
import torch
from typer.testing import CliRunner

from imgtrans.cli import app
from imgtrans.weights import save_state_dict


def test_the_translator_module_imports_neither_torch_nor_spandrel():
    code = ("import sys, imgtrans_zoo.translator as t; "
            "assert t.ZooTranslator.fallback and t.ZooTranslator.name == 'zoo'; "
            "print(sorted(m for m in ('torch', 'spandrel') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_an_unknown_file_without_spandrel_names_the_extra(tmp_path, monkeypatch):
    import cv2

    from imgtrans_zoo import models

    monkeypatch.setitem(sys.modules, "spandrel", None)  # "import spandrel" raises ImportError
    models.registry.cache_clear()
    weights = save_state_dict({"conv_1.sk.weight": torch.zeros(48, 3, 1, 1)}, tmp_path / "x.safetensors")
    cv2.imwrite(str(tmp_path / "in.png"), np.zeros((8, 8, 3), np.uint8))
    result = CliRunner().invoke(app, ["convert", str(tmp_path / "in.png"), str(tmp_path / "out"),
                                      "--weights", str(weights)])
    assert result.exit_code == 5, result.output
    text = " ".join(result.output.split())
    assert "no installed translator recognises" in text and "pip install 'imgtrans[zoo]'" in text
    result = CliRunner().invoke(app, ["convert", str(tmp_path / "in.png"), str(tmp_path / "out"),
                                      "--plugin", "zoo", "--weights", str(weights)])
    assert result.exit_code == 5 and "pip install 'imgtrans[zoo]'" in " ".join(result.output.split())
    assert not (tmp_path / "out").exists() or not any((tmp_path / "out").iterdir())
    models.registry.cache_clear()


@pytest.mark.parametrize("text, name", [
    ("                                 Apache License\n Version 2.0, January 2004", "Apache-2.0"),
    ("MIT License\n\nCopyright (c) 2024", "MIT"),
    ("## ACADEMIC PUBLIC LICENSE\n### Permissions", "Academic Public License (non-commercial)"),
    ("Attribution-NonCommercial-ShareAlike 4.0 International", "CC-BY-NC-SA-4.0 (non-commercial)"),
    ("Creative Commons Legal Code\n\nCC0 1.0 Universal", "CC0-1.0"),
])
def test_licence_files_are_named(text, name):
    from imgtrans_zoo.models import classify_licence

    assert classify_licence(text) == name
