"""pix2pix and CycleGAN steps in the reference's order (issue 27), checked without the
reference itself (tests/gan/test_gan_reference_steps.py compares with it step for step):
the discriminators never backpropagate into the generators whatever the pool size, pix2pix's
D sees the fake pair before the real one, and each epoch's learning rate is the one
junyanz/pytorch-CycleGAN-and-pix2pix's train.py gives it."""

from __future__ import annotations

import math

import cv2
import numpy as np
import pytest
import torch

from imgtrans.training.loop import train
from imgtrans.training.task import TrainSettings
from imgtrans_gan.options import CycleGANTrainOptions, Pix2PixTrainOptions
from imgtrans_gan.training import CycleGANTask, Pix2PixTask

pytestmark = pytest.mark.usefixtures("one_torch_thread")

SIZE = 32
TINY_P2P = {"depth": 5, "ngf": 8, "ndf": 8, "load_size": SIZE, "crop_size": SIZE, "flip": False}
TINY_CG = {"n_blocks": 2, "ngf": 8, "ndf": 8, "load_size": SIZE, "crop_size": SIZE, "flip": False}
CPU = torch.device("cpu")


def _noise(path, height, width, seed):
    path.parent.mkdir(parents=True, exist_ok=True)
    pixels = np.random.default_rng(seed).integers(0, 256, (height, width, 3), dtype=np.uint8)
    assert cv2.imwrite(str(path), pixels)


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    root = tmp_path_factory.mktemp("data")
    for i in range(2):
        _noise(root / "aligned" / "train" / f"{i}.png", SIZE, 2 * SIZE, seed=i)  # A|B side by side
        _noise(root / "unaligned" / "trainA" / f"{i}.png", SIZE, SIZE, seed=10 + i)
        _noise(root / "unaligned" / "trainB" / f"{i}.png", SIZE, SIZE, seed=20 + i)
    return root


def _settings(data, tmp_path, folder):
    return TrainSettings(data=data / folder, out=tmp_path / "run")


def _batch(task, *indices):
    items = [task.dataset[i] for i in indices]
    return tuple(torch.stack(parts) for parts in zip(*items))


def _cyclegan(data, tmp_path, pool_size):
    torch.manual_seed(0)
    return CycleGANTask(CycleGANTrainOptions(**TINY_CG, pool_size=pool_size),
                        _settings(data, tmp_path, "unaligned"), CPU)


def test_cyclegan_without_a_pool_trains_and_the_d_step_leaves_the_generators_alone(data, tmp_path):
    task = _cyclegan(data, tmp_path, pool_size=0)
    generators = [p for name in ("G_A", "G_B") for p in task.networks()[name].parameters()]
    grads = {}

    def record(name):
        def hook(optimizer, args, kwargs):
            grads[name] = [p.grad.clone() for p in generators]
        return hook

    task.opt_G.register_step_pre_hook(record("G step"))
    task.opt_D.register_step_pre_hook(record("D step"))
    batch = _batch(task, 0)
    for _ in range(2):
        losses = task.train_step(batch)
        assert set(losses) == {"G_A", "G_B", "cyc_A", "cyc_B", "D_A", "D_B"}
        assert all(math.isfinite(value) for value in losses.values()), losses
        # the D step ran after the G step: G's gradients are still exactly the G step's
        assert all(torch.equal(g, d) for g, d in zip(grads["G step"], grads["D step"]))
        assert any(g.abs().sum() > 0 for g in grads["G step"])


def test_cyclegan_pool_size_zero_is_a_pool_that_always_returns_the_newest_fakes(data, tmp_path):
    """Until a pool is full it returns the images it was given, so pool_size=0 and 50 train
    the first steps identically: size 0 changes nothing but the pool."""
    without, with_pool = _cyclegan(data, tmp_path, 0), _cyclegan(data, tmp_path, 50)
    batch = _batch(without, 0)
    for step in range(2):
        torch.manual_seed(step)
        first = without.train_step(batch)
        torch.manual_seed(step)
        assert with_pool.train_step(batch) == first
    for name, net in without.networks().items():
        other = with_pool.networks()[name].state_dict()
        assert all(torch.equal(value, other[key]) for key, value in net.state_dict().items()), name


def test_pix2pix_discriminator_sees_the_fake_pair_first(data, tmp_path):
    torch.manual_seed(0)
    task = Pix2PixTask(Pix2PixTrainOptions(**TINY_P2P), _settings(data, tmp_path, "aligned"), CPU)
    fakes, calls = [], []
    task.G.register_forward_hook(lambda module, args, output: fakes.append(output.detach()))

    def which(module, args):
        b_half = args[0][:, task.options.input_nc:]
        calls.append("fake" if any(torch.equal(b_half, fake) for fake in fakes) else "real")

    task.D.register_forward_pre_hook(which)
    task.train_step(_batch(task, 0, 1))
    # D step: fake pair, then real pair (the reference's backward_D); then the G step's fake
    assert calls == ["fake", "real", "fake"]


