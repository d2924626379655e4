"""``imgtrans train PLUGIN DATA --out RUN``: the shared training loop with progress and losses.

Under ``torchrun`` every process runs this command; rank 0 alone shows progress and prints
the result, the others only warnings and errors.
"""

from __future__ import annotations

import logging
import os
import signal
import threading
import time
from pathlib import Path
from typing import Annotated, Any, Optional

import typer
from rich.console import Console
from rich.progress import (BarColumn, MofNCompleteColumn, Progress, ProgressColumn, TextColumn,
                           TimeElapsedColumn, TimeRemainingColumn)
from rich.text import Text

from imgtrans.cli import app, ui

log = logging.getLogger(__name__)

PLAIN_EVERY = 30.0
"""Without a terminal, a progress line at least this often (seconds)."""


@app.command()
def train(
    plugin: Annotated[str, typer.Argument(help="Translator to train (see `imgtrans plugins`).")],
    data: Annotated[Optional[Path], typer.Argument(help="Dataset folder (layout depends on the translator); with --resume, the run's.")] = None,
    out: Annotated[Path, typer.Option("--out", "-o", help="Run folder: checkpoints, samples, run.json.")] = ...,  # type: ignore[assignment]
    opt: Annotated[Optional[list[str]], typer.Option("--opt", "-O", help="Training option key=value (repeatable); `imgtrans info NAME` lists them.")] = None,
    epochs: Annotated[Optional[int], typer.Option(min=1, help="Epochs (default: the translator's).")] = None,
    max_steps: Annotated[Optional[int], typer.Option(min=1, help="Stop after this many optimizer steps in total.")] = None,
    batch_size: Annotated[Optional[int], typer.Option("--batch-size", "-b", min=1, help="Items per step and process (default 1).")] = None,
    seed: Annotated[Optional[int], typer.Option(help="Seed (default 0): the same seed and data give the same run.")] = None,
    device: Annotated[str, typer.Option(envvar="IMGTRANS_DEVICE", help="auto, cpu, cuda or cuda:N (under torchrun: one GPU per process).")] = "auto",
    save_every: Annotated[Optional[int], typer.Option(min=0, help="Also keep a checkpoint every N steps (default 0: per epoch and at the end).")] = None,
    resume: Annotated[bool, typer.Option("--resume", help="Continue the run in --out where it stopped, with its settings.")] = False,
    on_bad_data: Annotated[Optional[str], typer.Option(help="stop (default): list bad items and stop before training; skip: leave them out.")] = None,
) -> None:
    """Train a translator. Checkpoints load in `imgtrans convert --weights RUN` with no other flag.

    Several GPUs or machines: `torchrun --nproc-per-node N -m imgtrans train ...`.
    """
    from imgtrans.api import train as run_train
    from imgtrans.errors import ImgtransError, UsageError
    from imgtrans.translators.options import parse_option_pairs

    main = os.environ.get("RANK", "0") == "0"
    if not main:
        logging.getLogger().setLevel(max(logging.getLogger().level, logging.WARNING))
    stop = threading.Event()
    display = TrainingDisplay(ui.err, enabled=main)
    with ui.exit_on_errors():
        if on_bad_data not in (None, "stop", "skip"):
            raise UsageError("--on-bad-data must be stop or skip")
        given = {"epochs": epochs, "max_steps": max_steps, "batch_size": batch_size, "seed": seed,
                 "device": device, "save_every": save_every, "on_bad_data": on_bad_data}
        # torchrun passes a Ctrl-C on as SIGTERM: stop at the next step, checkpoint, and exit
        handled = [signal.SIGINT] + ([signal.SIGTERM] if "RANK" in os.environ else [])
        previous = {sig: signal.signal(sig, lambda *a: stop.set()) for sig in handled}
        try:
            with display:
                last = run_train(plugin, data, out, options=parse_option_pairs(opt or []),
                                 resume=resume, on_start=display.start,
                                 on_progress=display.step, should_stop=stop.is_set, **given)
        except ImgtransError:
            log.debug("details", exc_info=True)  # -v: the traceback, before the one-line error
            raise
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)
    if main:
        if display.finished_already:
            ui.err.print(f"the run in {out} is already finished (step {display.first.step}); "
                         f"nothing to do: raise --max-steps or --epochs to train on", highlight=False)
        ui.out.print(f"checkpoint: {last}", highlight=False)
    if stop.is_set():
        if main:
            ui.err.print("interrupted: resume with --resume", style="yellow")
        raise typer.Exit(130)


