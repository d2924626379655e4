"""The shared training loop: epochs and steps, seeding, sample grids, checkpoints, resume.

A translator that trains provides a :class:`TrainingTask` (its networks, optimizers, one
training step); this loop does everything around it the same way for every translator.
Resuming restores networks, optimizers, schedules, the global RNG and the position in the
epoch, so an interrupted run continues exactly as if it had not stopped.
"""

from __future__ import annotations

import json
import logging
import time
from dataclasses import asdict, is_dataclass
from pathlib import Path
from typing import Any, Callable

import torch

from imgtrans.core.writers import encode_image, write_atomic
from imgtrans import checkpoints
from imgtrans.training.task import Progress, TrainingTask, TrainSettings

__all__ = ["Progress", "TrainSettings", "TrainingTask", "train"]

log = logging.getLogger(__name__)


def train(task: TrainingTask, settings: TrainSettings, device: torch.device,
          on_progress: Callable[[Progress], None] = lambda p: None,
          should_stop: Callable[[], bool] = lambda: False) -> Path:
    """Run ``task`` to the end (or to ``max_steps``); returns the last checkpoint folder."""
    out = Path(settings.out)
    out.mkdir(parents=True, exist_ok=True)
    dataset = task.dataset
    batches_per_epoch = max(1, len(dataset) // settings.batch_size)
    epochs = settings.epochs or task.default_epochs
    total = epochs * batches_per_epoch
    if settings.max_steps:
        total = min(total, settings.max_steps)
    torch.manual_seed(settings.seed)
    epoch, first_batch, step = 0, 0, 0
    latest = out / "checkpoints" / "latest"
    if settings.resume:
        epoch, first_batch, step = _restore(task, latest)
        log.info("resuming at step %d (epoch %d, batch %d)", step, epoch + 1, first_batch)
    else:
        run = checkpoints.describe(task.plugin, task.network_configs(), options=_options(task),
                                   extra=task.checkpoint_extra())
        (out / "run.json").write_text(json.dumps({**run, "settings": asdict(settings)}, indent=2,
                                                 default=str))
    preview = _preview_batch(dataset, device)

    def save(next_epoch: int, next_batch: int, snapshot: bool) -> Path:
        state = {"epoch": next_epoch, "batch": next_batch, "step": step,
                 "rng": torch.get_rng_state(),
                 "optimizers": {k: o.state_dict() for k, o in task.optimizers().items()},
                 "schedulers": {k: s.state_dict() for k, s in task.schedulers().items()},
                 "extra": task.extra_state()}
        folders = [out / "checkpoints" / f"step_{step:07d}"] if snapshot else []
        for folder in [*folders, latest]:
            checkpoints.write_checkpoint(folder, task.plugin, task.networks(), task.network_configs(),
                                         options=_options(task), step=step, epoch=next_epoch,
                                         extra=task.checkpoint_extra(), trainer_state=state,
                                         add_files=task.write_extra)
        return latest

    started = time.perf_counter()
    while epoch < epochs and step < total:
        if hasattr(dataset, "set_epoch"):
            dataset.set_epoch(epoch)
        order = torch.randperm(len(dataset), generator=torch.Generator().manual_seed(settings.seed * 7919 + epoch))
        for index in range(first_batch, batches_per_epoch):
            items = [dataset[int(i)] for i in order[index * settings.batch_size:(index + 1) * settings.batch_size]]
            batch = tuple(torch.stack(parts).to(device) for parts in zip(*items))
            for net in task.networks().values():
                net.train()
            losses = task.train_step(batch)
            step += 1
            on_progress(Progress(step, total, epoch + 1, epochs, losses))
            stopping = step >= total or should_stop()
            if index + 1 < batches_per_epoch:
                if stopping:
                    log.info("stopped after %d steps in %.1f s", step, time.perf_counter() - started)
                    return save(epoch, index + 1, False)
                if settings.save_every and step % settings.save_every == 0:
                    save(epoch, index + 1, True)
        first_batch = 0
        for scheduler in task.schedulers().values():
            scheduler.step()
        _write_sample(task, preview, out / "samples" / f"epoch_{epoch + 1:04d}.png")
        epoch += 1
        save(epoch, 0, settings.save_every > 0)
        if should_stop():
            break
    return latest


def _options(task: TrainingTask) -> dict[str, Any]:
    return asdict(task.options) if is_dataclass(task.options) else {}


def _restore(task: TrainingTask, latest: Path) -> tuple[int, int, int]:
    state = checkpoints.load_trainer_state(latest)
    saved = checkpoints.read_checkpoint(latest, task.plugin)
    for name, net in task.networks().items():
        net.load_state_dict(saved.state_dict(name))
    for name, optimizer in task.optimizers().items():
        optimizer.load_state_dict(state["optimizers"][name])
    for name, scheduler in task.schedulers().items():
        scheduler.load_state_dict(state["schedulers"][name])
    task.load_extra_state(state.get("extra", {}))
    torch.set_rng_state(state["rng"])
    return int(state["epoch"]), int(state["batch"]), int(state["step"])


def _preview_batch(dataset: Any, device: torch.device, count: int = 4) -> tuple[torch.Tensor, ...]:
    """The same few items for every sample grid, drawn without touching the training RNG
    (datasets may crop at random)."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(0)
        items = [dataset[i] for i in range(min(count, len(dataset)))]
    return tuple(torch.stack(parts).to(device) for parts in zip(*items))


def _write_sample(task: TrainingTask, batch: tuple[torch.Tensor, ...], path: Path) -> None:
    """Sample grids must not consume the training RNG, or sampling would change training."""
    with torch.random.fork_rng(devices=[]), torch.no_grad():
        grid = task.sample_grid(batch).clamp(0, 1)
    pixels = (grid.permute(1, 2, 0) * 255).round().to(torch.uint8).cpu().numpy()
    write_atomic(path, encode_image(pixels, "png"))
