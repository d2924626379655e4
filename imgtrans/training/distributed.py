"""Training on several processes, one per device, as ``torchrun`` starts them.

``torchrun --nproc-per-node N -m imgtrans train ...`` sets ``RANK``, ``WORLD_SIZE`` and
``LOCAL_RANK``; :func:`start` joins the process group (NCCL on CUDA, gloo on CPU) and picks
the process's device. The loop then uses the rest of this module, so no translator needs code
of its own:

* every network with trainable parameters is wrapped in DistributedDataParallel
  (:func:`share_networks`), separately, so GANs with several networks and optimizers get
  every gradient averaged; BatchNorm becomes SyncBatchNorm on CUDA (PyTorch has no CPU
  SyncBatchNorm: on CPU each process normalises with its own batch);
* :func:`epoch_batches` gives each process its share of every step with PyTorch's
  ``DistributedSampler``, seeded as the single-process order: step i of N processes with
  batch B covers exactly the items of step i of one process with batch N x B, so a run may
  resume with another number of processes;
* rank 0 alone writes; the others send it their state to keep (:func:`gather`).
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from typing import Any, Mapping

import torch
import torch.distributed as dist
from torch.nn.parallel import DistributedDataParallel

from imgtrans.core.device import resolve_device
from imgtrans.errors import PluginError, UsageError

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Processes:
    """Where this process stands: ``rank`` of ``world_size`` (``local_rank`` on its node)."""

    rank: int = 0
    world_size: int = 1
    local_rank: int = 0
    owns_group: bool = False
    """True when :func:`start` created the process group (and :func:`finish` ends it)."""

    @property
    def main(self) -> bool:
        """Rank 0 writes checkpoints, samples, run.json and progress."""
        return self.rank == 0

    @property
    def several(self) -> bool:
        return self.world_size > 1


def launched() -> Processes:
    """The processes ``torchrun`` (or any launcher setting its variables) started."""
    try:
        world = int(os.environ.get("WORLD_SIZE", "1"))
        rank = int(os.environ.get("RANK", "0"))
        local = int(os.environ.get("LOCAL_RANK", "0"))
    except ValueError:
        raise UsageError("RANK, WORLD_SIZE and LOCAL_RANK must be integers (as torchrun sets them)") from None
    return Processes(rank, world, local) if world > 1 else Processes()


def start(device: str) -> tuple[Processes, torch.device]:
    """Join the process group of a ``torchrun`` launch, if any, and choose this process's
    device: ``cuda:LOCAL_RANK`` (one GPU per process) or the CPU."""
    procs = launched()
    chosen = resolve_device(device)
    if not procs.several:
        return procs, chosen
    if chosen.type == "cuda":
        if procs.local_rank >= torch.cuda.device_count():
            raise UsageError(f"process {procs.local_rank} on this machine has no GPU "
                             f"({torch.cuda.device_count()} visible): start at most "
                             f"{torch.cuda.device_count()} processes per node")
        if chosen.index not in (None, procs.local_rank):
            log.info("device %s ignored: process %d uses cuda:%d", chosen, procs.rank, procs.local_rank)
        chosen = torch.device("cuda", procs.local_rank)
        torch.cuda.set_device(chosen)
    elif chosen.type != "cpu":
        raise UsageError(f"training on several processes runs on CUDA or the CPU, not {chosen.type}")
    if dist.is_initialized():
        return procs, chosen
    dist.init_process_group("nccl" if chosen.type == "cuda" else "gloo",
                            rank=procs.rank, world_size=procs.world_size)
    log.info("process %d of %d on %s", procs.rank, procs.world_size, chosen)
    return Processes(procs.rank, procs.world_size, procs.local_rank, owns_group=True), chosen


def finish(procs: Processes) -> None:
    if procs.owns_group and dist.is_initialized():
        dist.destroy_process_group()


class SharedNetwork(DistributedDataParallel):
    """DistributedDataParallel that steps aside when there is nothing to synchronise.

    GAN steps run a frozen discriminator (``requires_grad_(False)``) to train the generator,
    and sample grids run networks under ``no_grad``; through DDP, such calls would leave
    the reducer waiting for gradients that never come. They go to the network itself. Other
    attributes (``net.generate(...)``) are the network's.
    """

    synchronised = False
    """Set once a call went through DDP (see :func:`check_shared`)."""

    def forward(self, *args: Any, **kwargs: Any) -> Any:
        if torch.is_grad_enabled() and any(p.requires_grad for p in self.module.parameters()):
            self.synchronised = True
            return super().forward(*args, **kwargs)
        return self.module(*args, **kwargs)

    def __getattr__(self, name: str) -> Any:
        try:
            return super().__getattr__(name)
        except AttributeError:
            if name == "module":
                raise
            return getattr(super().__getattr__("module"), name)


def share_networks(task: Any, networks: Mapping[str, torch.nn.Module], procs: Processes,
                   device: torch.device) -> dict[str, SharedNetwork]:
    """Wrap each trainable network of ``task`` in :class:`SharedNetwork` (after SyncBatchNorm
    on CUDA) and make the task use the wrappers. ``networks`` stay the plain modules, which
    is what checkpoints hold. Wrapping broadcasts rank 0's weights to every process."""
    if not procs.several:
        return {}
    shared = {}
    for name, net in networks.items():
        if not any(p.requires_grad for p in net.parameters()):
            continue  # e.g. an EMA copy: updated by the task, the same on every process
        if device.type == "cuda":  # replaces the BatchNorm layers inside ``net`` in place
            torch.nn.SyncBatchNorm.convert_sync_batchnorm(net)
        ids = [device.index] if device.type == "cuda" else None
        shared[name] = SharedNetwork(net, device_ids=ids)
    task.use_networks({wrapper.module: wrapper for wrapper in shared.values()})
    return shared


