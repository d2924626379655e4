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


@pytest.mark.parametrize("value", ["zoo.span_x4_ch48", "4x-spanx4-ch48", "4xLexicaHAT",
                                   "https://github.com/Phhofm/models/raw/main/4xLexicaHAT/4xLexicaHAT.pth"])
def test_registry_names_aliases_and_urls_name_the_zoo_without_a_download(value):
    from imgtrans.plugins.manager import get_host
    from imgtrans.weights.identify import identify_translator

    host = get_host()
    assert identify_translator(value, host.translators, host.known_weight_specs(), download_ok=False) == "zoo"


def test_real_esrgan_entries_carry_their_published_sha256():
    from imgtrans.weights.registry import load_registry

    specs = {s.name: s for s in load_registry()}
    assert specs["srgan.realesrgan_x4plus"].sha256 == (
        "4fa0d38905f75ac06eb49a7951b426670021be3018265fd191d2125df9d682f1")
    assert sum(1 for s in specs.values() if s.plugin == "srgan" and s.url and s.sha256) == 6
