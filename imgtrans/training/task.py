"""The contract between a trainable translator and the shared training loop. Torch-free,
so plugins can subclass it at import time without making ``imgtrans plugins`` load torch."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import torch


@dataclass
class TrainSettings:
    """What every training run has, whatever the translator."""

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
    tensors in [0, 1]; the loop stacks them into batches on ``device``."""

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
