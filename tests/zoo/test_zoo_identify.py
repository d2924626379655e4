"""Which translator a file goes to (srgan keeps its families, the zoo is the fallback), what
``imgtrans info`` shows for zoo weights, and bad files: one line each, exit 5, nothing
written."""

from __future__ import annotations

import json

import cv2
import numpy as np
import pytest
from typer.testing import CliRunner

from zoo_models import needs_spandrel

needs_spandrel()

import torch  # noqa: E402
from zoo_models import build, save, spandrel_output  # noqa: E402

import imgtrans  # noqa: E402
from imgtrans.api import weights_info  # noqa: E402
from imgtrans.cli import app  # noqa: E402

pytestmark = pytest.mark.filterwarnings("ignore::UserWarning")


def run(*args):
    return CliRunner().invoke(app, [str(a) for a in args])


@pytest.fixture
def image(tmp_path):
    path = tmp_path / "in.png"
    cv2.imwrite(str(path), np.random.default_rng(0).integers(0, 256, (20, 16, 3), dtype=np.uint8))
    return path


def _compact(tmp_path):
    from spandrel.architectures.Compact import Compact as SRVGGNetCompact

    torch.manual_seed(0)
    return save(SRVGGNetCompact(num_in_ch=3, num_out_ch=3, num_feat=16, num_conv=4, upscale=4,
                                act_type="prelu").eval(), tmp_path, "compact", "pth")


def _esrgan(tmp_path, scale):
    from spandrel.architectures.ESRGAN import ESRGAN as RRDBNet

    torch.manual_seed(0)
    return save(RRDBNet(in_nc=3, out_nc=3, num_filters=16, num_blocks=1, scale=scale).eval(),
                tmp_path, f"esrgan_x{scale}", "pth")


def test_srgan_keeps_its_families_and_the_zoo_takes_what_srgan_refuses(tmp_path, image):
    assert imgtrans.api.translator_for_weights(_compact(tmp_path)) == "srgan"
    assert imgtrans.api.translator_for_weights(_esrgan(tmp_path, 4)) == "srgan"
    x8 = _esrgan(tmp_path, 8)  # three upsampling stages: srgan does not load them, spandrel does
    assert imgtrans.api.translator_for_weights(x8) == "zoo"
    assert run("convert", image, tmp_path / "out", "--weights", x8).exit_code == 0
    rgb = cv2.cvtColor(cv2.imread(str(image)), cv2.COLOR_BGR2RGB)
    out = cv2.cvtColor(cv2.imread(str(tmp_path / "out" / "in.png")), cv2.COLOR_BGR2RGB)
    assert np.abs(out.astype(int) - spandrel_output(x8, rgb).astype(int)).max() <= 1


def test_plugin_zoo_runs_an_srgan_family_through_spandrel_like_srgan(tmp_path, image):
    weights = _compact(tmp_path)
    for plugin in ("srgan", "zoo"):
        result = run("convert", image, tmp_path / plugin, "--plugin", plugin, "--weights", weights)
        assert result.exit_code == 0, result.output
    srgan, zoo = (cv2.imread(str(tmp_path / p / "in.png")).astype(int) for p in ("srgan", "zoo"))
    assert np.abs(srgan - zoo).max() <= 1


def test_info_shows_architecture_scale_channels_size_requirements_and_licence(tmp_path):
    weights = save(build("safmn_x2")[0], tmp_path, "safmn", "safetensors")
    result = run("info", weights)
    assert result.exit_code == 0, result.output
    for line in ("zoo weights", "architecture: SAFMN", "scale: 2", "input_channels: 3",
                 "size_requirements: minimum 0, multiple_of 8, square False", "license: Apache-2.0",
                 "tiling: supported", "supports_bfloat16: True"):
        assert line in result.output, result.output
    data = weights_info(str(weights))
    assert data["translator"] == "zoo" and data["model"]["size_requirements"]["multiple_of"] == 8


