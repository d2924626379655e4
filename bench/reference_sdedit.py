"""imgtrans against the official SDEdit loop, side by side, with the same network.

    python bench/reference_sdedit.py --reference CHECKOUT                  # bundled sdedit.facades_synth
    python bench/reference_sdedit.py --reference CHECKOUT --random --strength 0.1   # ddpm-cifar10-32 size

CHECKOUT is a checkout of ermongroup/SDEdit (runners/image_editing.py is used; nothing of it
is copied here).

Network: the bundled ``sdedit.facades_synth`` diffusers UNet (32x32), or with ``--random`` a
random UNet2DModel of google/ddpm-cifar10-32's configuration (35.7 M parameters). Its
scheduler config (linear betas 1e-4 to 0.02 over 1000 steps, fixed_small variance) is given
to the reference as its config (beta_start, beta_end, num_diffusion_timesteps, var_type).

Reference side: its ``Diffusion(args, config).image_editing_sample()`` itself, in this process,
with K = 1 repeat (``sample_step``), ``t = steps run`` and batch size = ``--images``: it loads
the demo file ``colab_demo/<name>.pth`` ([mask, image], here an all-zero mask: edit
everywhere, and the guide image), repeats the image ``--images`` times, noises it to t0 and
runs its ``image_editing_denoising_step_flexible_mask`` ancestral steps t-1...0 (one network
call each, on the whole batch), re-noising the masked region after every step, and saves
what it saves (init and every-100-steps PNG grids, samples_0.png and samples_0.pth).
What it would download is given locally: ``runners.image_editing.Model`` builds our UNet
wrapped to the reference's ``model(x, t)`` call (``t`` a float tensor), the checkpoint
"download" (``torch.hub.load_state_dict_from_url``) reads the same weights file, the demo
data download is skipped (the .pth is written before the run); ``torchvision.utils`` is a
stand-in (bench/reference_stubs.py); torch.load runs weights-only.
Same noise: ``torch.randn_like`` is replaced during the reference run by draws from one
generator per batch image, seeded and drawn in the order imgtrans draws its per-image noise
(perturbation, then one draw per step), so the two sides sample the same trajectory and
the output difference shows arithmetic differences only. ``--own-noise`` keeps the
reference's global RNG instead (then outputs are independent samples and differ fully).

imgtrans side: ``imgtrans.convert`` of ``--images`` files (copies of the same guide, as the
reference's batch) with ``scheduler=ddpm steps=1000 strength=t/1000``: the same 1000-step
DDPM grid, timesteps t-1...0, fixed_small ancestral steps, no clipping, batch size auto (8
on CPU). imgtrans runs diffusers' DDPMScheduler.step; the reference its own formula (the
same mathematics, different float operation order).

The UNet's forward is timed on both sides (calls and seconds), and so is building and
loading it (reference: Model() and the checkpoint "download"; imgtrans: the translator's
load); printed are images/s, the UNet share, ratios imgtrans / reference and the 8-bit
difference of the outputs (the reference's samples quantised as its save_image does).
"""

from __future__ import annotations

import argparse
import contextlib
import importlib
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path
from types import SimpleNamespace
from typing import Any, Iterator

import cv2
import numpy as np
import torch
from torch import nn

sys.path.insert(0, str(Path(__file__).resolve().parent))
import reference_stubs  # noqa: E402  (bench/ is not a package)
from side_by_side import (Run, Stopwatch, add_common_arguments, alternate, best, check_checkout,  # noqa: E402
                          diff_line, level_difference, load_average, print_header, quiet, rate_line,
                          ratio_line, read_image, reference_on_path, timed_classmethod, weights_only_loading)

import imgtrans  # noqa: E402
from imgtrans.core.runner import image_seed  # noqa: E402
from imgtrans.plugins import manager  # noqa: E402

SEED = 0


