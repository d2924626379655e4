"""imgtrans' pix2pix and CycleGAN training steps against the reference's, step for step.

    python bench/reference_train.py --reference CHECKOUT              # every case, 3 steps
    python bench/reference_train.py --reference CHECKOUT --case cyclegan_pool0 --steps 5

CHECKOUT is a work tree of junyanz/pytorch-CycleGAN-and-pix2pix. Its ``models`` package
(networks, Pix2PixModel, CycleGANModel, get_scheduler) and ``util/image_pool.py`` are imported
in this process at run time (nothing of it is copied here), with the helpers of
bench/side_by_side.py; that code path imports no torchvision or dominate, so no stand-in from
bench/reference_stubs.py is needed. tests/gan/test_gan_reference_steps.py runs the same
comparison when ``IMGTRANS_REFERENCE_CYCLEGAN`` names a checkout.

How: one imgtrans training task and one reference model per case, built from the same options,
the reference's networks given our initial weights (strict ``load_state_dict``), both in train
mode. Each step feeds both the same batch (generated images, batch 1, no crop or flip: our
task's jitter is the identity, the reference gets ``2x - 1`` of the same tensor) after seeding
torch's generator alike (pix2pix's dropout masks). Cases: ``pix2pix`` (unet_128, batch norm,
dropout, vanilla GAN, 128x128: the smallest U-Net the reference builds), ``cyclegan``
(resnet_9blocks, instance norm, LSGAN, pool 50, 32x32) and ``cyclegan_pool0``; width 16.

Printed per step: each loss on both sides, and per network the largest absolute difference of
its parameters and of its batch-norm running statistics (and whether num_batches_tracked
agrees). Then the learning rate of every epoch of the default 100 + 100 schedule: the
reference's get_scheduler stepped where its train.py calls ``update_learning_rate()`` (found in
its source: before or after the epoch's steps), ours stepped as imgtrans/training/loop.py
does (after the epoch's steps).
"""

from __future__ import annotations

import argparse
import ast
import contextlib
import importlib
import sys
import tempfile
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from types import SimpleNamespace
from typing import Any, Iterator

import cv2
import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from side_by_side import check_checkout, print_header, quiet, reference_on_path  # noqa: E402

from imgtrans.training.task import TrainSettings  # noqa: E402
from imgtrans_gan.options import CycleGANTrainOptions, Pix2PixTrainOptions  # noqa: E402
from imgtrans_gan.training import CycleGANTask, Pix2PixTask  # noqa: E402

SEED = 0
WIDTH = 16


@dataclass(frozen=True)
class Case:
    """One comparison: our options, the reference's, and how names correspond."""

    name: str
    size: int
    ours: dict[str, Any]
    reference: dict[str, Any]
    networks: dict[str, str]  # our network name -> the reference model's attribute
    losses: dict[str, str]  # our loss name -> the reference model's attribute
    unaligned: bool = False
    model: str = field(default="pix2pix")


_CG_NETS = {"G_A": "netG_A", "G_B": "netG_B", "D_A": "netD_A", "D_B": "netD_B"}
_CG_LOSSES = {"G_A": "loss_G_A", "G_B": "loss_G_B", "cyc_A": "loss_cycle_A", "cyc_B": "loss_cycle_B",
              "D_A": "loss_D_A", "D_B": "loss_D_B"}
CASES = {
    "pix2pix": Case("pix2pix", 128, {"generator": "unet", "depth": 7},
                    {"netG": "unet_128", "norm": "batch", "no_dropout": False, "gan_mode": "vanilla",
                     "pool_size": 0},
                    {"G": "netG", "D": "netD"}, {"G_GAN": "loss_G_GAN", "G_L1": "loss_G_L1", "D": "loss_D"}),
    "cyclegan": Case("cyclegan", 32, {"n_blocks": 9, "pool_size": 50},
                     {"netG": "resnet_9blocks", "norm": "instance", "no_dropout": True, "gan_mode": "lsgan",
                      "pool_size": 50}, _CG_NETS, _CG_LOSSES, unaligned=True, model="cyclegan"),
    "cyclegan_pool0": Case("cyclegan_pool0", 32, {"n_blocks": 9, "pool_size": 0},
                           {"netG": "resnet_9blocks", "norm": "instance", "no_dropout": True,
                            "gan_mode": "lsgan", "pool_size": 0}, _CG_NETS, _CG_LOSSES, unaligned=True,
                           model="cyclegan"),
}


