"""The shared training loop: checks, epochs and steps, seeding, sample grids, checkpoints,
resume, and several processes.

A translator that trains provides a :class:`TrainingTask` (its networks, optimizers, one
training step); this loop does everything around it the same way for every translator.
Resuming restores networks, optimizers, schedules, the RNG of every process and the position
in the epoch, so an interrupted run continues exactly as if it had not stopped. Under
``torchrun`` the loop shares the networks between processes and rank 0 alone writes (see
:mod:`imgtrans.training.distributed`).
"""

from __future__ import annotations

import logging
import math
import time
from dataclasses import asdict, is_dataclass
from pathlib import Path
from typing import Any, Callable

import torch

from imgtrans import checkpoints
from imgtrans.core.writers import encode_image, write_atomic
from imgtrans.errors import UsageError
from imgtrans.training import distributed as dist
from imgtrans.training.checks import Checks
from imgtrans.training.runs import write_record
from imgtrans.training.task import Progress, TrainingTask, TrainSettings

__all__ = ["Progress", "TrainSettings", "TrainingTask", "train"]

log = logging.getLogger(__name__)


def train(task: TrainingTask, settings: TrainSettings, device: torch.device,
          on_progress: Callable[[Progress], None] = lambda p: None,
          should_stop: Callable[[], bool] = lambda: False, *,
          on_start: Callable[[Progress], None] = lambda p: None,
          processes: dist.Processes | None = None) -> Path:
    """Run ``task`` to the end (or to ``max_steps``); returns the last checkpoint folder.

    ``on_start`` gets the position and totals before the first step (also when a resumed
    run has nothing left to do: then ``step == total_steps``); ``on_progress`` gets every
    step. Both are called on rank 0 only.
    """
    procs = processes or dist.Processes()
    out = Path(settings.out)
    dataset = task.dataset
    checks = Checks(settings.batch_size, procs.world_size)
    checks.dataset_size(len(dataset))
    if not checks.settings and not checks.data_problems:
        task.check(checks)
    checks.raise_problems()

    per_epoch = len(dataset) // (settings.batch_size * procs.world_size)
    epochs = settings.epochs or task.default_epochs
    total = min(epochs * per_epoch, settings.max_steps or math.inf)
    shown_epochs = math.ceil(total / per_epoch)
    report_start = on_start if procs.main else (lambda p: None)
    report = on_progress if procs.main else (lambda p: None)
    networks = dict(task.networks())  # the plain modules, which checkpoints hold
    latest = out / "checkpoints" / "latest"
    torch.manual_seed(dist.seed_for(settings.seed, procs))
    epoch, first_batch, step = 0, 0, 0
    if settings.resume:
        state = _trainer_state(latest, procs)
        epoch, first_batch, step = int(state["epoch"]), int(state["batch"]), int(state["step"])
        if step >= total or epoch >= epochs:
            log.info("the run in %s is finished (step %d of %d); nothing to do", out, step, total)
            report_start(Progress(step, step, min(epoch, shown_epochs), shown_epochs, {}))
            return latest
        _restore(task, networks, latest, state, procs, settings.seed)
        log.info("resuming at step %d (epoch %d, batch %d)", step, epoch + 1, first_batch)
    shared = dist.share_networks(task, networks, procs, device)
    preview = _preview_batch(dataset, device)
    recorded = False

    def save(next_epoch: int, next_batch: int, snapshot: bool) -> Path:
        nonlocal recorded
        ranks = dist.gather(_process_state(task, device), procs)
        if not procs.main:
            return latest
        state = {"epoch": next_epoch, "batch": next_batch, "step": step,
                 "world_size": procs.world_size, **ranks[0],
                 "optimizers": {k: o.state_dict() for k, o in task.optimizers().items()},
                 "schedulers": {k: s.state_dict() for k, s in task.schedulers().items()}}
        if procs.several:
            state["ranks"] = ranks
        folders = [out / "checkpoints" / f"step_{step:07d}"] if snapshot else []
        for folder in [*folders, latest]:
            checkpoints.write_checkpoint(folder, task.plugin, networks, task.network_configs(),
                                         options=_options(task), step=step, epoch=next_epoch,
                                         extra=task.checkpoint_extra(), trainer_state=state,
                                         add_files=task.write_extra)
        if not recorded:  # the folder is a run once it holds a checkpoint (and this record)
            write_record(out, task.plugin, task.network_configs(), _options(task),
                         task.checkpoint_extra(), settings, procs.world_size)
            recorded = True
        return latest

    report_start(Progress(step, total, epoch + 1, shown_epochs, {}))
    started = time.perf_counter()
    while epoch < epochs and step < total:
        if hasattr(dataset, "set_epoch"):
            dataset.set_epoch(epoch)
        batches = dist.epoch_batches(len(dataset), settings.batch_size, procs, settings.seed, epoch)
        for index in range(first_batch, per_epoch):
            items = [dataset[i] for i in batches[index]]
            batch = tuple(torch.stack(parts).to(device) for parts in zip(*items))
            for net in task.networks().values():
                net.train()
            losses = task.train_step(batch)
            if shared:
                dist.check_shared(shared)
                shared = {}
            step += 1
            report(Progress(step, total, epoch + 1, shown_epochs, losses))
            stopping = step >= total or dist.any_process(should_stop(), procs, device)
            if index + 1 < per_epoch:
                if stopping:
                    log.info("stopped after %d steps in %.1f s", step, time.perf_counter() - started)
                    return _finish(save(epoch, index + 1, False), procs)
                if settings.save_every and step % settings.save_every == 0:
                    save(epoch, index + 1, True)
        first_batch = 0
        for scheduler in task.schedulers().values():
            scheduler.step()
        _write_sample(task, preview, out / "samples" / f"epoch_{epoch + 1:04d}.png", procs)
        epoch += 1
        save(epoch, 0, settings.save_every > 0)
        if dist.any_process(should_stop(), procs, device):
            break
    return _finish(latest, procs)


