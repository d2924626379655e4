"""``imgtrans train PLUGIN DATA --out RUN``: the shared training loop with progress and losses."""

from __future__ import annotations

import signal
import threading
from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

from imgtrans.cli import app, ui


@app.command()
def train(
    plugin: Annotated[str, typer.Argument(help="Translator to train (see `imgtrans plugins`).")],
    data: Annotated[Path, typer.Argument(help="Dataset folder (layout depends on the translator).")],
    out: Annotated[Path, typer.Option("--out", "-o", help="Run folder: checkpoints, samples, run.json.")],
    opt: Annotated[Optional[list[str]], typer.Option("--opt", "-O", help="Training option key=value (repeatable); `imgtrans info NAME` lists them.")] = None,
    epochs: Annotated[Optional[int], typer.Option(min=1, help="Epochs (default: the translator's).")] = None,
    max_steps: Annotated[Optional[int], typer.Option(min=1, help="Stop after this many optimizer steps in total.")] = None,
    batch_size: Annotated[int, typer.Option("--batch-size", "-b", min=1)] = 1,
    seed: Annotated[int, typer.Option(help="Seed: the same seed and data give the same run.")] = 0,
    device: Annotated[str, typer.Option(envvar="IMGTRANS_DEVICE", help="auto, cpu, cuda or cuda:N.")] = "auto",
    save_every: Annotated[int, typer.Option(min=0, help="Also keep a checkpoint every N steps (0: per epoch and at the end).")] = 0,
    resume: Annotated[bool, typer.Option("--resume", help="Continue the run in --out exactly where it stopped.")] = False,
    on_bad_data: Annotated[str, typer.Option(help="stop: list bad items and stop before training; skip: leave them out.")] = "stop",
) -> None:
    """Train a translator. Checkpoints load in `imgtrans convert --weights RUN` with no other flag."""
    from imgtrans.api import train as run_train
    from imgtrans.errors import UsageError
    from imgtrans.translators.options import parse_option_pairs

    with ui.exit_on_errors():
        if on_bad_data not in ("stop", "skip"):
            raise UsageError("--on-bad-data must be stop or skip")
        stop = threading.Event()
        bar = Progress(TextColumn("epoch {task.fields[epoch]}"), BarColumn(), MofNCompleteColumn(),
                       TextColumn("{task.fields[losses]}"), TimeElapsedColumn(), TimeRemainingColumn(),
                       console=ui.err, disable=not ui.err.is_terminal)
        task_id = bar.add_task("train", total=None, epoch="-", losses="")
        plain_every = 50

        def on_progress(p) -> None:
            losses = " ".join(f"{k} {v:.3f}" for k, v in p.losses.items())
            bar.update(task_id, completed=p.step, total=p.total_steps, epoch=f"{p.epoch}/{p.epochs}", losses=losses)
            if not ui.err.is_terminal and (p.step % plain_every == 0 or p.step == p.total_steps):
                ui.err.print(f"step {p.step}/{p.total_steps} epoch {p.epoch}/{p.epochs} {losses}", highlight=False)

        previous = signal.signal(signal.SIGINT, lambda *a: stop.set())
        try:
            with bar:
                last = run_train(plugin, data, out, options=parse_option_pairs(opt or []), epochs=epochs,
                                 max_steps=max_steps, batch_size=batch_size, seed=seed, device=device,
                                 save_every=save_every, resume=resume, on_bad_data=on_bad_data,
                                 on_progress=on_progress, should_stop=stop.is_set)
        finally:
            signal.signal(signal.SIGINT, previous)
    ui.out.print(f"checkpoint: {last}", highlight=False)
    if stop.is_set():
        ui.err.print("interrupted: resume with --resume", style="yellow")
        raise typer.Exit(130)
