"""The contract between a trainable translator and the shared training loop. Torch-free,
so plugins can subclass it at import time without making ``imgtrans plugins`` load torch."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Mapping

if TYPE_CHECKING:
    import torch

    from imgtrans.training.checks import Checks


@dataclass
class TrainSettings:
    """What every training run has, whatever the translator. ``batch_size`` is per process:
    N processes train on N x batch_size items a step, the items one process would train on
    with a batch of N x batch_size (see :mod:`imgtrans.training.distributed`)."""

    data: Path
    out: Path
    epochs: int | None = None
    max_steps: int | None = None
    batch_size: int = 1
    seed: int = 0
    device: str = "auto"
    save_every: int = 0
    resume: bool = False
    on_bad_data: str = "stop"


@dataclass
class Progress:
    """One training step as the progress display sees it."""

    step: int
    total_steps: int
    epoch: int
    epochs: int
    losses: dict[str, float]


class TrainingTask:
    """What a translator implements to be trained. ``dataset[i]`` returns a tuple of float
    tensors in [0, 1]; the loop stacks them into batches on ``device``.

    The loop calls :meth:`check` before it writes anything or takes a step, so bad settings
    and data end in one clear line each instead of a traceback from inside a network. Under
    ``torchrun`` the loop wraps every trainable network in DistributedDataParallel through
    :meth:`use_networks`; a task needs no code of its own for that.
    """

    plugin: str = ""
    """The translator's name, recorded in every checkpoint."""
    default_epochs: int = 1
    dataset: Any = None
    options: Any = None
    """The training options dataclass; saved in checkpoints and used by ``--resume``."""

    def networks(self) -> dict[str, "torch.nn.Module"]:
        raise NotImplementedError

    def optimizers(self) -> dict[str, "torch.optim.Optimizer"]:
        raise NotImplementedError

    def schedulers(self) -> dict[str, Any]:
        return {}

    def train_step(self, batch: tuple[Any, ...]) -> dict[str, float]:
        raise NotImplementedError

    def check(self, checks: "Checks") -> None:
        """Report what would fail once training starts: ``checks.setting(...)`` for options
        that do not fit (exit 2), ``checks.data(...)`` for data that does not fit (exit 3);
        ``checks`` also probes networks and image sizes (see :class:`~imgtrans.training.checks.Checks`).
        The loop has already checked the batch size against the data."""

    @staticmethod
    def data_error(message: str) -> Exception:
        """The error to raise for unusable data found while building the dataset (exit 3);
        later problems go to :meth:`check`."""
        from imgtrans.errors import DataError

        return DataError(message)

    def use_networks(self, replacements: Mapping[Any, Any]) -> None:
        """Make the task call ``replacements[net]`` wherever it called ``net``: the loop
        passes DistributedDataParallel wrappers. Attributes and dict entries of the task that
        hold a network are swapped; override this if a task keeps networks elsewhere."""
        for name, value in list(vars(self).items()):
            if isinstance(value, dict):
                for key, item in list(value.items()):
                    if any(item is net for net in replacements):
                        value[key] = replacements[item]
            elif any(value is net for net in replacements):
                setattr(self, name, replacements[value])

    def sample_grid(self, batch: tuple[Any, ...]) -> Any:
        """A (3, H, W) image in [0, 1] showing inputs, outputs and targets."""
        raise NotImplementedError

    def network_configs(self) -> dict[str, dict[str, Any]]:
        """Each network's configuration (what rebuilds it), by the names of ``networks()``."""
        return {}

    def checkpoint_extra(self) -> dict[str, Any]:
        """Anything else inference needs (plain JSON), saved as the checkpoint's ``extra``."""
        return {}

    def extra_state(self) -> dict[str, Any]:
        return {}

    def load_extra_state(self, state: dict[str, Any]) -> None:
        pass

    def write_extra(self, folder: Path) -> None:
        """Write extra files into a checkpoint folder as it is being made (e.g. the model in
        another library's layout); the folder is renamed into place afterwards."""
