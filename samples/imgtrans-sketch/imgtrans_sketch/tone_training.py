"""Training ``tone`` with the shared loop (``imgtrans train tone DATA --out RUN``).

Data are before/after pairs in the usual aligned layouts: ``DATA/train/A/x.png`` with
``DATA/train/B/x.png`` (or ``DATA/A`` and ``DATA/B``, or side-by-side A|B images). The loop
does epochs, seeding, sample grids, checkpoints and ``--resume``; this module only says what
the networks and optimizers are and what one step does.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F

from imgtrans.plugin import PairedDataset, TrainingTask, aligned_samples, check_items
from imgtrans_sketch.options import TONE, ToneTrainOptions
from imgtrans_sketch.tone_network import ToneConfig, ToneNet


class ToneTask(TrainingTask):
    plugin = TONE

    def __init__(self, options: ToneTrainOptions, settings: Any, device: Any) -> None:
        samples, problems = aligned_samples(Path(settings.data))
        self.dataset = PairedDataset(check_items(samples, problems, settings.on_bad_data),
                                     options.load_size)
        self.options = options
        self.default_epochs = options.n_epochs
        self.config = ToneConfig(width=options.width)
        self.net = ToneNet(self.config).to(device)
        self.optimizer = torch.optim.Adam(self.net.parameters(), lr=options.lr)

    def networks(self) -> dict[str, torch.nn.Module]:
        return {"net": self.net}

    def optimizers(self) -> dict[str, torch.optim.Optimizer]:
        return {"net": self.optimizer}

    def network_configs(self) -> dict[str, dict[str, Any]]:
        return {"net": self.config.to_dict()}

    def train_step(self, batch: tuple[torch.Tensor, ...]) -> dict[str, float]:
        before, after = batch
        self.optimizer.zero_grad()
        loss = F.mse_loss(self.net(before), after)
        loss.backward()
        self.optimizer.step()
        return {"rms": 255 * loss.item() ** 0.5}  # shown by `imgtrans train`, in 8-bit levels

    def sample_grid(self, batch: tuple[torch.Tensor, ...]) -> torch.Tensor:
        """One row per image: before | graded by the network | after."""
        before, after = batch
        graded = self.net(before).clamp(0, 1)
        rows = [torch.cat(row, dim=2) for row in zip(before, graded, after)]
        return torch.cat(rows, dim=1)
