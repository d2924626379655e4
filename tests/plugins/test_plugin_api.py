"""The public plugin API (imgtrans.plugin): complete, torch-free to import, and the only
imgtrans module that built-in plugins use, as it must be for third-party ones."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

import imgtrans.plugin as plugin_api
from imgtrans_testenv import subprocess_env

ROOT = Path(__file__).resolve().parents[2]
PLUGIN_FOLDERS = sorted(p for p in (ROOT / "plugins").iterdir() if p.is_dir() and p.name.startswith("imgtrans_"))
SAMPLE = ROOT / "samples" / "imgtrans-sketch" / "imgtrans_sketch"


def _imports(path: Path) -> list[tuple[str, int]]:
    """Every imported module name in a file, with its line (relative imports excluded)."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found += [(alias.name, node.lineno) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.append((node.module, node.lineno))
    return found


def test_every_exported_name_resolves():
    for name in plugin_api.__all__:
        assert getattr(plugin_api, name) is not None, name
    with pytest.raises(AttributeError):
        plugin_api.not_a_thing  # noqa: B018


@pytest.mark.parametrize("folder", [*PLUGIN_FOLDERS, SAMPLE], ids=lambda p: p.name)
def test_plugins_import_imgtrans_only_through_the_plugin_api(folder):
    offending = [f"{path.relative_to(ROOT)}:{line} imports {module}"
                 for path in sorted(folder.rglob("*.py")) for module, line in _imports(path)
                 if (module == "imgtrans" or module.startswith("imgtrans.")) and module != "imgtrans.plugin"]
    assert not offending, "\n".join(offending)


@pytest.mark.parametrize("folder", PLUGIN_FOLDERS, ids=lambda p: p.name)
def test_training_modules_do_not_import_the_translator_module(folder):
    """No translator <-> training import cycle: training is reached from the translator only."""
    package = folder.name
    for path in sorted(folder.rglob("*.py")):
        if "train" not in path.stem:
            continue
        modules = {m for m, _ in _imports(path)}
        assert f"{package}.translator" not in modules, path


def test_importing_the_api_and_every_builtin_entry_point_stays_torch_free():
    from imgtrans.plugins.manager import BUILTIN_PLUGINS

    modules = ["imgtrans.plugin", *BUILTIN_PLUGINS.values()]
    code = ("import importlib, sys\n"
            f"for m in {modules!r}: importlib.import_module(m)\n"
            "from imgtrans.plugin import Translator, WeightSpec, TrainingTask, hookimpl, read_checkpoint\n"
            "print(sorted(m for m in sys.modules if m == 'torch' or m.startswith('torch.'))[:3])")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          env=subprocess_env(), timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"


def test_fast_scope_imports_without_torch_and_autocasts_when_called():
    """Translator modules may import fast_scope at the top with the rest of the API (listing
    plugins imports them all): torch comes with the first call, in a running translator."""
    code = ("import sys\n"
            "from imgtrans.plugin import fast_scope\n"
            "print(sorted(m for m in sys.modules if m == 'torch' or m.startswith('torch.'))[:3])")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          env=subprocess_env(), timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"

    import torch

    fast = plugin_api.TranslateContext(device=torch.device("cpu"), precision=torch.bfloat16)
    with plugin_api.fast_scope(fast):
        assert torch.is_autocast_enabled("cpu")
        assert torch.get_autocast_dtype("cpu") == torch.bfloat16
    with plugin_api.fast_scope(plugin_api.TranslateContext(device=torch.device("cpu"))):
        assert not torch.is_autocast_enabled("cpu")  # exact: the scope does nothing


def test_each_builtin_keeps_its_options_in_a_torch_free_module():
    for folder in PLUGIN_FOLDERS:
        options = folder / "options.py"
        if folder.name == "imgtrans_resize":
            continue  # one small torch-free module holds everything
        assert options.is_file(), f"{folder.name} has no options.py"
        heavy = [m for m, _ in _imports(options) if m.split(".")[0] in ("torch", "kornia", "diffusers")]
        assert not heavy, f"{options} imports {heavy}"


def test_old_import_paths_keep_working():
    from imgtrans.plugins import hookimpl
    from imgtrans.training.checkpoint import load_network_state, resolve_checkpoint  # noqa: F401
    from imgtrans.translators.base import Translator, WeightSpec

    assert hookimpl is plugin_api.hookimpl
    assert Translator is plugin_api.Translator and WeightSpec is plugin_api.WeightSpec


def test_weight_spec_reads_its_translator_off_the_name():
    spec = plugin_api.WeightSpec("tone.warm", file="weights/w")
    assert spec.plugin == "tone" and spec.tag == "warm"
    assert plugin_api.WeightSpec("tone.warm", "tone").plugin == "tone"  # positional, as in 0.1
    with pytest.raises(ValueError, match="must start with its translator"):
        plugin_api.WeightSpec("tone.warm", plugin="sketch")
