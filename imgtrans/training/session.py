"""One ``imgtrans train``, from the given settings to the last checkpoint: join the other
processes (if ``torchrun`` started several), settle the settings (new run, or the record of
the run to resume), build the task and run the loop. What ``imgtrans.train`` does."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any, Callable, Mapping

import torch

from imgtrans.training import distributed as dist
from imgtrans.training import loop, runs
from imgtrans.training.task import Progress, TrainSettings


def run_training(translator: Any, name: str, data: Path | None, out: Path,
                 options: Mapping[str, Any], given: Mapping[str, Any], *,
                 on_progress: Callable[[Progress], None], on_start: Callable[[Progress], None],
                 should_stop: Callable[[], bool]) -> Path:
    """Train ``translator`` (its class, registered as ``name``); ``given`` holds only the
    settings the caller set (the rest come from the defaults or, with ``resume``, the run)."""
    from imgtrans.translators.options import build_options

    unknown = set(given) - set(TrainSettings.__dataclass_fields__)
    if unknown:
        raise TypeError(f"unknown training settings: {', '.join(sorted(unknown))}")
    given = {k: v for k, v in given.items() if v is not None}
    resume = bool(given.pop("resume", False))
    procs, device = dist.start(given.get("device", "auto"))
    try:
        # Rank 0 reads the folder and all follow its reading, so all take one decision.
        record = dist.broadcast(runs.read_record(out) if procs.main else None, procs)
        if resume:
            settings, options = runs.resumed(record, name, translator.TrainOptions, data, out,
                                             given, options, procs.world_size)
        else:
            settings = runs.fresh_settings(record, data, out, given)
        train_options = build_options(translator.TrainOptions, dict(options), translator=name)
        created = procs.main and not Path(out).exists()
        try:
            torch.manual_seed(settings.seed)  # network initialisation is part of the run
            task = translator.training_task(train_options, settings, device)
            return loop.train(task, settings, device, on_progress, should_stop,
                              on_start=on_start, processes=procs)
        except BaseException:
            if created and runs.read_record(out) is None:
                shutil.rmtree(out, ignore_errors=True)  # a failed start leaves nothing behind
            raise
    finally:
        dist.finish(procs)