# -- the reference, imported from the checkout ---------------------------------------------

@contextlib.contextmanager
def reference_imported(checkout: Path) -> Iterator[SimpleNamespace]:
    """The checkout's ``models.networks``, ``models.pix2pix_model`` and
    ``models.cycle_gan_model``. Its top-level ``models`` and ``util`` packages are taken out
    of sys.modules again afterwards (and any module of those names restored), so a test
    process is left as it was."""
    names = ("models", "util")
    owned = lambda name: name.split(".")[0] in names  # noqa: E731
    saved = {name: module for name, module in sys.modules.items() if owned(name)}
    for name in saved:
        del sys.modules[name]
    try:
        with reference_on_path(checkout), quiet():
            yield SimpleNamespace(**{part: importlib.import_module(f"models.{part}") for part in
                                     ("networks", "pix2pix_model", "cycle_gan_model")})
    finally:
        for name in [name for name in sys.modules if owned(name)]:
            del sys.modules[name]
        sys.modules.update(saved)


def reference_options(case: Case, folder: Path, **schedule: Any) -> SimpleNamespace:
    """What Pix2PixModel / CycleGANModel, BaseModel.setup and get_scheduler read of the
    reference's option namespace (train.py's defaults; gpu_ids for checkouts before the 2025
    DDP change). preprocess is scale_width only so that BaseModel leaves the process-wide
    cudnn.benchmark flag alone (the models never read it otherwise)."""
    n_epochs, n_epochs_decay = schedule.get("n_epochs", 100), schedule.get("n_epochs_decay", 100)
    return SimpleNamespace(
        isTrain=True, checkpoints_dir=str(folder), name="bench", device=torch.device("cpu"), gpu_ids=[],
        preprocess="scale_width", input_nc=3, output_nc=3, ngf=WIDTH, ndf=WIDTH, netD="basic", n_layers_D=3,
        init_type="normal", init_gain=0.02, lr=2e-4, beta1=0.5, direction="AtoB", lambda_L1=100.0,
        lambda_A=10.0, lambda_B=10.0, lambda_identity=0.5, lr_policy="linear", epoch_count=1,
        n_epochs=n_epochs, n_epochs_decay=n_epochs_decay, niter=n_epochs, niter_decay=n_epochs_decay,
        lr_decay_iters=50, verbose=False, continue_train=False, load_iter=0, epoch="latest",
        **case.reference)


def lr_update_position(train_py: Path) -> str:
    """"before" or "after": where the reference's train.py calls ``model.update_learning_rate()``
    in its epoch loop, relative to the loop over the dataset."""
    tree = ast.parse(train_py.read_text(encoding="utf-8"))
    for loop in ast.walk(tree):
        if isinstance(loop, ast.For) and isinstance(loop.target, ast.Name) and loop.target.id == "epoch":
            inner = [i for i, s in enumerate(loop.body) if isinstance(s, ast.For)]
            update = [i for i, s in enumerate(loop.body) if isinstance(s, ast.Expr)
                      and isinstance(s.value, ast.Call) and isinstance(s.value.func, ast.Attribute)
                      and s.value.func.attr == "update_learning_rate"]
            if inner and update:
                return "before" if update[0] < inner[0] else "after"
    raise SystemExit(f"{train_py}: found no update_learning_rate() call in an epoch loop")


# -- the two sides ---------------------------------------------------------------------------

