"""Plugin-system hygiene: both name kinds in the environment variables, warnings for unknown
names, blocked translators reported as blocked, command clashes refused, returning hooks noted."""

from __future__ import annotations

import json
import logging
import subprocess
import sys
import textwrap

import pytest
import typer
from typer.testing import CliRunner

from imgtrans_testenv import subprocess_env, write_fake_distribution
from imgtrans.errors import PluginError
from imgtrans.plugins import hookimpl, manager

INVERT = """
from imgtrans.plugin import hookimpl, Translator

class Invert(Translator):
    name = "invert"
    summary = "1 - x"
    def translate(self, images, context):
        return 1.0 - images

@hookimpl
def register_translators(register):
    register(Invert)
"""

OTHER = """
from imgtrans.plugin import hookimpl, Translator

class Mirror(Translator):
    name = "mirror"
    summary = "flip"

@hookimpl
def register_translators(register):
    register(Mirror)
"""


@pytest.fixture
def fake_dists(tmp_path, monkeypatch):
    """Installs, for this process only, distribution ``Imgtrans.Invert`` (plugin ``invert``) and
    ``imgtrans-multi`` (plugin ``flipper`` whose translator is ``mirror``)."""
    for dist, entry_points, modules in (
            ("Imgtrans.Invert", {"invert": "imgtrans_hyg_invert"}, {"imgtrans_hyg_invert": INVERT}),
            ("imgtrans-multi", {"flipper": "imgtrans_hyg_mirror"}, {"imgtrans_hyg_mirror": OTHER})):
        write_fake_distribution(tmp_path, dist, entry_points, modules, version="1.0")
        for module in modules:
            monkeypatch.delitem(sys.modules, module, raising=False)
    monkeypatch.syspath_prepend(str(tmp_path))
    return tmp_path


def _host(monkeypatch, **env):
    for var, value in env.items():
        monkeypatch.setenv(var, value)
    manager.reset()
    return manager.get_host()


def _env_warnings(caplog):
    return [r.getMessage() for r in caplog.records
            if r.levelno == logging.WARNING and r.getMessage().startswith("IMGTRANS_")]


# --- both kinds of name -------------------------------------------------------------------

@pytest.mark.parametrize("name", ["invert", "INVERT", "imgtrans-invert", "imgtrans_invert", "Imgtrans.Invert"])
def test_load_plugins_accepts_plugin_and_distribution_names(fake_dists, monkeypatch, caplog, name):
    host = _host(monkeypatch, IMGTRANS_LOAD_PLUGINS=name)
    assert host.records["invert"].status == "ok"
    assert "flipper" not in host.records
    assert _env_warnings(caplog) == []


@pytest.mark.parametrize("name", ["invert", "imgtrans-invert", "IMGTRANS_INVERT"])
def test_disable_plugins_accepts_plugin_and_distribution_names(fake_dists, monkeypatch, caplog, name):
    host = _host(monkeypatch, IMGTRANS_LOAD_PLUGINS="invert,imgtrans-multi", IMGTRANS_DISABLE_PLUGINS=name)
    assert host.records["invert"].status == "blocked"
    assert host.records["flipper"].status == "ok"
    assert _env_warnings(caplog) == []


def test_disable_plugins_accepts_env_module_names(monkeypatch, caplog):
    host = _host(monkeypatch, IMGTRANS_PLUGINS="imgtrans_sketch", IMGTRANS_DISABLE_PLUGINS="imgtrans-sketch")
    assert host.records["imgtrans_sketch"].status == "blocked"
    assert _env_warnings(caplog) == []


# --- unknown names ------------------------------------------------------------------------

def test_unknown_names_warn_once_per_name_with_close_matches(fake_dists, monkeypatch, caplog):
    host = _host(monkeypatch, IMGTRANS_LOAD_PLUGINS="imgtrans-invrt,invert",
                 IMGTRANS_DISABLE_PLUGINS="resise")
    load, disable = _env_warnings(caplog)
    assert load.startswith("IMGTRANS_LOAD_PLUGINS:") and "'imgtrans-invrt'" in load
    assert "did you mean Imgtrans.Invert" in load and "imgtrans-multi" in load
    assert disable.startswith("IMGTRANS_DISABLE_PLUGINS:") and "'resise'" in disable
    assert "did you mean resize" in disable and "flipper" in disable
    assert host.env_warnings == [load, disable]
    assert host.records["invert"].status == "ok" and host.records["resize"].status == "ok"


