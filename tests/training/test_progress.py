"""What ``imgtrans train`` shows: a bar that fits 80 columns on a terminal; without one,
plain lines at the first and last step and at least every interval, even during a slow step;
``--progress`` chooses, as for ``imgtrans convert``."""

from __future__ import annotations

import io
import time

import pytest
from rich.console import Console
from typer.testing import CliRunner

from imgtrans.cli.train_display import TrainingDisplay
from imgtrans.errors import UsageError
from imgtrans.training.task import Progress

LOSSES = {"D": 5.06, "G": 13.5, "img_rec": 0.762, "z_rec": 0.908, "kl": 3.63, "G_img_adv": 0.832,
          "G_obj_adv": 0.631, "G_obj_cls": 2.21, "D_obj_cls": 2.24}


def test_the_bar_fits_80_columns_with_its_totals():
    display = TrainingDisplay(Console(file=io.StringIO(), width=80, force_terminal=True))
    display.start(Progress(0, 160000, 1, 200, {}))
    rendered = Console(width=80, record=True, file=io.StringIO())
    rendered.print(display.bar.make_tasks_table(display.bar.tasks))
    first = rendered.export_text()
    assert "ep 1/200" in first and "0/160000" in first
    display.step(Progress(12345, 160000, 16, 200, LOSSES))
    rendered.print(display.bar.make_tasks_table(display.bar.tasks))
    (line,) = rendered.export_text().splitlines()
    assert len(line) <= 80 and "ep 16/200" in line and "12345/160000" in line and "D 5.06" in line


def _plain(every: float) -> tuple[TrainingDisplay, io.StringIO]:
    text = io.StringIO()
    return TrainingDisplay(Console(file=text, width=200), every=every), text


def test_plain_lines_at_the_first_and_last_step_with_mean_losses():
    display, text = _plain(every=60)
    with display:
        display.start(Progress(0, 4, 1, 2, {}))
        for step, loss in enumerate([4.0, 3.0, 2.0, 1.0], 1):
            display.step(Progress(step, 4, 1 + (step > 2), 2, {"mse": loss}))
    assert text.getvalue().splitlines() == ["starting: step 0/4 epoch 1/2", "step 1/4 epoch 1/2 mse 4",
                                            "step 4/4 epoch 2/2 mse 2"]


def test_a_line_at_least_every_interval_even_within_a_slow_step():
    display, text = _plain(every=0.3)
    with display:
        display.start(Progress(7, 100, 2, 10, {}))
        display.step(Progress(8, 100, 2, 10, {"mse": 1.0}))
        time.sleep(1.2)  # one slow step: the heartbeat speaks
        display.step(Progress(9, 100, 2, 10, {"mse": 0.5}))
    lines = text.getvalue().splitlines()
    assert lines[:2] == ["resuming at step 7/100 epoch 2/10", "step 8/100 epoch 2/10 mse 1"]
    assert "step 8/100 epoch 2/10: step 9 running" in lines
    assert lines[-1] == "step 9/100 epoch 2/10 mse 0.5"


def test_progress_modes_choose_a_bar_lines_or_nothing():
    terminal, pipe = Console(file=io.StringIO(), force_terminal=True), Console(file=io.StringIO())
    assert TrainingDisplay(terminal).mode == "rich" and TrainingDisplay(pipe).mode == "plain"
    assert TrainingDisplay(terminal, mode="plain").plain  # lines even on a terminal
    assert TrainingDisplay(pipe, mode="rich").terminal  # a bar even in a pipe
    assert TrainingDisplay(terminal, mode="rich", enabled=False).mode == "none"  # torchrun rank > 0
    quiet = TrainingDisplay(pipe, mode="none", every=0.01)
    with quiet:
        quiet.start(Progress(0, 2, 1, 1, {}))
        quiet.step(Progress(1, 2, 1, 1, {"mse": 1.0}))
        time.sleep(0.05)
        quiet.step(Progress(2, 2, 1, 1, {"mse": 0.5}))
    assert pipe.file.getvalue() == ""
    with pytest.raises(UsageError, match="--progress 'fancy': choose auto, rich, plain or none"):
        TrainingDisplay(pipe, mode="fancy")


def test_train_command_takes_progress_like_convert(tmp_path):
    from imgtrans.cli import app
    from imgtrans.testing import plugin_host

    def train(run, *flags):
        return CliRunner().invoke(app, ["train", "tally", str(tmp_path), "--out", str(tmp_path / run),
                                        "--max-steps", "3", *flags])

    with plugin_host("imgtrans_tally"):
        plain = train("plain", "--progress", "plain")
        none = train("none", "--progress", "none")
        bad = train("bad", "--progress", "fancy")
    assert plain.exit_code == 0, plain.output
    assert "starting: step 0/3" in plain.output and "step 3/3" in plain.output
    assert none.exit_code == 0, none.output
    assert "step 3/3" not in none.output and "starting:" not in none.output
    assert "checkpoint: " in none.output
    assert bad.exit_code == 2 and "--progress 'fancy'" in bad.output
    assert not (tmp_path / "bad").exists()
