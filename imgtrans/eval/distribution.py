"""Set metrics (FID, KID) and the perceptual pair metric (LPIPS), from torchmetrics.

Why torchmetrics: it is maintained, computes FID and KID from any feature network (so tests
run them for real with a tiny one), and its LPIPS ships the learned layer weights. What it
needs beyond itself, and what this machine may lack:

* FID/KID with the standard network: torchmetrics uses torch-fidelity's InceptionV3 (the
  TensorFlow FID network), and torch-fidelity imports torchvision. The weights are read
  from ``--feature-weights`` or torch's hub cache, never downloaded here.
* LPIPS: torchmetrics builds its AlexNet backbone with torchvision, and the backbone's
  weights come from torch's hub cache.

A metric whose requirements are missing raises :class:`MetricUnavailable` naming what to
install or download and where to put it; the command reports it and goes on.
"""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Callable, Iterable, Sequence

import numpy as np
import torch
from torch import nn

from imgtrans.errors import UsageError

INCEPTION_FILE = "weights-inception-2015-12-05-6726825d.pth"
INCEPTION_URL = f"https://github.com/toshas/torch-fidelity/releases/download/v0.2.0/{INCEPTION_FILE}"
ALEXNET_FILE = "alexnet-owt-7be5be79.pth"
ALEXNET_URL = f"https://download.pytorch.org/models/{ALEXNET_FILE}"
_INSTALL = "pip install 'imgtrans[eval]'"


class MetricUnavailable(UsageError):
    """A metric cannot run here (library or weights missing); the message says what to do."""


def hub_checkpoint(name: str) -> Path:
    """Where torch (and the libraries above) cache downloaded weights."""
    return Path(torch.hub.get_dir()) / "checkpoints" / name


def _torchmetrics_image(module: str, what: str):
    try:
        return __import__(f"torchmetrics.image.{module}", fromlist=["_"])
    except ModuleNotFoundError as exc:
        if exc.name and exc.name.startswith("torchmetrics"):
            raise MetricUnavailable(f"{what} needs torchmetrics: {_INSTALL}") from None
        raise MetricUnavailable(f"{what}: torchmetrics does not import ({exc})") from None
    except Exception as exc:  # an installed torchvision/torch-fidelity that does not import
        raise MetricUnavailable(f"{what}: torchmetrics.image.{module} does not import here "
                                f"({type(exc).__name__}: {exc}); torchvision must be built for "
                                f"torch {torch.__version__}") from None


def _torchvision_error() -> str | None:
    try:
        import torchvision  # noqa: F401
    except Exception as exc:  # ImportError, or RuntimeError from a build for another torch
        return f"{type(exc).__name__}: {exc}"
    return None


def _checked_weights(path: Path) -> Path:
    """Refuse a file that holds more than tensors (the libraries load it with
    ``weights_only=False``)."""
    try:
        torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:
        raise MetricUnavailable(f"{path}: not a plain weights file ({type(exc).__name__}: "
                                f"{str(exc)[:200]})") from None
    return path


def inception_features(weights: Path | None = None) -> nn.Module:
    """torch-fidelity's InceptionV3 (2048 pool features, the network of the FID papers),
    through torchmetrics; uint8 (B, 3, H, W) in, (B, 2048) out. Resized to 299 like the
    TensorFlow original (no antialiasing), so values compare with published FIDs."""
    fid = _torchmetrics_image("fid", "FID/KID with InceptionV3")
    if not getattr(fid, "_TORCH_FIDELITY_AVAILABLE", False):
        problem = _torchvision_error()
        raise MetricUnavailable(
            "FID/KID with InceptionV3 need torch-fidelity (pip install torch-fidelity) and a "
            f"torchvision that imports beside torch {torch.__version__}"
            + (f" (here: {problem})" if problem else "")
            + "; or compute them from Python with your own feature network "
              "(imgtrans.eval.run.evaluate(..., features=module))")
    path = Path(weights) if weights else hub_checkpoint(INCEPTION_FILE)
    if not path.is_file():
        raise MetricUnavailable(f"the InceptionV3 weights are not on this machine: download "
                                f"{INCEPTION_URL} and put it at {hub_checkpoint(INCEPTION_FILE)}, "
                                "or pass --feature-weights PATH")
    checked = str(_checked_weights(path))
    return fid.NoTrainInceptionV3(name="inception-v3-compat", features_list=["2048"],
                                  feature_extractor_weights_path=checked, antialias=False)