def test_info_of_a_registry_entry_needs_no_download():
    result = run("info", "zoo.span_x4_ch48", "--json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data["loaded"] is False and data["registry"]["license"] == "Apache-2.0"
    assert len(data["registry"]["sha256"]) == 64


def _refused(tmp_path, image, weights, *phrases):
    result = run("convert", image, tmp_path / "out", "--weights", weights)
    assert result.exit_code == 5, result.output
    message = result.output.strip()
    assert "Traceback" not in message and len(message.splitlines()) <= 2, message  # one line (maybe wrapped once)
    for phrase in phrases:
        assert phrase in " ".join(message.split()), message
    assert not (tmp_path / "out").exists() or not any((tmp_path / "out").iterdir())


def test_bad_files_are_one_line_and_exit_5(tmp_path, image):
    good = save(build("span_x4")[0], tmp_path, "span", "pth")
    truncated = tmp_path / "truncated.pth"
    truncated.write_bytes(good.read_bytes()[: good.stat().st_size // 2])
    _refused(tmp_path, image, truncated, "truncated.pth")
    sd = torch.load(good, weights_only=True)
    sd["conv_1.sk.weight"] = torch.zeros(7, 3, 1, 1)  # detected as SPAN, but the shapes do not fit
    torch.save(sd, tmp_path / "wrong.pth")
    _refused(tmp_path, image, tmp_path / "wrong.pth", "look like SPAN weights", "do not fit")
    torch.save({"mystery.weight": torch.zeros(3, 3)}, tmp_path / "unknown.pth")
    _refused(tmp_path, image, tmp_path / "unknown.pth", "no installed translator recognises")


def _fake_registry(monkeypatch, descriptor_for):
    """spandrel's registry with one more architecture, detected by the key ``fake.weight``."""
    import spandrel

    from imgtrans_zoo import models

    class Fake(spandrel.Architecture):
        def __init__(self):
            super().__init__(id="Fake", name="FakeNet", detect=lambda sd: "fake.weight" in sd)

        def load(self, state_dict):
            return descriptor_for(self, state_dict)

    registry = spandrel.MAIN_REGISTRY.copy()
    registry.add(spandrel.ArchSupport.from_architecture(Fake()))
    monkeypatch.setattr(models, "registry", lambda: registry)


def test_inpainting_and_face_models_are_refused_in_one_line(tmp_path, image, monkeypatch):
    import spandrel

    net = torch.nn.Conv2d(3, 3, 1)

    def inpainting(arch, sd):
        return spandrel.MaskedImageModelDescriptor(net, net.state_dict(), arch, purpose="Inpainting", tags=[],
                                                   supports_half=True, supports_bfloat16=True,
                                                   input_channels=3, output_channels=3)

    def face(arch, sd):
        return spandrel.ImageModelDescriptor(net, net.state_dict(), arch, purpose="FaceSR", tags=[],
                                             supports_half=True, supports_bfloat16=True, scale=1,
                                             input_channels=3, output_channels=3)

    torch.save({"fake.weight": torch.zeros(1)}, tmp_path / "fake.pth")
    _fake_registry(monkeypatch, inpainting)
    _refused(tmp_path, image, tmp_path / "fake.pth", "FakeNet inpainting model", "needs a mask")
    _fake_registry(monkeypatch, face)
    _refused(tmp_path, image, tmp_path / "fake.pth", "FakeNet face restoration model")


def test_spandrel_extra_arches_licences_are_named_non_commercial():
    from imgtrans_zoo.licences import LICENCES

    for name in ("CodeFormer", "Restormer", "SRFormer", "MAT", "DDColor"):
        assert "non-commercial" in LICENCES[name]
    assert LICENCES["SPAN"] == "Apache-2.0" and LICENCES["HAT"] == "MIT"


def test_fast_mode_autocasts_only_what_spandrel_allows(tmp_path, caplog):
    from imgtrans.plugin import TranslateContext
    from imgtrans_zoo.inference import precision_scope
    from imgtrans_zoo.models import load_model

    span = load_model(build("span_x4")[0].state_dict(), "span")      # half and bf16
    safmn = load_model(build("safmn_x2")[0].state_dict(), "safmn")  # bf16, no half
    exact = TranslateContext(device=torch.device("cpu"))
    bf16 = TranslateContext(device=torch.device("cpu"), precision=torch.bfloat16)
    half = TranslateContext(device=torch.device("cpu"), precision=torch.float16)
    x = torch.rand(1, 3, 8, 8)
    with precision_scope(span, exact):
        assert span.descriptor.model.conv_1.sk(x).dtype == torch.float32
    with precision_scope(span, bf16):
        assert span.descriptor.model.conv_1.sk(x).dtype == torch.bfloat16
    with precision_scope(safmn, half):  # refused: runs exact, says so
        assert torch.nn.functional.conv2d(x, torch.ones(1, 3, 1, 1)).dtype == torch.float32
    assert "not supporting float16" in caplog.text