def check_shared(shared: Mapping[str, SharedNetwork]) -> None:
    """After the first step: a network that got gradients without going through its wrapper
    would train apart on every process, silently; stop instead."""
    missed = [name for name, net in shared.items() if not net.synchronised
              and any(p.grad is not None for p in net.module.parameters())]
    if missed:
        raise PluginError(f"network(s) {', '.join(missed)} trained without DistributedDataParallel: "
                          f"the task calls them where TrainingTask.use_networks does not reach "
                          f"(override it to use the wrappers it is given)")


def epoch_batches(items: int, batch_size: int, procs: Processes, seed: int, epoch: int) -> list[list[int]]:
    """This process's item indices for every step of ``epoch``: step i holds this process's
    ``batch_size`` of the ``world_size x batch_size`` items at positions i*N*B ... of the
    epoch's permutation (seeded by ``seed`` and ``epoch``, the same for any number of
    processes). Items left over at the end of an epoch are not used (as ``drop_last``)."""
    from torch.utils.data import DistributedSampler

    sampler = DistributedSampler(range(items), num_replicas=procs.world_size, rank=procs.rank,
                                 shuffle=True, seed=seed * 7919, drop_last=True)
    sampler.set_epoch(epoch)
    order = list(sampler)
    return [order[i * batch_size:(i + 1) * batch_size] for i in range(len(order) // batch_size)]


def seed_for(seed: int, procs: Processes) -> int:
    """Each process draws its own crops and noise; rank 0 draws what a single process does."""
    return seed + 1_000_003 * procs.rank


def any_process(flag: bool, procs: Processes, device: torch.device) -> bool:
    """True on every process when ``flag`` is true on one (e.g. Ctrl-C reached only some),
    so all stop at the same step."""
    if not procs.several:
        return flag
    value = torch.tensor([1.0 if flag else 0.0], device=device)
    dist.all_reduce(value, op=dist.ReduceOp.MAX)
    return bool(value.item())


def gather(value: Any, procs: Processes) -> list[Any]:
    """Every process's ``value`` (tensors moved to the CPU), in rank order, on every process."""
    value = to_cpu(value)
    if not procs.several:
        return [value]
    values: list[Any] = [None] * procs.world_size
    dist.all_gather_object(values, value)
    return values


def broadcast(value: Any, procs: Processes) -> Any:
    """Rank 0's ``value`` on every process (so all take the same decision)."""
    if not procs.several:
        return value
    box = [value]
    dist.broadcast_object_list(box, src=0)
    return box[0]


def barrier(procs: Processes) -> None:
    if procs.several:
        dist.barrier()


def to_cpu(value: Any) -> Any:
    if isinstance(value, torch.Tensor):
        return value.detach().cpu()
    if isinstance(value, dict):
        return {k: to_cpu(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(to_cpu(v) for v in value)
    return value
