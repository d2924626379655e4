"""Translators registered by reference (``register("module:Class")``): imported on first
lookup, one at a time, so a broken module takes down only its own translator, and is
reported with its plugin, its distribution and the error."""

from __future__ import annotations

import importlib
import json
import sys
import textwrap

import pytest
from typer.testing import CliRunner

import imgtrans
from imgtrans.errors import PluginError
from imgtrans.plugin import hookimpl
from imgtrans.plugins import manager
from imgtrans.testing import plugin_host, sample_image
from imgtrans_testenv import write_fake_distribution

PACKAGE = "imgtrans_refdemo"
HOOKS = f'''
from imgtrans.plugin import hookimpl

@hookimpl
def register_translators(register):
    register("{PACKAGE}.good:Good")
    register("{PACKAGE}.bad:Bad")
'''
GOOD = '''
from imgtrans.plugin import Translator

class Good(Translator):
    name = "good"
    summary = "1 - x"

    def translate(self, images, context):
        return 1.0 - images
'''
BAD = '''
from imgtrans.plugin import Translator

class Bad(Translator)
    name = "bad"
'''


@pytest.fixture
def refdemo(tmp_path, monkeypatch):
    """An installed-looking distribution ``imgtrans-refdemo`` whose plugin registers two
    translators by reference; ``bad.py`` has a syntax error."""
    write_fake_distribution(tmp_path, "imgtrans-refdemo", {"refdemo": PACKAGE}, {})
    package = tmp_path / PACKAGE
    package.mkdir()
    for name, source in {"__init__": HOOKS, "good": GOOD, "bad": BAD}.items():
        (package / f"{name}.py").write_text(textwrap.dedent(source))
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setenv("IMGTRANS_LOAD_PLUGINS", "imgtrans-refdemo")
    importlib.invalidate_caches()
    yield package
    for module in [m for m in sys.modules if m.split(".")[0] == PACKAGE]:
        del sys.modules[module]


def test_a_broken_module_fails_only_its_translator(refdemo):
    host = manager.get_host()
    assert f"{PACKAGE}.good" not in sys.modules  # loading plugins imports no translator module
    assert "good" in host.translators  # the first lookup imports them
    record = host.records["refdemo"]
    assert record.status == "partial" and record.provides == ["translator:good"]
    assert f"{PACKAGE}.bad:Bad: SyntaxError: " in record.error and "bad.py, line 4" in record.error
    image = sample_image(8, 8)
    assert (imgtrans.load("good", device="cpu")(image) == 255 - image).all()


def test_looking_up_the_broken_translator_names_plugin_distribution_and_cause(refdemo):
    with pytest.raises(PluginError) as caught:
        manager.get_translator("bad")
    message = str(caught.value)
    assert (f"translators that failed: {PACKAGE}.bad:Bad (plugin refdemo, "
            "entrypoint:imgtrans-refdemo): SyntaxError: ") in message
    assert isinstance(caught.value.__cause__, SyntaxError)  # for -v's traceback


def test_plugins_lists_the_plugin_as_partial(refdemo):
    result = CliRunner().invoke(imgtrans_cli_app(), ["plugins", "--json"])
    assert result.exit_code == 0, result.output
    (record,) = [r for r in json.loads(result.stdout) if r["name"] == "refdemo"]
    assert record["status"] == "partial" and record["provides"] == ["translator:good"]
    assert record["source"] == "entrypoint:imgtrans-refdemo" and "SyntaxError" in record["error"]
    table = CliRunner().invoke(imgtrans_cli_app(), ["plugins"])
    assert table.exit_code == 0 and "partial" in table.stdout


def imgtrans_cli_app():
    from imgtrans.cli import app

    return app


def test_verbose_convert_shows_the_syntax_error(refdemo, tmp_path):
    from imgtrans.plugin import write_image

    write_image(tmp_path / "a.png", sample_image(8, 8))
    args = ["convert", str(tmp_path / "a.png"), str(tmp_path / "out.png"), "--plugin", "bad"]
    quiet = CliRunner().invoke(imgtrans_cli_app(), args)
    assert quiet.exit_code == 5 and "Traceback" not in quiet.output
    assert f"{PACKAGE}.bad:Bad (plugin refdemo, entrypoint:imgtrans-refdemo)" in quiet.output
    verbose = CliRunner().invoke(imgtrans_cli_app(), ["-v", *args])
    assert verbose.exit_code == 5
    assert "Traceback" in verbose.output and "SyntaxError" in verbose.output
    assert "class Bad(Translator)" in verbose.output  # the offending line, from the plugin's file


class _Plugin:
    def __init__(self, *references):
        self.references = references

    @hookimpl
    def register_translators(self, register):
        for reference in self.references:
            register(reference)


def test_a_plugin_with_only_broken_references_has_failed():
    with plugin_host() as host:
        host.register(_Plugin("no_such_module_xyz:Thing"), name="nothing")
        assert "nothing" not in host.translator_plugin.values()
        record = host.records["nothing"]
        assert record.status == "failed"
        assert "ModuleNotFoundError: No module named 'no_such_module_xyz'" in record.error


def test_references_that_name_no_translator_are_reported():
    with plugin_host() as host:
        host.register(_Plugin("imgtrans.errors:PluginError", "imgtrans.errors:Nope",
                              "imgtrans_testplugins:NoiseTranslator"), name="odd")
        assert host.translator_plugin["noise"] == "odd"
        record = host.records["odd"]
        assert record.status == "partial"
        assert "is not a Translator subclass" in record.error
        assert "module 'imgtrans.errors' has no attribute 'Nope'" in record.error


def test_a_reference_that_clashes_with_another_plugins_translator():
    with plugin_host() as host:
        host.register(_Plugin("imgtrans_testplugins:NoiseTranslator"), name="first")
        host.register(_Plugin("imgtrans_testplugins:NoiseTranslator"), name="second")
        assert host.translator_plugin["noise"] == "first"
        assert "already provided by plugin 'first'" in host.records["second"].error


def test_a_malformed_reference_fails_the_hook():
    with plugin_host() as host:
        record = host.register(_Plugin("imgtrans_testplugins.NoiseTranslator"), name="malformed")
        assert record.status == "failed"
        assert "must read 'package.module:ClassName'" in record.error


def test_unregister_forgets_broken_references():
    with plugin_host() as host:
        host.register(_Plugin("no_such_module_xyz:Thing"), name="gone")
        host.load_builtins()
        assert host.broken
        host.unregister("gone")
        assert not host.broken and "gone" not in host.records


def test_plugin_host_refuses_a_plugin_under_test_with_a_broken_reference():
    with pytest.raises(PluginError, match="no_such_module_xyz"):
        with plugin_host(_Plugin("imgtrans_testplugins:NoiseTranslator", "no_such_module_xyz:Thing")):
            pass