def _finish(latest: Path, procs: dist.Processes) -> Path:
    """Every process returns once rank 0 has written the last checkpoint."""
    dist.barrier(procs)
    return latest


def _options(task: TrainingTask) -> dict[str, Any]:
    return asdict(task.options) if is_dataclass(task.options) else {}


def _process_state(task: TrainingTask, device: torch.device) -> dict[str, Any]:
    """What differs between processes: their random streams and the task's extra state
    (CycleGAN's image pools are per process)."""
    state = {"rng": torch.get_rng_state(), "extra": task.extra_state()}
    if device.type == "cuda":
        state["cuda_rng"] = torch.cuda.get_rng_state(device)
    return state


def _trainer_state(latest: Path, procs: dist.Processes) -> dict[str, Any]:
    if not checkpoints.is_checkpoint(latest):
        raise UsageError(f"process {procs.rank} cannot see {latest}: on several machines, the "
                         f"run folder must be on a filesystem they share to resume")
    return checkpoints.load_trainer_state(latest)


def _restore(task: TrainingTask, networks: dict[str, torch.nn.Module], latest: Path,
             state: dict[str, Any], procs: dist.Processes, seed: int) -> None:
    saved = checkpoints.read_checkpoint(latest, task.plugin)
    for name, net in networks.items():
        net.load_state_dict(saved.state_dict(name))
    for name, optimizer in task.optimizers().items():
        optimizer.load_state_dict(state["optimizers"][name])
    for name, scheduler in task.schedulers().items():
        scheduler.load_state_dict(state["schedulers"][name])
    ranks = state.get("ranks") or [state]
    if len(ranks) == procs.world_size:
        own = ranks[procs.rank]
    else:  # another number of processes: rank 0 continues as before, the others start anew
        log.info("resuming a %d-process run with %d process(es)", len(ranks), procs.world_size)
        own = ranks[0] if procs.main else {"extra": ranks[0].get("extra", {})}
    task.load_extra_state(own.get("extra", {}))
    if "rng" in own:
        torch.set_rng_state(own["rng"])
    else:
        torch.manual_seed(dist.seed_for(seed, procs) + int(state["step"]))
    if "cuda_rng" in own and torch.cuda.is_available():
        torch.cuda.set_rng_state(own["cuda_rng"])


def _preview_batch(dataset: Any, device: torch.device, count: int = 4) -> tuple[torch.Tensor, ...]:
    """The same few items for every sample grid, drawn without touching the training RNG
    (datasets may crop at random)."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(0)
        items = [dataset[i] for i in range(min(count, len(dataset)))]
    return tuple(torch.stack(parts).to(device) for parts in zip(*items))


def _write_sample(task: TrainingTask, batch: tuple[torch.Tensor, ...], path: Path,
                  procs: dist.Processes) -> None:
    """Sample grids must not consume the training RNG, or sampling would change training.
    Every process draws the grid (SyncBatchNorm layers in training mode synchronise even
    then); rank 0 writes it."""
    with torch.random.fork_rng(devices=[]), torch.no_grad():
        grid = task.sample_grid(batch).clamp(0, 1)
    if not procs.main:
        return
    pixels = (grid.permute(1, 2, 0) * 255).round().to(torch.uint8).cpu().numpy()
    write_atomic(path, encode_image(pixels, "png"))