def test_disabling_imgtrans_itself_blocks_nothing_and_says_why(monkeypatch, caplog):
    host = _host(monkeypatch, IMGTRANS_DISABLE_PLUGINS="imgtrans")
    assert host.records["resize"].status == "ok"
    (warning,) = _env_warnings(caplog)
    assert "'imgtrans'" in warning and "resize" in warning and "ignored" in warning


def test_unknown_name_warning_shown_once_by_imgtrans_plugins():
    env = subprocess_env(IMGTRANS_DISABLE_PLUGINS="resise", IMGTRANS_LOAD_PLUGINS="nosuchdist")
    proc = subprocess.run([sys.executable, "-m", "imgtrans", "plugins"], capture_output=True,
                          text=True, env=env, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr.count("'resise'") == 1 and proc.stderr.count("'nosuchdist'") == 1
    assert "IMGTRANS_DISABLE_PLUGINS" in proc.stderr and "IMGTRANS_LOAD_PLUGINS" in proc.stderr
    # logged through the command line's handler (level shown), not Python's bare fallback
    assert proc.stderr.count("WARNING") == 2, proc.stderr


# --- blocked translators ------------------------------------------------------------------

def test_blocked_translator_is_reported_as_blocked(monkeypatch):
    _host(monkeypatch, IMGTRANS_DISABLE_PLUGINS="resize")
    with pytest.raises(PluginError) as exc:
        manager.get_translator("resize")
    assert str(exc.value) == ("translator 'resize' is provided by plugin 'resize', "
                              "which is blocked by IMGTRANS_DISABLE_PLUGINS")


def test_unknown_translator_lists_blocked_plugins(fake_dists, monkeypatch):
    _host(monkeypatch, IMGTRANS_LOAD_PLUGINS="imgtrans-multi", IMGTRANS_DISABLE_PLUGINS="flipper")
    with pytest.raises(PluginError) as exc:
        manager.get_translator("mirror")  # plugin and translator names differ
    assert "no translator named 'mirror'" in str(exc.value)
    assert "blocked by IMGTRANS_DISABLE_PLUGINS: flipper" in str(exc.value)


def test_translator_left_out_by_load_plugins_says_so(fake_dists, monkeypatch):
    _host(monkeypatch, IMGTRANS_LOAD_PLUGINS="imgtrans-multi")
    with pytest.raises(PluginError) as exc:
        manager.get_translator("invert")  # plugin named like its translator
    assert str(exc.value) == ("translator 'invert' is provided by plugin 'invert', which "
                              "IMGTRANS_LOAD_PLUGINS leaves out: add it there")
    _host(monkeypatch, IMGTRANS_LOAD_PLUGINS="invert")
    with pytest.raises(PluginError) as exc:
        manager.get_translator("mirror")  # plugin and translator names differ
    assert "no translator named 'mirror'" in str(exc.value)
    assert "plugins IMGTRANS_LOAD_PLUGINS leaves out: flipper" in str(exc.value)


# --- hooks that return values or are misnamed ----------------------------------------------

class _Returning:
    @hookimpl
    def register_translators(self, register):
        return ["a list of classes, by mistake"]

    @hookimpl
    def register_commands(self, app):
        @app.command("returning-cmd")
        def cmd() -> None:
            pass

        return app


def test_hook_returning_a_value_is_noted(register_plugin, caplog):
    record = register_plugin(_Returning(), "returning")
    assert record.status == "ok"
    assert len(record.warnings) == 1 and "register_translators returned a list" in record.warnings[0]
    logged = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert any("returning" in m and "register_translators" in m for m in logged)

    manager.get_host().register_commands(typer.Typer())
    assert record.status == "ok" and "command:returning-cmd" in record.provides
    assert "register_commands returned a Typer" in record.warnings[1]


def test_misnamed_hook_is_noted(register_plugin):
    class Misspelt:
        @hookimpl
        def register_translator(self, register):
            pass

    record = register_plugin(Misspelt(), "misspelt")
    assert record.status == "ok"
    assert "'register_translator' is not an imgtrans hook" in record.warnings[0]


# --- command clashes ------------------------------------------------------------------------

def _builtin_app() -> typer.Typer:
    """A stand-in for the imgtrans CLI: a ``convert`` command and a ``weights`` sub-app."""
    app = typer.Typer()

    @app.command()
    def convert() -> None:
        print("built-in convert")

    weights = typer.Typer()

    @weights.command("list")
    def list_() -> None:
        print("built-in weights list")

    app.add_typer(weights, name="weights")
    return app


def _command_plugin(*names: str, group: str | None = None):
    class P:
        @hookimpl
        def register_commands(self, app):
            for n in names:
                app.command(n)(lambda n=n: print(f"plugin {n}"))
            if group:
                sub = typer.Typer()
                sub.command("x")(lambda: print("plugin group"))
                app.add_typer(sub, name=group)

    return P()


def test_clashing_commands_are_refused_and_builtins_keep_working(register_plugin):
    records = {
        "a-clash": register_plugin(_command_plugin("convert", "a-extra"), "a-clash"),
        "b-group": register_plugin(_command_plugin(group="weights"), "b-group"),
        "c-hello": register_plugin(_command_plugin("hello"), "c-hello"),
        "d-hello": register_plugin(_command_plugin("hello"), "d-hello"),
    }
    app = _builtin_app()
    manager.get_host().register_commands(app)

    assert records["a-clash"].status == "failed"
    assert "command 'convert' clashes with a built-in command" in records["a-clash"].error
    assert records["b-group"].status == "failed" and "'weights'" in records["b-group"].error
    assert records["c-hello"].status == "ok" and records["c-hello"].provides == ["command:hello"]
    assert records["d-hello"].status == "failed"
    assert "a command of plugin 'c-hello'" in records["d-hello"].error

    runner = CliRunner()
    assert runner.invoke(app, ["convert"]).output.strip() == "built-in convert"
    assert runner.invoke(app, ["weights", "list"]).output.strip() == "built-in weights list"
    assert runner.invoke(app, ["hello"]).output.strip() == "plugin hello"
    assert runner.invoke(app, ["a-extra"]).exit_code != 0  # nothing of a failed plugin is added


def test_commands_hook_cannot_remove_builtins_or_fail_others(register_plugin):
    class Vandal:
        @hookimpl
        def register_commands(self, app):
            app.registered_commands.clear()
            raise RuntimeError("oops")

    record = register_plugin(Vandal(), "vandal")
    good = register_plugin(_command_plugin("hello"), "good")
    app = _builtin_app()
    manager.get_host().register_commands(app)
    assert record.status == "failed" and "oops" in record.error
    assert good.status == "ok"
    assert CliRunner().invoke(app, ["convert"]).output.strip() == "built-in convert"


def test_real_cli_refuses_a_plugin_convert_command(tmp_path):
    (tmp_path / "imgtrans_hyg_clash.py").write_text(textwrap.dedent("""
        from imgtrans.plugin import hookimpl

        @hookimpl
        def register_commands(app):
            @app.command()
            def convert():
                print("hijacked")
    """))
    env = subprocess_env(IMGTRANS_PLUGINS="imgtrans_hyg_clash")
    env["PYTHONPATH"] = f"{tmp_path}:{env['PYTHONPATH']}"

    def run(*args):
        return subprocess.run([sys.executable, "-m", "imgtrans", *args], capture_output=True,
                              text=True, env=env, timeout=120)

    proc = run("plugins", "--json")
    assert proc.returncode == 0, proc.stderr
    record = {r["name"]: r for r in json.loads(proc.stdout)}["imgtrans_hyg_clash"]
    assert record["status"] == "failed" and "'convert'" in record["error"]
    assert record["warnings"] == []
    proc = run("convert", "--help")
    assert proc.returncode == 0 and "hijacked" not in proc.stdout and "--plugin" in proc.stdout


def test_plugins_table_lists_warnings(tmp_path):
    (tmp_path / "imgtrans_hyg_ret.py").write_text(textwrap.dedent("""
        from imgtrans.plugin import hookimpl

        @hookimpl
        def register_translators(register):
            return []
    """))
    env = subprocess_env(IMGTRANS_PLUGINS="imgtrans_hyg_ret", COLUMNS="200")
    env["PYTHONPATH"] = f"{tmp_path}:{env['PYTHONPATH']}"
    proc = subprocess.run([sys.executable, "-m", "imgtrans", "plugins"], capture_output=True,
                          text=True, env=env, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert "1 warning" in proc.stdout
    assert "imgtrans_hyg_ret: hook register_translators returned a list" in proc.stdout
