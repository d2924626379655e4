"""``imgtrans train PLUGIN DATA --out RUN``: the shared training loop with progress and losses.

Under ``torchrun`` every process runs this command; rank 0 alone shows progress and prints
the result, the others only warnings and errors.
"""

from __future__ import annotations

import logging
import os
import signal
import threading
from pathlib import Path
from typing import Annotated, Optional

import typer

from imgtrans.cli import app, ui


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
    progress: Annotated[str, typer.Option(help="auto (a bar on a terminal, plain lines otherwise), rich, plain or none.")] = "auto",
) -> None:
    """Train a translator. Checkpoints load in `imgtrans convert --weights RUN` with no other flag.

    Several GPUs or machines: `torchrun --nproc-per-node N -m imgtrans train ...`.
    """
    from imgtrans.api import parse_options
    from imgtrans.api import train as run_train
    from imgtrans.errors import UsageError

    main = os.environ.get("RANK", "0") == "0"
    if not main:
        logging.getLogger().setLevel(max(logging.getLogger().level, logging.WARNING))
    stop = threading.Event()
    from imgtrans.cli.train_display import TrainingDisplay  # rich's progress: only when training

    with ui.exit_on_errors():
        display = TrainingDisplay(ui.err, enabled=main, mode=progress)
        if on_bad_data not in (None, "stop", "skip"):
            raise UsageError("--on-bad-data must be stop or skip")
        given = {"epochs": epochs, "max_steps": max_steps, "batch_size": batch_size, "seed": seed,
                 "device": device, "save_every": save_every, "on_bad_data": on_bad_data}
        # torchrun passes a Ctrl-C on as SIGTERM: stop at the next step, checkpoint, and exit
        handled = [signal.SIGINT] + ([signal.SIGTERM] if "RANK" in os.environ else [])
        previous = {sig: signal.signal(sig, lambda *a: stop.set()) for sig in handled}
        try:
            with display:
                last = run_train(plugin, data, out, options=parse_options(opt or []),
                                 resume=resume, on_start=display.start,
                                 on_progress=display.step, should_stop=stop.is_set, **given)
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
