"""What ``imgtrans train`` shows while it runs: a progress bar with the latest losses on a
terminal, plain lines with averaged losses otherwise (logs, CI, torchrun)."""

from __future__ import annotations

import threading
import time
from typing import Any

from rich.console import Console
from rich.progress import (BarColumn, MofNCompleteColumn, Progress, ProgressColumn, TextColumn,
                           TimeElapsedColumn, TimeRemainingColumn)
from rich.text import Text

PLAIN_EVERY = 30.0
"""Without a terminal, a progress line at least this often (seconds)."""
MODES = ("auto", "rich", "plain", "none")
"""``--progress``, as for ``imgtrans convert``."""


class LossesColumn(ProgressColumn):
    """The latest losses, cut with an ellipsis where the line ends (80 columns)."""

    def render(self, task: Any) -> Text:
        return Text(task.fields.get("losses", ""), no_wrap=True, overflow="ellipsis")


class TrainingDisplay:
    """Progress of a run: a bar (``mode`` "rich"), or plain lines at the first and last step
    and at least every :data:`PLAIN_EVERY` seconds (a heartbeat covers slow steps), each with
    the losses averaged since the line before ("plain"), or nothing ("none", or not
    ``enabled``: the other processes of a torchrun). "auto": a bar on a terminal, plain
    lines otherwise (logs, CI)."""

    def __init__(self, console: Console, enabled: bool = True, every: float = PLAIN_EVERY,
                 mode: str = "auto") -> None:
        if mode not in MODES:
            from imgtrans.errors import UsageError

            raise UsageError(f"--progress {mode!r}: choose auto, rich, plain or none")
        if mode == "auto":
            mode = "rich" if console.is_terminal else "plain"
        self.console, self.enabled, self.every = console, enabled, every
        self.mode = mode if enabled else "none"
        self.terminal = self.mode == "rich"
        self.plain = self.mode == "plain"
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
        if self.plain:
            self.heartbeat.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.done.set()
        self.bar.__exit__(*exc)

    def start(self, p: Any) -> None:
        self.first = p
        self.bar.update(self.task_id, completed=p.step, total=p.total_steps,
                        epoch=f"{p.epoch}/{p.epochs}", visible=True)
        if self.plain and p.step < p.total_steps:
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
        if self.plain and (due or p.step == p.total_steps or p.step == self.first.step + 1):
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
