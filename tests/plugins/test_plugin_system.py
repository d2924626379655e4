"""Plugin discovery: built-ins, entry points, failing plugins, restricted and blocked loading."""

from __future__ import annotations

import json
import subprocess
import sys
import tomllib
from dataclasses import dataclass

import pytest

from imgtrans_testenv import ROOT, subprocess_env, write_fake_distribution
from imgtrans.errors import PluginError
from imgtrans.plugins import hookimpl, manager
from imgtrans.translators.base import Capabilities, Translator


def test_builtin_table_matches_pyproject_entry_points():
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text())
    assert pyproject["project"]["entry-points"]["imgtrans"] == manager.BUILTIN_PLUGINS
    wheel_packages = pyproject["tool"]["hatch"]["build"]["targets"]["wheel"]["packages"]
    for name, module in manager.BUILTIN_PLUGINS.items():
        package = module.split(".")[0]
        assert (ROOT / "plugins" / package / "__init__.py").exists(), name
        assert f"plugins/{package}" in wheel_packages


def test_builtins_register_from_checkout():
    host = manager.get_host()
    assert host.records["resize"].status == "ok"
    assert host.records["resize"].source in ("builtin", "checkout")
    assert host.translator_plugin["resize"] == "resize"


def test_builtins_provide_their_own_translator_and_no_commands():
    """What lets the host import built-ins lazily: each provides exactly the translator named
    after its plugin (reserved before import) and adds no CLI command."""
    host = manager.get_host()
    for name in manager.BUILTIN_PLUGINS:
        record = host.records[name]
        assert record.provides == [f"translator:{name}"], record
        assert "register_commands" not in record.hooks


def test_help_does_not_import_builtin_plugins():
    code = ("import sys; from typer.testing import CliRunner; from imgtrans.cli import app; "
            "r = CliRunner().invoke(app, ['--help']); assert r.exit_code == 0, r.output; "
            "print(sorted(m for m in sys.modules if m.startswith('imgtrans_')))")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          env=subprocess_env(IMGTRANS_LOAD_PLUGINS=""), timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "[]"


def test_builtin_translator_name_is_reserved_before_import():
    class Other(Translator):
        name = "srgan"
        summary = "impostor"

    host = manager.PluginHost()
    host.load_all()
    assert "srgan" in host._deferred  # not imported yet
    record = host.register(_plugin_with(Other), name="impostor", source="test")
    assert record.status == "failed" and "already provided by plugin 'srgan'" in record.error
    assert host.get_translator("srgan").summary != "impostor"
    assert host.records["srgan"].status == "ok"


class _Broken:
    @hookimpl
    def register_translators(self, register):
        raise RuntimeError("boom in hook")


def test_plugin_failing_in_hook_is_reported_and_others_work(register_plugin):
    record = register_plugin(_Broken(), "broken")
    assert record.status == "failed" and "boom in hook" in record.error
    assert "resize" in manager.get_host().translators


def test_unknown_translator_names_close_matches_and_failed_plugins(register_plugin):
    register_plugin(_Broken(), "broken")
    with pytest.raises(PluginError) as exc:
        manager.get_translator("resiz")
    assert "did you mean resize" in str(exc.value) and "broken" in str(exc.value)


def _plugin_with(cls):
    class P:
        @hookimpl
        def register_translators(self, register):
            register(cls)

    return P()


def test_duplicate_translator_name_is_refused(register_plugin):
    class Other(Translator):
        name = "resize"
        summary = "impostor"

    record = register_plugin(_plugin_with(Other), "impostor")
    assert record.status == "failed" and "already provided by plugin 'resize'" in record.error
    assert manager.get_translator("resize").summary != "impostor"


def test_bad_translator_class_is_refused(register_plugin):
    class NoName(Translator):
        pass

    assert register_plugin(_plugin_with(NoName), "noname").status == "failed"
    assert register_plugin(_plugin_with(object), "notatranslator").status == "failed"


def test_unregister_removes_translators(register_plugin):
    @dataclass(frozen=True)
    class Opts:
        pass

    class Temp(Translator):
        name = "temp"
        summary = "t"
        capabilities = Capabilities()
        Options = Opts

    register_plugin(_plugin_with(Temp), "temp-plugin")
    assert manager.get_translator("temp") is Temp
    manager.get_host().unregister("temp-plugin")
    with pytest.raises(PluginError):
        manager.get_translator("temp")