def lpips_network(device: str = "cpu") -> Callable[[torch.Tensor, torch.Tensor], float]:
    """LPIPS (AlexNet, the paper's default) of two (1, 3, H, W) images in [0, 1]."""
    problem = _torchvision_error()
    if problem:
        raise MetricUnavailable(f"LPIPS needs torchvision (torchmetrics builds its AlexNet "
                                f"backbone with it), which does not import here ({problem}); "
                                f"install a torchvision built for torch {torch.__version__}")
    if not hub_checkpoint(ALEXNET_FILE).is_file():
        raise MetricUnavailable(f"LPIPS: the AlexNet weights are not on this machine: download "
                                f"{ALEXNET_URL} and put it at {hub_checkpoint(ALEXNET_FILE)}")
    lpip = _torchmetrics_image("lpip", "LPIPS")
    net = lpip.LearnedPerceptualImagePatchSimilarity(net_type="alex", normalize=True).to(device).eval()

    def measure(a: torch.Tensor, b: torch.Tensor) -> float:
        with torch.no_grad():
            return float(net(a.float().to(device), b.float().to(device)))

    return measure


class ArrayFeatures(nn.Module):
    """A feature network from a function of one uint8 (H, W, 3) array -> 1-D features, for
    Frechet distances in a hand-made feature space (uint8 (B, 3, H, W) in, (B, F) out)."""

    def __init__(self, function: Callable[[np.ndarray], np.ndarray]) -> None:
        super().__init__()
        self.function = function

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        arrays = images.permute(0, 2, 3, 1).cpu().numpy()
        return torch.from_numpy(np.stack([np.asarray(self.function(np.ascontiguousarray(a)),
                                                     dtype=np.float64) for a in arrays]))


class _Cached(nn.Module):
    """The features of each batch computed once, though FID and KID both ask for them."""

    def __init__(self, features: nn.Module) -> None:
        super().__init__()
        self.features = features
        self._seen: dict[int, tuple[torch.Tensor, torch.Tensor]] = {}

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        hit = self._seen.get(id(images))
        if hit is None or hit[0] is not images:
            hit = (images, self.features(images))
            self._seen[id(images)] = hit  # holds the batch, so its id is not reused
        return hit[1]


def to_uint8(image: torch.Tensor) -> torch.Tensor:
    """(B, 3, H, W) float in [0, 1] -> uint8, rounded: what feature networks take."""
    return (image.clamp(0, 1) * 255).round().to(torch.uint8)


def _batches(images: Iterable[torch.Tensor], size: int = 16) -> Iterable[torch.Tensor]:
    """Consecutive images of equal size stacked, ``size`` at most."""
    group: list[torch.Tensor] = []
    for image in images:
        if group and (image.shape != group[0].shape or len(group) == size):
            yield torch.cat(group)
            group = []
        group.append(image)
    if group:
        yield torch.cat(group)


def set_distances(outputs: Iterable[torch.Tensor], targets: Iterable[torch.Tensor],
                  features: nn.Module, names: Sequence[str] = ("fid", "kid"),
                  device: str = "cpu") -> dict[str, float]:
    """FID and/or KID between two image sets, each image uint8 (1, 3, H, W) (sizes may
    differ; the feature network must accept them). KID: polynomial-kernel MMD over 100
    subsets of min(1000, smallest set) images, seeded (``kid`` and ``kid_std``).
    Needs at least two images per set."""
    fid_mod = _torchmetrics_image("fid", "FID") if "fid" in names else None
    kid_mod = _torchmetrics_image("kid", "KID") if "kid" in names else None
    features = _Cached(features.to(device).eval())
    real = [t for b in _batches(targets) for t in [b.to(device)]]
    fake = [t for b in _batches(outputs) for t in [b.to(device)]]
    n_real, n_fake = sum(len(b) for b in real), sum(len(b) for b in fake)
    if min(n_real, n_fake) < 2:
        raise MetricUnavailable(f"{'/'.join(n.upper() for n in names)} need at least 2 images "
                                f"in each set (outputs {n_fake}, targets {n_real})")
    result: dict[str, float] = {}
    with torch.no_grad(), torch.random.fork_rng(devices=[]), warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*will save all extracted features")
        torch.manual_seed(0)  # KID draws its subsets from torch's global generator
        metrics = []
        if fid_mod is not None:
            metrics.append(("fid", fid_mod.FrechetInceptionDistance(feature=features, normalize=False)))
        if kid_mod is not None:
            metrics.append(("kid", kid_mod.KernelInceptionDistance(
                feature=features, normalize=False, subset_size=min(1000, n_real, n_fake))))
        for name, metric in metrics:
            metric = metric.to(device)
            for batch in real:
                metric.update(batch, real=True)
            for batch in fake:
                metric.update(batch, real=False)
            value = metric.compute()
            if name == "kid":
                result["kid"], result["kid_std"] = float(value[0]), float(value[1])
            else:
                result[name] = float(value)
    return result
