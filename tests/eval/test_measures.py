"""Plugin measures: the ``register_measures`` hook (throwaway plugins, failures contained),
and the built-in ones of layout2im (object accuracy, diversity) on files."""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np
import pytest
from typer.testing import CliRunner

from imgtrans.cli import app
from imgtrans.errors import UsageError
from imgtrans.plugin import Measure, hookimpl
from imgtrans.plugins.manager import get_host
from imgtrans.plugins.measures import collect_measures


def _write(path: Path, rgb: np.ndarray) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    assert cv2.imwrite(str(path), cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR))


def run_json(*args):
    result = CliRunner().invoke(app, [str(a) for a in args] + ["--json"])
    return result, (json.loads(result.stdout) if result.stdout.strip() else None)


def _brightness(context):
    values = []
    for item in context.items:
        value = float(context.read_output(item).mean())
        context.add_file_value(item, "brightness", value)
        values.append(value)
    return {"brightness": sum(values) / len(values)}


class Bright:
    @hookimpl
    def register_measures(self, register):
        register(Measure(name="brightness", summary="mean level", compute=_brightness,
                         needs_targets=False))


def test_a_plugin_measure_runs_on_outputs_alone(register_plugin, tmp_path):
    register_plugin(Bright(), "bright")
    _write(tmp_path / "out" / "a.png", np.full((8, 8, 3), 51, np.uint8))
    _write(tmp_path / "out" / "b.png", np.full((8, 8, 3), 102, np.uint8))
    result, data = run_json("eval", tmp_path / "out", "--metrics", "brightness")
    assert result.exit_code == 0, result.output
    assert data["measures"]["brightness"] == pytest.approx(0.3)
    assert [f["brightness"] for f in data["files"]] == pytest.approx([0.2, 0.4])
    assert "measure:brightness" in get_host().records["bright"].provides


def test_a_failing_hook_costs_only_its_own_measures(register_plugin):
    class Broken:
        @hookimpl
        def register_measures(self, register):
            register(Measure(name="half_done", summary="", compute=_brightness))
            raise RuntimeError("boom")

    class Clash:
        @hookimpl
        def register_measures(self, register):
            register(Measure(name="brightness", summary="again", compute=_brightness))

    class NotAMeasure:
        @hookimpl
        def register_measures(self, register):
            register("brightness")

    register_plugin(Bright(), "bright")
    register_plugin(Broken(), "broken")
    register_plugin(Clash(), "clash")
    register_plugin(NotAMeasure(), "nota")
    registry = collect_measures(get_host())
    assert registry.owners["brightness"] == "bright" and "half_done" not in registry.measures
    assert "boom" in registry.errors["broken"]
    assert "already provided by plugin 'bright'" in registry.errors["clash"]
    assert "not an imgtrans.plugin.Measure" in registry.errors["nota"]
    assert {"bicubic", "object_accuracy", "diversity"} <= set(registry.measures)  # built-ins


def test_measure_names_cannot_shadow_metrics():
    with pytest.raises(UsageError):
        Measure(name="psnr", summary="", compute=_brightness)
    with pytest.raises(UsageError):
        Measure(name="Bad-Name", summary="", compute=_brightness)


def test_the_hook_is_documented_for_plugin_authors():
    from imgtrans.plugins import hookspecs

    doc = hookspecs.register_measures.__doc__
    assert "MeasureContext" in doc and "On failure" in doc and "needs_inputs" in doc


# -- layout2im ------------------------------------------------------------------------------

@pytest.mark.usefixtures("one_torch_thread")
def test_layout2im_object_accuracy_and_diversity_on_files(tmp_path, monkeypatch):
    from imgtrans_layout2im import measures, quality
    from imgtrans_layout2im.layouts import layouts_to_json
    from imgtrans_layout2im.synthetic import VOCAB, render

    monkeypatch.setattr(measures, "CLASSIFIER_STEPS", 120)  # the full 300 take a minute here
    layouts = quality.random_layouts(12, seed=3)
    rng = np.random.default_rng(4)
    for i, layout in enumerate(layouts):
        (tmp_path / "layouts").mkdir(exist_ok=True)
        (tmp_path / "layouts" / f"l{i}.json").write_text(json.dumps(layouts_to_json([layout], VOCAB)))
        for k in range(2):  # real renderings: right objects, appearance drawn anew per sample
            _write(tmp_path / "real" / f"l{i}_s{k}.png", render(layout, rng))
            _write(tmp_path / "gray" / f"l{i}_s{k}.png", np.full((64, 64, 3), 128, np.uint8))
    metrics = ["--metrics", "object_accuracy,diversity", "--inputs", tmp_path / "layouts"]
    result, real = run_json("eval", tmp_path / "real", *metrics)
    assert result.exit_code == 0, result.output
    _, gray = run_json("eval", tmp_path / "gray", *metrics)
    assert real["measures"]["object_accuracy"] > 0.8 > 0.3 > gray["measures"]["object_accuracy"]
    assert real["measures"]["diversity"] > 0.02 and real["measures"]["object_diversity"] > 0.02
    assert gray["measures"]["diversity"] == 0.0 == gray["measures"]["object_diversity"]
    assert all("object_accuracy" in f for f in real["files"])

    result, data = run_json("eval", tmp_path / "real", "--metrics", "object_accuracy")
    assert result.exit_code == 2 and data is None and "--inputs" in result.stderr
