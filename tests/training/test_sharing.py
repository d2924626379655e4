"""How the loop shares a task's networks between processes, checked in one gloo process on
127.0.0.1: wrappers replace the task's references, frozen or no-grad calls and the network's
own methods go around DDP, and a network the wrappers cannot reach stops the run."""

from __future__ import annotations

import socket

import pytest
import torch
import torch.distributed as dist
from torch import nn

from imgtrans.errors import PluginError
from imgtrans.training.distributed import Processes, SharedNetwork, check_shared, share_networks
from imgtrans.training.task import TrainingTask


@pytest.fixture
def one_process_group():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    dist.init_process_group("gloo", init_method=f"tcp://127.0.0.1:{port}", rank=0, world_size=1)
    yield Processes(0, 2)  # the loop's view: several processes (the group has one)
    dist.destroy_process_group()


class Net(nn.Linear):
    def describe(self) -> str:
        return "a net"


class Task(TrainingTask):
    def __init__(self) -> None:
        self.G, self.D = Net(2, 2), Net(2, 1)
        self.ema = Net(2, 2).requires_grad_(False)
        self._nets = {"G": self.G, "D": self.D, "ema": self.ema}
        self.hidden = [self.G]

    def networks(self):
        return self._nets

    def step(self, via_list: bool = False) -> None:
        g = self.hidden[0] if via_list else self.G
        self.D.requires_grad_(True)
        self.D(g(torch.ones(1, 2)).detach()).sum().backward()
        self.D.requires_grad_(False)
        self.D(g(torch.ones(1, 2))).sum().backward()  # frozen D: around DDP


def test_wrappers_replace_attributes_and_dict_entries(one_process_group):
    task = Task()
    plain = dict(task.networks())
    shared = share_networks(task, plain, one_process_group, torch.device("cpu"))
    assert sorted(shared) == ["D", "G"]  # the EMA copy trains no parameter
    assert isinstance(task.G, SharedNetwork) and task.networks()["D"] is task.D is shared["D"]
    assert task.ema is plain["ema"] and task.hidden[0] is plain["G"]
    assert task.G.describe() == "a net" and task.G.module is plain["G"]
    task.step()
    check_shared(shared)
    assert shared["G"].synchronised and shared["D"].synchronised
    with torch.no_grad():
        assert task.G(torch.ones(1, 2)).shape == (1, 2)


def test_a_network_the_wrappers_cannot_reach_stops_the_run(one_process_group):
    task = Task()
    shared = share_networks(task, dict(task.networks()), one_process_group, torch.device("cpu"))
    task.step(via_list=True)
    with pytest.raises(PluginError, match="network.s. G trained without DistributedDataParallel"):
        check_shared(shared)