class ReferenceModel(nn.Module):
    """A diffusers UNet2DModel behind the reference's ``model(x, t)`` -> noise prediction."""

    def __init__(self, unet: nn.Module) -> None:
        super().__init__()
        self.unet = unet

    def forward(self, x: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        return self.unet(x, t).sample


@contextlib.contextmanager
def per_image_noise(seeds: list[int]) -> Iterator[None]:
    """``torch.randn_like`` of a batch draws image ``i``'s noise from its own generator
    seeded ``seeds[i]`` (diffusers' ``randn_tensor`` with a list of generators)."""
    generators = [torch.Generator().manual_seed(s) for s in seeds]
    original = torch.randn_like

    def randn_like(x: torch.Tensor, *args: Any, **kwargs: Any) -> torch.Tensor:
        if x.shape[0] != len(generators):
            return original(x, *args, **kwargs)
        return torch.cat([torch.randn((1, *x.shape[1:]), generator=g, dtype=x.dtype, device=x.device)
                          for g in generators])

    torch.randn_like = randn_like
    try:
        yield
    finally:
        torch.randn_like = original


@contextlib.contextmanager
def patched(obj: Any, name: str, value: Any) -> Iterator[None]:
    original = getattr(obj, name)
    setattr(obj, name, value)
    try:
        yield
    finally:
        setattr(obj, name, original)


class Reference:
    """SDEdit's runner module, imported in this process."""

    def __init__(self, checkout: Path) -> None:
        reference_stubs.install_torchvision()
        self.checkout = checkout
        with reference_on_path(checkout), quiet():
            self.module = importlib.import_module("runners.image_editing")

    def run(self, folder: Path, guide: np.ndarray, count: int, steps: int, out: Path,
            noise_seeds: list[int] | None, loading: Stopwatch) -> Run:
        """One ``image_editing_sample`` in ``out``; returns the run with its samples
        (B, C, H, W) in [-1, 1] saved as ``out/samples_0.pth``."""
        from diffusers import UNet2DModel
        from safetensors.torch import load_file

        unet_dir = folder / "unet"
        scheduler = imgtrans_json(folder / "scheduler" / "scheduler_config.json")
        if scheduler.get("beta_schedule", "linear") != "linear":
            raise SystemExit("the reference implements linear betas only")
        config = SimpleNamespace(
            data=SimpleNamespace(dataset="LSUN", category="church_outdoor"),  # picks the URL only
            model=SimpleNamespace(var_type="fixedsmall" if scheduler.get("variance_type") == "fixed_small"
                                  else "fixedlarge"),
            diffusion=SimpleNamespace(beta_start=scheduler["beta_start"], beta_end=scheduler["beta_end"],
                                      num_diffusion_timesteps=scheduler["num_train_timesteps"]),
            sampling=SimpleNamespace(batch_size=count), device=torch.device("cpu"))
        args = SimpleNamespace(npy_name="bench", t=steps, sample_step=1, image_folder=str(out))
        out.mkdir(parents=True)
        (out / "colab_demo").mkdir()
        image = torch.from_numpy(guide).permute(2, 0, 1).float().div(255)  # its demo data: CHW in [0, 1]
        torch.save([torch.zeros_like(image), image], out / "colab_demo" / "bench.pth")  # mask 0: edit all

        def build(config: Any) -> nn.Module:  # Model(config): the network, before its weights load
            return ReferenceModel(UNet2DModel.from_config(UNet2DModel.load_config(str(unet_dir))))

        def download(url: str, map_location: Any = None, **kwargs: Any) -> dict:  # the checkpoint
            weights = next(unet_dir.glob("diffusion_pytorch_model*.safetensors"))
            return {f"unet.{k}": v for k, v in load_file(str(weights), device=str(map_location or "cpu")).items()}

        noise = per_image_noise(noise_seeds) if noise_seeds else contextlib.nullcontext()
        cwd = os.getcwd()
        start = time.perf_counter()
        try:
            os.chdir(out)
            with (reference_on_path(self.checkout), weights_only_loading(), quiet(), noise,
                  patched(self.module, "Model", loading.wrap(build)),
                  patched(self.module, "download_process_data", lambda path: None),
                  patched(torch.hub, "load_state_dict_from_url", loading.wrap(download))):
                self.module.Diffusion(args, config, device=torch.device("cpu")).image_editing_sample()
        finally:
            os.chdir(cwd)
        return Run(time.perf_counter() - start, outputs=out)


def imgtrans_json(path: Path) -> dict:
    import json

    return json.loads(path.read_text())


def imgtrans_run(weights: str, inputs: Path, out: Path, steps: int, precision: str, count: int) -> Run:
    options = {"scheduler": "ddpm", "steps": 1000, "strength": strength_for(steps)}
    start = time.perf_counter()
    report = imgtrans.convert(inputs, out, plugin="sdedit", weights=weights, options=options,
                              precision=precision, seed=SEED, device="cpu")
    seconds = time.perf_counter() - start
    assert report.count("done") == count, report.summary()
    return Run(seconds, outputs=out)


def strength_for(steps: int) -> float:
    """The strength for which ``int(1000 * strength)`` is ``steps``."""
    strength = steps / 1000
    return strength if int(1000 * strength) == steps else (steps + 0.5) / 1000


def reference_pixels(out: Path) -> list[np.ndarray]:
    """The reference's samples as 8-bit BGR images, quantised as its save_image does."""
    x = torch.load(out / "samples_0.pth", weights_only=True)
    pixels = ((x + 1) * 0.5).mul(255).add(0.5).clamp(0, 255).to(torch.uint8).permute(0, 2, 3, 1).numpy()
    return [cv2.cvtColor(p, cv2.COLOR_RGB2BGR) for p in pixels]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_common_arguments(parser, repeats=2)
    parser.add_argument("--images", type=int, default=8, help="images per run (the reference's batch)")
    parser.add_argument("--strength", type=float, default=0.5,
                        help="t0: the reference runs t = int(1000 * strength) steps, imgtrans as many")
    parser.add_argument("--random", action="store_true",
                        help="random UNet of google/ddpm-cifar10-32's size instead of sdedit.facades_synth")
    parser.add_argument("--own-noise", action="store_true",
                        help="the reference draws from its global RNG (outputs then differ fully)")
    args = parser.parse_args()
    if args.quick:
        args.strength, args.repeats = min(args.strength, 0.1), min(args.repeats, 2)
    steps = int(1000 * args.strength)
    checkout = check_checkout(args.reference, "runners/image_editing.py", "models/diffusion.py")
    model = "random UNet2DModel, ddpm-cifar10-32 size" if args.random else "sdedit.facades_synth (bundled)"
    print_header(args.threads, f"SDEdit, {model}; {args.images} images 32x32 (one batch), DDPM 1000-step grid, "
                 f"strength {args.strength}: {steps} UNet calls per run; best of {args.repeats} alternating runs")
    from diffusers import UNet2DModel  # before the stand-ins: it probes for torchvision

    reference = Reference(checkout)
    watch, loading = Stopwatch(), Stopwatch()
    UNet2DModel.forward = watch.wrap(UNet2DModel.forward)  # both sides' network calls
    timed_classmethod(manager.get_translator("sdedit"), "load", loading)
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        if args.random:
            from batch_size import _ddpm_cifar10

            torch.manual_seed(SEED)
            weights = str(_ddpm_cifar10(root))
        else:
            weights = "sdedit.facades_synth"
        folder = imgtrans.load("sdedit", weights, device="cpu").translator.model.layout.folder
        rng = np.random.default_rng(0)
        guide = cv2.resize(rng.integers(0, 256, (4, 4, 3), dtype=np.uint8), (32, 32),
                           interpolation=cv2.INTER_CUBIC)
        (root / "in").mkdir()
        names = [f"{i:04d}.png" for i in range(args.images)]
        for name in names:
            cv2.imwrite(str(root / "in" / name), cv2.cvtColor(guide, cv2.COLOR_RGB2BGR))
        seeds = None if args.own_noise else [image_seed(SEED, n) for n in names]

        def timed(run: Any) -> Run:
            watch.reset()
            loading.reset()
            result = run()
            result.forward, result.calls, result.load = watch.total, watch.calls, loading.total
            return result

        # warm-up with 2 steps, not timed: imports, oneDNN kernels
        reference.run(folder, guide, args.images, 2, root / "refwarm", seeds, loading)
        for p in ("exact", "fast"):
            imgtrans_run(weights, root / "in", root / f"{p}warm", 2, p, args.images)
        sides = {
            "reference": lambda r: timed(lambda: reference.run(folder, guide, args.images, steps, root / f"ref{r}",
                                                               seeds, loading)),
            "imgtrans exact": lambda r: timed(lambda: imgtrans_run(weights, root / "in", root / f"exact{r}", steps,
                                                                   "exact", args.images)),
            "imgtrans fast": lambda r: timed(lambda: imgtrans_run(weights, root / "in", root / f"fast{r}", steps,
                                                                  "fast", args.images)),
        }
        runs = alternate(sides, args.repeats)
        ref, exact, fast = (best(runs[k]) for k in sides)
        ref_pixels = reference_pixels(ref.outputs)
        diffs = {p: level_difference([(a, read_image(run.outputs / n)) for a, n in zip(ref_pixels, names)])
                 for p, run in (("exact", exact), ("fast", fast))}
        description = imgtrans.load("sdedit", weights, precision="fast", device="cpu").runner.precision.description
        shutil.rmtree(root, ignore_errors=True)
    print(rate_line("reference image_editing_sample", args.images, ref) + f"   ({ref.calls} UNet calls)")
    print(rate_line("imgtrans convert, exact", args.images, exact) + f"   ({exact.calls} UNet calls)")
    print(rate_line("imgtrans convert, fast", args.images, fast) + f"   ({fast.calls} UNet calls)")
    print(ratio_line("ratio exact / reference", exact, ref))
    print(ratio_line("ratio fast / reference", fast, ref))
    noise = "its own global RNG" if args.own_noise else "imgtrans' per-image noise"
    print(diff_line("difference exact vs reference", diffs["exact"]) + f"   (reference drew {noise})")
    print(diff_line("difference fast vs reference", diffs["fast"]))
    print(f"fast mode: {description}; load average at the end {load_average()}")


if __name__ == "__main__":
    main()