class LossesColumn(ProgressColumn):
    """The latest losses, cut with an ellipsis where the line ends (80 columns)."""

    def render(self, task: Any) -> Text:
        return Text(task.fields.get("losses", ""), no_wrap=True, overflow="ellipsis")


class TrainingDisplay:
    """Progress of a run: a bar on a terminal; otherwise plain lines at the first and last
    step and at least every :data:`PLAIN_EVERY` seconds (a heartbeat covers slow steps),
    each with the losses averaged since the line before."""

    def __init__(self, console: Console, enabled: bool = True, every: float = PLAIN_EVERY) -> None:
        self.console, self.enabled, self.every = console, enabled, every
        self.terminal = enabled and console.is_terminal
        self.bar = Progress(TextColumn("ep {task.fields[epoch]}"), BarColumn(bar_width=16),
                            MofNCompleteColumn(), TimeElapsedColumn(),
                            TimeRemainingColumn(compact=True), LossesColumn(),
                            console=console, disable=not self.terminal)
        # hidden until the loop knows the totals: never "0/?"
        self.task_id = self.bar.add_task("train", total=None, epoch="-", losses="", visible=False)
        self.first: Any = None
        self.latest: Any = None
        self.sums: dict[str, float] = {}
        self.count = 0
        self.last_line = time.monotonic()
        self.owed = False
        self.lock = threading.Lock()
        self.done = threading.Event()
        self.heartbeat = threading.Thread(target=self._beat, daemon=True)

    @property
    def finished_already(self) -> bool:
        """True when a resumed run had nothing left to do."""
        return self.first is not None and self.latest is None and self.first.step >= self.first.total_steps

    def __enter__(self) -> "TrainingDisplay":
        self.bar.__enter__()
        if self.enabled and not self.terminal:
            self.heartbeat.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.done.set()
        self.bar.__exit__(*exc)

    def start(self, p: Any) -> None:
        self.first = p
        self.bar.update(self.task_id, completed=p.step, total=p.total_steps,
                        epoch=f"{p.epoch}/{p.epochs}", visible=True)
        if self.enabled and not self.terminal and p.step < p.total_steps:
            verb = "resuming at" if p.step else "starting:"
            self._line(f"{verb} step {p.step}/{p.total_steps} epoch {p.epoch}/{p.epochs}")

    def step(self, p: Any) -> None:
        self.latest = p
        for key, value in p.losses.items():
            self.sums[key] = self.sums.get(key, 0.0) + value
        self.count += 1
        if self.terminal:
            self.bar.update(self.task_id, completed=p.step, total=p.total_steps,
                            epoch=f"{p.epoch}/{p.epochs}", losses=_losses(p.losses))
            return
        due = self.owed or time.monotonic() - self.last_line >= self.every
        if self.enabled and (due or p.step == p.total_steps or p.step == self.first.step + 1):
            self.owed = False
            means = {k: v / self.count for k, v in self.sums.items()}
            self.sums, self.count = {}, 0
            self._line(f"step {p.step}/{p.total_steps} epoch {p.epoch}/{p.epochs} {_losses(means)}")

    def _line(self, text: str) -> None:
        with self.lock:
            self.console.print(text, highlight=False, soft_wrap=True)
            self.last_line = time.monotonic()

    def _beat(self) -> None:
        while not self.done.wait(min(self.every, 5.0)):
            if time.monotonic() - self.last_line >= self.every and self.first is not None:
                p = self.latest or self.first
                self._line(f"step {p.step}/{p.total_steps} epoch {p.epoch}/{p.epochs}: "
                           f"step {p.step + 1} running")
                self.owed = True  # the step that ends it gets its line with the losses


def _losses(losses: dict[str, float]) -> str:
    return " ".join(f"{k} {v:.3g}" for k, v in losses.items())
