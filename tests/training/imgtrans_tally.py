"""A third-party translator for the training tests, written as an outside plugin would be
(``imgtrans.plugin`` only, no code for several processes): ``tally`` learns ``b = 0.5 a +
0.25`` with a 1x1 convolution and plain SGD, so results are exact enough to compare runs,
and with ``--opt record=FOLDER`` each process appends the items of every step it trains on
to ``FOLDER/rank<RANK>.jsonl``. Its data are generated in memory: DATA may be any folder.
Registered with ``IMGTRANS_PLUGINS=imgtrans_tally`` or the ``register_plugin`` fixture."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Optional

from imgtrans.plugin import Capabilities, TrainingTask, Translator, hookimpl


@dataclass(frozen=True)
class TallyTrainOptions:
    items: int = field(default=10, metadata={"help": "generated training pairs"})
    lr: float = 0.1
    n_epochs: int = 3
    record: Optional[str] = field(default=None, metadata={"help": "folder for per-process item logs"})


class TallyTask(TrainingTask):
    plugin = "tally"

    def __init__(self, options: TallyTrainOptions, settings: Any, device: Any) -> None:
        import torch

        self.options, self.default_epochs = options, options.n_epochs
        images = torch.rand(options.items, 3, 4, 4, generator=torch.Generator().manual_seed(7))
        self.dataset = [(torch.tensor([float(i)]), a, 0.5 * a + 0.25) for i, a in enumerate(images)]
        self.net = torch.nn.Conv2d(3, 3, 1).to(device)
        self.opt = torch.optim.SGD(self.net.parameters(), lr=options.lr)

    def networks(self) -> dict[str, Any]:
        return {"net": self.net}

    def optimizers(self) -> dict[str, Any]:
        return {"net": self.opt}

    def train_step(self, batch: tuple[Any, ...]) -> dict[str, float]:
        import torch.nn.functional as F

        index, a, b = batch
        if self.options.record:
            line = {"items": sorted(int(i) for i in index.flatten().tolist())}
            with open(Path(self.options.record) / f"rank{os.environ.get('RANK', '0')}.jsonl", "a") as f:
                f.write(json.dumps(line) + "\n")
        self.opt.zero_grad()
        loss = F.mse_loss(self.net(a), b)
        loss.backward()
        self.opt.step()
        return {"mse": loss.item()}

    def sample_grid(self, batch: tuple[Any, ...]) -> Any:
        import torch

        _, a, b = batch
        return torch.cat([torch.cat(list(a), -1), torch.cat(list(self.net(a).clamp(0, 1)), -1),
                          torch.cat(list(b), -1)], -2)


class TallyTranslator(Translator):
    name = "tally"
    summary = "b = 0.5 a + 0.25, learned (training tests)"
    capabilities = Capabilities(training=True, paired=True)
    TrainOptions = TallyTrainOptions

    @classmethod
    def training_task(cls, options: TallyTrainOptions, settings: Any, device: Any) -> Any:
        return TallyTask(options, settings, device)


@hookimpl
def register_translators(register: Any) -> None:
    register(TallyTranslator)
