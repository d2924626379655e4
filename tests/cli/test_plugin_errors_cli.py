"""What the command line shows when a plugin's translator misbehaves: one line by default,
the plugin's own traceback with ``-v``; non-finite output blamed on a network only when
the translator has one."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from imgtrans.cli import app
from imgtrans.plugin import Translator, hookimpl, write_image
from imgtrans.testing import plugin_host, sample_image


class FailsToLoad(Translator):
    name = "failstoload"
    summary = "raises in load"

    @classmethod
    def load(cls, weights, options, device):
        return _build_network_for_test(options)


def _build_network_for_test(options):
    raise ValueError("layer sizes do not add up (raised by the plugin)")


class DividesByZero(Translator):
    """No network: x / 0 gives infinity (0 / 0 NaN)."""

    name = "divzero"
    summary = "arithmetic gone wrong"

    def translate(self, images, context):
        return images / 0.0


class DivergingNetwork(Translator):
    """A network (a 1x1 convolution) whose weights overflow."""

    name = "diverges"
    summary = "a network that overflows"

    @classmethod
    def load(cls, weights, options, device):
        import torch

        self = cls(options, device)
        self.net = torch.nn.Conv2d(3, 3, 1)
        torch.nn.init.constant_(self.net.weight, 1e38)
        return self

    def translate(self, images, context):
        return self.net(images + 1.0) * 1e38


class Plugin:
    @hookimpl
    def register_translators(self, register):
        for cls in (FailsToLoad, DividesByZero, DivergingNetwork):
            register(cls)


@pytest.fixture
def image(tmp_path):
    path = tmp_path / "a.png"
    write_image(path, sample_image(8, 8))
    with plugin_host(Plugin()):
        yield path


def _convert(image, plugin, *flags):
    return CliRunner().invoke(app, [*flags, "convert", str(image), str(image.parent / "out"),
                                    "--plugin", plugin, "--progress", "none"])


def test_load_failure_is_one_line_and_verbose_shows_the_plugins_traceback(image):
    quiet = _convert(image, "failstoload")
    assert quiet.exit_code == 5
    assert "Traceback" not in quiet.output
    assert ("error: translator 'failstoload' failed to load: ValueError: layer sizes do not add "
            "up (raised by the plugin)") in quiet.output
    verbose = _convert(image, "failstoload", "-v")
    assert verbose.exit_code == 5
    assert "Traceback" in verbose.output
    assert "_build_network_for_test" in verbose.output  # the plugin's frame, from __cause__
    assert "direct cause" in verbose.output
    assert verbose.output.rstrip().splitlines()[-1].startswith("error: translator 'failstoload'")


def test_non_finite_output_of_a_translator_without_network_blames_its_arithmetic(image):
    result = _convert(image, "divzero")
    assert result.exit_code == 3
    assert "produced non-finite values (NaN or infinity) on this input; it has no network" in result.output
    assert "network diverge" not in result.output


def test_non_finite_output_of_a_network_blames_weights_or_input(image):
    result = _convert(image, "diverges")
    assert result.exit_code == 3
    assert "its weights or this input make the network diverge" in result.output