def _write_noise(path: Path, size: int, seed: int) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    base = cv2.resize(rng.integers(0, 256, (size // 4, size // 4, 3), dtype=np.uint8), (size, size),
                      interpolation=cv2.INTER_CUBIC)
    cv2.imwrite(str(path), cv2.add(base, rng.integers(0, 32, base.shape, dtype=np.uint8)))


def make_data(case: Case, folder: Path, count: int) -> Path:
    """``count`` items: A/ and B/ folders with matching names (aligned) or trainA/ trainB/."""
    a, b = ("trainA", "trainB") if case.unaligned else ("A", "B")
    for i in range(count):
        _write_noise(folder / a / f"{i:04d}.png", case.size, 2 * i)
        _write_noise(folder / b / f"{i:04d}.png", case.size, 2 * i + 1)
    return folder


@dataclass
class Pair:
    case: Case
    task: Any
    model: Any
    batches: list[tuple[torch.Tensor, torch.Tensor]]


def build_pair(case: Case, reference: SimpleNamespace, folder: Path, steps: int, **schedule: Any) -> Pair:
    """Our task (initialised with SEED) and the reference model with our initial weights."""
    size = {"ngf": WIDTH, "ndf": WIDTH, "load_size": case.size, "crop_size": case.size, "flip": False}
    settings = TrainSettings(data=make_data(case, folder / "data", steps), out=folder / "run")
    torch.manual_seed(SEED)
    if case.model == "pix2pix":
        task = Pix2PixTask(Pix2PixTrainOptions(**size, **case.ours, **schedule), settings, torch.device("cpu"))
        model_class = reference.pix2pix_model.Pix2PixModel
    else:
        task = CycleGANTask(CycleGANTrainOptions(**size, **case.ours, **schedule), settings, torch.device("cpu"))
        model_class = reference.cycle_gan_model.CycleGANModel
    task.jitter = lambda a, b=None: a if b is None else (a, b)  # deterministic: no crop, no flip
    opt = reference_options(case, folder, **schedule)
    with quiet():
        model = model_class(opt)
        model.setup(opt)  # what train.py calls: (re)initialises the nets, makes the schedulers
    for ours, theirs in case.networks.items():
        getattr(model, theirs).load_state_dict(task.networks()[ours].state_dict(), strict=True)
    batches = []
    for i in range(steps):
        a, b = task.dataset[i]
        batches.append((a[None], b[None]))
    return Pair(case, task, model, batches)


def step_both(pair: Pair, step: int) -> dict[str, Any]:
    """One training step on each side; the differences afterwards."""
    a, b = pair.batches[step]
    for net in pair.task.networks().values():
        net.train()
    torch.manual_seed(1000 + step)
    ours = pair.task.train_step((a, b))
    torch.manual_seed(1000 + step)
    pair.model.set_input({"A": a * 2.0 - 1.0, "B": b * 2.0 - 1.0, "A_paths": ["a"], "B_paths": ["b"]})
    pair.model.optimize_parameters()
    theirs = {name: getattr(pair.model, attr).item() for name, attr in pair.case.losses.items()}
    nets = {}
    for name, attr in pair.case.networks.items():
        mine, ref = pair.task.networks()[name].state_dict(), getattr(pair.model, attr).state_dict()
        params = dict(pair.task.networks()[name].named_parameters())
        stats = [k for k in mine if "running_" in k]
        counts = [k for k in mine if k.endswith("num_batches_tracked")]
        nets[name] = {
            "params": max(float((mine[k] - ref[k]).abs().max()) for k in params),
            "running": max((float((mine[k] - ref[k]).abs().max()) for k in stats), default=None),
            "counts": all(torch.equal(mine[k], ref[k]) for k in counts) if counts else None,
            "same": mine.keys() == ref.keys() and all(torch.equal(mine[k], ref[k]) for k in mine),
        }
    return {"ours": ours, "reference": theirs, "networks": nets,
            "identical": all(ours[k] == theirs[k] for k in ours) and all(n["same"] for n in nets.values())}


def compare_steps(case: Case, checkout: Path, steps: int = 3) -> list[dict[str, Any]]:
    """``steps`` steps of ``case`` on both sides; one record per step (see :func:`step_both`)."""
    with reference_imported(checkout) as reference, tempfile.TemporaryDirectory() as tmp:
        pair = build_pair(case, reference, Path(tmp), steps)
        return [step_both(pair, i) for i in range(steps)]


def compare_schedules(checkout: Path, n_epochs: int = 100, n_epochs_decay: int = 100) -> dict[str, Any]:
    """Every epoch's learning rate (G's optimizer; D's is the same) on both sides."""
    position = lr_update_position(checkout / "train.py")
    case, schedule = CASES["pix2pix"], {"n_epochs": n_epochs, "n_epochs_decay": n_epochs_decay}
    with reference_imported(checkout) as reference, tempfile.TemporaryDirectory() as tmp:
        pair = build_pair(case, reference, Path(tmp), 1, **schedule)
        ours, theirs = [], []
        with quiet(), warnings.catch_warnings():  # schedules stepped with no training step between
            warnings.filterwarnings("ignore", message="Detected call of `lr_scheduler.step")
            for _ in range(n_epochs + n_epochs_decay):
                if position == "before":
                    pair.model.update_learning_rate()
                theirs.append(pair.model.optimizers[0].param_groups[0]["lr"])
                ours.append(pair.task.opt_G.param_groups[0]["lr"])
                if position == "after":
                    pair.model.update_learning_rate()
                for scheduler in pair.task.schedulers().values():  # loop.py: after the epoch's steps
                    scheduler.step()
    return {"position": position, "ours": ours, "reference": theirs}


# -- printing --------------------------------------------------------------------------------

def _fmt(value: float | None) -> str:
    return "-" if value is None else f"{value:.3g}"


def print_steps(case: Case, records: list[dict[str, Any]]) -> None:
    for i, record in enumerate(records, 1):
        losses = "  ".join(f"{k} {v:.6g} (diff {abs(v - record['reference'][k]):.3g})"
                           for k, v in record["ours"].items())
        print(f"  step {i}  {'bit-identical' if record['identical'] else 'DIFFERENT'}   losses: {losses}")
        for name, net in record["networks"].items():
            counts = {None: "", True: "   num_batches_tracked equal", False: "   num_batches_tracked DIFFER"}
            print(f"    {name:<4} max |diff| params {_fmt(net['params'])}   running stats "
                  f"{_fmt(net['running'])}{counts[net['counts']]}")


def print_schedules(result: dict[str, Any]) -> None:
    ours, theirs = result["ours"], result["reference"]
    differ = [e for e, (a, b) in enumerate(zip(ours, theirs), 1) if a != b]
    print(f"learning rate per epoch (100 + 100 epochs): the reference's train.py steps it "
          f"{result['position']} the epoch's steps; imgtrans after")
    for epoch in (1, 100, 101, 199, 200):
        print(f"  epoch {epoch:>3}   imgtrans {ours[epoch - 1]:.4g}   reference {theirs[epoch - 1]:.4g}")
    print(f"  epochs with a different rate: {len(differ)} of {len(ours)}"
          + (f" (first {differ[0]}, last {differ[-1]})" if differ else ""))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reference", type=Path, required=True, help="work tree of the reference")
    parser.add_argument("--case", choices=sorted(CASES), action="append", help="default: every case")
    parser.add_argument("--steps", type=int, default=3)
    parser.add_argument("--threads", type=int, default=2, help="torch threads")
    args = parser.parse_args()
    checkout = check_checkout(args.reference, "train.py", "models/networks.py", "util/image_pool.py")
    print_header(args.threads, f"reference {checkout}; {args.steps} steps, batch 1, width {WIDTH}, seed {SEED}")
    identical = True
    for name in args.case or list(CASES):
        case = CASES[name]
        print(f"{name}: {case.reference['netG']}, {case.reference['norm']} norm, {case.size}x{case.size}, "
              f"pool {case.reference['pool_size']}")
        records = compare_steps(case, checkout, args.steps)
        print_steps(case, records)
        identical &= all(r["identical"] for r in records)
    schedules = compare_schedules(checkout)
    print_schedules(schedules)
    differ = sum(a != b for a, b in zip(schedules["ours"], schedules["reference"]))
    print(f"verdict: steps {'bit-identical' if identical else 'DIFFERENT'}; learning rates "
          + ("identical in every epoch" if not differ else f"DIFFERENT in {differ} epochs"))


if __name__ == "__main__":
    main()