def test_pix2pix_d_running_statistics_follow_the_fake_then_real_order(data, tmp_path):
    """D's batch-norm running statistics when its step is taken are those of the fake pair
    then the real pair, computed here by hand on a copy of D; the other order gives others."""
    torch.manual_seed(0)
    task = Pix2PixTask(Pix2PixTrainOptions(**TINY_P2P), _settings(data, tmp_path, "aligned"), CPU)
    task.jitter = lambda a, b: (a, b)  # no crop or flip to draw: the step's RNG is dropout's alone
    batch = _batch(task, 0, 1)
    d_before = {k: v.clone() for k, v in task.D.state_dict().items()}
    g_before = {k: v.clone() for k, v in task.G.state_dict().items()}
    at_d_step = {}
    task.opt_D.register_step_pre_hook(lambda optimizer, args, kwargs: at_d_step.update(
        {k: v.clone() for k, v in task.D.state_dict().items() if "running" in k}))
    torch.manual_seed(5)
    task.train_step(batch)

    def running_stats(order):
        g, d = task.G_config.build().train(), task.D_config.build().train()
        g.load_state_dict(g_before)
        d.load_state_dict(d_before)
        real_a, real_b = (x * 2 - 1 for x in batch)
        torch.manual_seed(5)  # the step's dropout masks
        with torch.no_grad():
            pairs = {"fake": torch.cat([real_a, g(real_a)], 1), "real": torch.cat([real_a, real_b], 1)}
            for name in order:
                d(pairs[name])
        return {k: v for k, v in d.state_dict().items() if "running" in k}

    assert at_d_step and at_d_step.keys() == running_stats(["fake", "real"]).keys()
    expected, swapped = running_stats(["fake", "real"]), running_stats(["real", "fake"])
    assert all(torch.equal(v, expected[k]) for k, v in at_d_step.items())
    assert not all(torch.equal(v, swapped[k]) for k, v in at_d_step.items())


def reference_lambda_rule(epoch, n_epochs, n_epochs_decay, epoch_count=1):
    """models/networks.py get_scheduler, lr_policy 'linear' (LambdaLR's lr_lambda)."""
    return 1.0 - max(0, epoch + epoch_count - n_epochs) / float(n_epochs_decay + 1)


@pytest.mark.parametrize("plugin", ["pix2pix", "cyclegan"])
def test_every_epoch_trains_at_the_reference_learning_rate(data, tmp_path, plugin):
    """The reference's train.py (since 2025-07-30, commit cb0ebe9) calls
    model.update_learning_rate() after each epoch's steps, so LambdaLR has been stepped
    e - 1 times when epoch e (1-based) trains: its lr is lr * lambda_rule(e - 1). (From
    2020-07-19, fd29199, until then it stepped before the steps: lambda_rule(e).)"""
    n_epochs, n_epochs_decay = 2, 3
    schedule = {"n_epochs": n_epochs, "n_epochs_decay": n_epochs_decay, "lr": 1e-3}
    folder = "aligned" if plugin == "pix2pix" else "unaligned"
    settings = _settings(data, tmp_path, folder)
    torch.manual_seed(0)
    if plugin == "pix2pix":
        task = Pix2PixTask(Pix2PixTrainOptions(**TINY_P2P, **schedule), settings, CPU)
    else:
        task = CycleGANTask(CycleGANTrainOptions(**TINY_CG, **schedule), settings, CPU)
    seen = {}

    def on_progress(progress):
        rates = {name: opt.param_groups[0]["lr"] for name, opt in task.optimizers().items()}
        assert seen.setdefault(progress.epoch, rates) == rates  # one rate for a whole epoch

    train(task, settings, CPU, on_progress)
    expected = {e: 1e-3 * reference_lambda_rule(e - 1, n_epochs, n_epochs_decay)
                for e in range(1, n_epochs + n_epochs_decay + 1)}
    assert sorted(seen) == sorted(expected)
    for epoch, rates in seen.items():
        assert rates == {"G": pytest.approx(expected[epoch], rel=1e-12),
                         "D": pytest.approx(expected[epoch], rel=1e-12)}, epoch
    assert [round(expected[e] / 1e-3, 6) for e in sorted(expected)] == [1.0, 1.0, 0.75, 0.5, 0.25]