# --- real entry points, in subprocesses (a throwaway distribution on PYTHONPATH) ----------

GOOD = """
from imgtrans.plugins import hookimpl
from imgtrans.translators.base import Translator

class Invert(Translator):
    name = "invert"
    summary = "1 - x"
    def translate(self, images, context):
        return 1.0 - images

@hookimpl
def register_translators(register):
    register(Invert)
"""


def _plugins_json(tmp_path, **env):
    environment = subprocess_env(**env)
    environment["PYTHONPATH"] = f"{tmp_path}:{environment['PYTHONPATH']}"
    proc = subprocess.run([sys.executable, "-m", "imgtrans", "plugins", "--json"],
                          capture_output=True, text=True, env=environment, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert "Traceback" not in proc.stderr
    return {r["name"]: r for r in json.loads(proc.stdout)}, proc.stderr


@pytest.fixture
def fake_dists(tmp_path):
    write_fake_distribution(tmp_path, "imgtrans-invert", {"invert": "imgtrans_invert"},
                       {"imgtrans_invert": GOOD})
    write_fake_distribution(tmp_path, "imgtrans-broken", {"broken": "imgtrans_broken"},
                       {"imgtrans_broken": "raise ImportError('missing dependency xyz')\n"})
    return tmp_path


def test_entry_points_are_discovered_and_failures_reported(fake_dists):
    records, stderr = _plugins_json(fake_dists, IMGTRANS_LOAD_PLUGINS="imgtrans-invert,imgtrans-broken")
    assert records["invert"]["status"] == "ok"
    assert records["invert"]["source"] == "entrypoint:imgtrans-invert"
    assert records["invert"]["version"] == "1.2.3"
    assert records["invert"]["provides"] == ["translator:invert"]
    assert records["broken"]["status"] == "failed"
    assert "missing dependency xyz" in records["broken"]["error"]
    assert records["resize"]["status"] == "ok"
    assert "imgtrans-broken" in stderr or "broken" in stderr


def test_load_plugins_restricts_to_named_distributions(fake_dists):
    records, _ = _plugins_json(fake_dists, IMGTRANS_LOAD_PLUGINS="imgtrans-invert")
    assert "invert" in records and "broken" not in records
    records, _ = _plugins_json(fake_dists, IMGTRANS_LOAD_PLUGINS="")
    assert "invert" not in records and "broken" not in records and "resize" in records


def test_all_third_party_load_when_unrestricted(fake_dists):
    env = subprocess_env()
    env.pop("IMGTRANS_LOAD_PLUGINS")
    env["PYTHONPATH"] = f"{fake_dists}:{env['PYTHONPATH']}"
    proc = subprocess.run([sys.executable, "-m", "imgtrans", "plugins", "--json"],
                          capture_output=True, text=True, env=env, timeout=120)
    names = {r["name"] for r in json.loads(proc.stdout)}
    assert {"invert", "broken", "resize"} <= names


def test_disable_blocks_named_plugins(fake_dists):
    records, _ = _plugins_json(fake_dists, IMGTRANS_LOAD_PLUGINS="imgtrans-invert",
                               IMGTRANS_DISABLE_PLUGINS="invert,resize")
    assert records["invert"]["status"] == "blocked"
    assert records["resize"]["status"] == "blocked"


def test_env_plugins_register_modules(fake_dists):
    records, _ = _plugins_json(fake_dists, IMGTRANS_PLUGINS="imgtrans_sketch")
    assert records["imgtrans_sketch"]["source"] == "env"
    assert records["imgtrans_sketch"]["provides"] == ["translator:sketch", "translator:tone"]


def test_listing_plugins_does_not_import_torch():
    code = ("import sys; from typer.testing import CliRunner; from imgtrans.cli import app; "
            "r = CliRunner().invoke(app, ['plugins', '--json']); assert r.exit_code == 0, (r.output, repr(r.exception)); "
            "r = CliRunner().invoke(app, ['--help']); assert r.exit_code == 0, (r.output, repr(r.exception)); "
            "r = CliRunner().invoke(app, ['info', 'sketch']); assert r.exit_code == 0, (r.output, repr(r.exception)); "
            "print('torch' in sys.modules)")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          env=subprocess_env(IMGTRANS_PLUGINS="imgtrans_sketch"), timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "False"
