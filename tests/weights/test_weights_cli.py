import importlib.util
import json

import pytest

if importlib.util.find_spec("imgtrans.plugins.manager") is None:
    pytest.skip("imgtrans.plugins.manager (known_weight_specs) is not written yet",
                allow_module_level=True)

from typer.testing import CliRunner  # noqa: E402

from imgtrans.cli.weights import weights_app  # noqa: E402
from imgtrans.translators.base import WeightSpec  # noqa: E402
from imgtrans.weights.cache import cache_path_for  # noqa: E402

runner = CliRunner()


def flat(text: str) -> str:
    """Rich wraps at 80 columns outside a terminal; compare with whitespace collapsed."""
    return " ".join(text.split())


@pytest.fixture
def specs(http_server, monkeypatch):
    url, sha = http_server.add("/w/facades.pth", b"facades weights")
    known = [
        WeightSpec("pix2pix.facades", "pix2pix", url=url, sha256=sha, default=True,
                   license="BSD", description="labels [to] photos"),
        WeightSpec("cyclegan.gone", "cyclegan", url=http_server.base + "/w/gone.pth"),
    ]
    monkeypatch.setattr("imgtrans.plugins.manager.known_weight_specs", lambda: known)
    return known


def test_list_table_and_json(specs, monkeypatch):
    monkeypatch.setenv("COLUMNS", "140")
    result = runner.invoke(weights_app, ["list"])
    assert result.exit_code == 0, result.output
    assert "pix2pix.facades" in result.stdout and "labels [to]" in result.stdout
    result = runner.invoke(weights_app, ["list", "--json", "--plugin", "pix2pix"])
    rows = json.loads(result.stdout)
    assert [r["name"] for r in rows] == ["pix2pix.facades"]
    assert rows[0]["cached"] is False and rows[0]["license"] == "BSD"


def test_list_fits_80_columns_without_breaking_names(monkeypatch):
    """The real registry: every name whole on one line, no line over 80 columns."""
    from imgtrans.plugins.manager import known_weight_specs

    monkeypatch.setenv("COLUMNS", "80")
    result = runner.invoke(weights_app, ["list"])
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert max(len(line) for line in lines) <= 80
    for spec in known_weight_specs():
        assert any(spec.name in line.split() for line in lines), spec.name
    names = runner.invoke(weights_app, ["list", "--names", "--plugin", "srgan"]).stdout.split()
    assert names and all(n.startswith("srgan.") for n in names)


def test_verify_reports_corrupt_cached_weights(specs, http_server):
    assert runner.invoke(weights_app, ["fetch", "pix2pix.facades"]).exit_code == 0
    result = runner.invoke(weights_app, ["verify"])
    assert result.exit_code == 0 and "pix2pix.facades  ok" in result.stdout
    from imgtrans.weights.cache import cache_path_for

    cache_path_for(specs[0].url).write_bytes(b"tampered")
    result = runner.invoke(weights_app, ["verify", "pix2pix.facades"])
    assert result.exit_code == 5 and "corrupt" in result.stdout


def test_list_empty_filter(specs):
    result = runner.invoke(weights_app, ["list", "--plugin", "nothing"])
    assert result.exit_code == 0 and result.stdout == ""


def test_fetch_then_path(specs, http_server):
    result = runner.invoke(weights_app, ["path", "pix2pix.facades"])
    assert result.exit_code == 5 and "not downloaded yet" in flat(result.stderr)
    result = runner.invoke(weights_app, ["fetch", "pix2pix"])
    assert result.exit_code == 0, result.output
    target = cache_path_for(specs[0].url)
    assert result.stdout.strip() == str(target) and target.read_bytes() == b"facades weights"
    result = runner.invoke(weights_app, ["path", "pix2pix.facades"])
    assert result.exit_code == 0 and result.stdout.strip() == str(target)
    assert json.loads(runner.invoke(weights_app, ["list", "--json"]).stdout)[1]["cached"] is True
    assert http_server.requests == ["/w/facades.pth"]


def test_fetch_reports_each_failure_and_exits_5(specs):
    result = runner.invoke(weights_app, ["fetch", "nope", "cyclegan.gone", "pix2pix.facades"])
    assert result.exit_code == 5
    stderr = flat(result.stderr)
    assert "'nope' is not a known weights name" in stderr
    assert "HTTP 404" in stderr and "place it at" in stderr
    assert result.stdout.strip() == str(cache_path_for(specs[0].url))


def test_fetch_url(http_server, specs):
    url, _ = http_server.add("/w/raw.pth", b"raw")
    result = runner.invoke(weights_app, ["fetch", url])
    assert result.exit_code == 0, result.output
    assert result.stdout.strip() == str(cache_path_for(url))
