"""Stand-ins for the third-party modules the reference implementations import, so their own
code runs in the benchmark process beside our torch.

Why: PyPI's torchvision does not import beside this machine's torch 2.13 CPU build, BasicSR
(Real-ESRGAN's base) pulls torchvision in, and dominate (the CycleGAN repository's HTML
page) and wandb (which its util/visualizer.py imports unconditionally since 2025) are not
installed. Each stand-in implements only what the benchmarked code path calls, following
the documented behaviour of the module it replaces, and raises for anything else.
They are written by us; nothing of those packages is copied. ``tests/bench`` checks the
torchvision stand-in against hand computations.

``install_*`` put modules into ``sys.modules`` (replacing any already there, so both sides run
the same code on every machine); call them before importing the reference's modules, and
after importing libraries that probe for the real ones (diffusers looks for torchvision).
"""

from __future__ import annotations

import enum
import importlib.machinery
import importlib.util
import math
import sys
import types
from pathlib import Path
from typing import Any, Callable, Sequence

import numpy as np
import torch
from PIL import Image


def _module(name: str, doc: str, **attrs: Any) -> types.ModuleType:
    """A module with a spec (libraries that probe with ``importlib.util.find_spec``, such as
    diffusers, expect one); a package when ``__path__`` is given."""
    module = types.ModuleType(name, doc)
    module.__spec__ = importlib.machinery.ModuleSpec(name, None, origin="bench/reference_stubs.py",
                                                     is_package="__path__" in attrs)
    module.__dict__.update(attrs)
    return module


def _register(*modules: types.ModuleType) -> None:
    """Put ``modules`` into sys.modules and link each as an attribute of its parent."""
    for module in modules:
        sys.modules[module.__name__] = module
        parent, _, child = module.__name__.rpartition(".")
        if parent in sys.modules:
            setattr(sys.modules[parent], child, module)


# -- torchvision.transforms: what the CycleGAN/pix2pix datasets' get_transform builds ------

class Compose:
    """``transforms.Compose``: apply the transforms in order."""

    def __init__(self, transforms: Sequence[Callable[[Any], Any]]) -> None:
        self.transforms = list(transforms)

    def __call__(self, img: Any) -> Any:
        for transform in self.transforms:
            img = transform(img)
        return img


class Lambda:
    """``transforms.Lambda``: a user function as a transform."""

    def __init__(self, lambd: Callable[[Any], Any]) -> None:
        self.lambd = lambd

    def __call__(self, img: Any) -> Any:
        return self.lambd(img)


class InterpolationMode(enum.Enum):
    """``transforms.InterpolationMode`` (the reference passes it since 2021); ``Resize`` maps
    it to PIL's filter of the same name, as torchvision does for PIL images."""

    NEAREST = "nearest"
    BILINEAR = "bilinear"
    BICUBIC = "bicubic"
    LANCZOS = "lanczos"


_PIL_FILTERS = {InterpolationMode.NEAREST: Image.NEAREST, InterpolationMode.BILINEAR: Image.BILINEAR,
                InterpolationMode.BICUBIC: Image.BICUBIC, InterpolationMode.LANCZOS: Image.LANCZOS}


class Resize:
    """``transforms.Resize`` on PIL images: ``size`` (h, w) is the output size; an int
    matches the shorter edge (the longer one is ``int(size * long / short)``). Resizing is
    PIL's ``Image.resize`` with ``interpolation`` (an ``InterpolationMode``, or a PIL
    resampling filter as checkouts before 2021 pass ``Image.BICUBIC``), which always
    antialiases; an image already at the size is returned as it is."""

    def __init__(self, size: int | Sequence[int],
                 interpolation: InterpolationMode | int = InterpolationMode.BILINEAR) -> None:
        self.size = size
        self.interpolation = _PIL_FILTERS.get(interpolation, interpolation)  # type: ignore[call-overload]

    def __call__(self, img: Image.Image) -> Image.Image:
        if not isinstance(img, Image.Image):
            raise TypeError("this torchvision stand-in resizes PIL images only")
        width, height = img.size
        if isinstance(self.size, int) or len(self.size) == 1:
            short_target = self.size if isinstance(self.size, int) else self.size[0]
            short, long = (width, height) if width <= height else (height, width)
            new_short, new_long = short_target, int(short_target * long / short)
            new_w, new_h = (new_short, new_long) if width <= height else (new_long, new_short)
        else:
            new_h, new_w = int(self.size[0]), int(self.size[1])
        if (new_w, new_h) == (width, height):
            return img
        return img.resize((new_w, new_h), self.interpolation)


class RandomCrop:
    """``transforms.RandomCrop(size)`` without padding: the top-left corner is drawn with
    ``torch.randint`` (top first, then left), as torchvision does, and an image of exactly
    the crop size is returned whole; a smaller one raises ValueError."""

    def __init__(self, size: int | Sequence[int]) -> None:
        self.size = (int(size), int(size)) if isinstance(size, int) else (int(size[0]), int(size[1]))

    def __call__(self, img: Image.Image) -> Image.Image:
        width, height = img.size
        th, tw = self.size
        if height < th or width < tw:
            raise ValueError(f"Required crop size {(th, tw)} is larger than input image size {(height, width)}")
        if (width, height) == (tw, th):
            return img
        top = int(torch.randint(0, height - th + 1, size=(1,)).item())
        left = int(torch.randint(0, width - tw + 1, size=(1,)).item())
        return img.crop((left, top, left + tw, top + th))


class Grayscale:
    """``transforms.Grayscale``: PIL's ``convert("L")`` (ITU-R 601-2 luma), repeated to three
    channels when ``num_output_channels`` is 3."""

    def __init__(self, num_output_channels: int = 1) -> None:
        if num_output_channels not in (1, 3):
            raise ValueError("num_output_channels must be 1 or 3")
        self.num_output_channels = num_output_channels

    def __call__(self, img: Image.Image) -> Image.Image:
        gray = img.convert("L")
        return gray if self.num_output_channels == 1 else Image.merge("RGB", (gray, gray, gray))


class ToTensor:
    """``transforms.ToTensor``: a PIL image of 8-bit mode (L, RGB, RGBA...) or a uint8 numpy
    (H, W[, C]) array -> float32 (C, H, W) in [0, 1] (value / 255). Other PIL modes
    (16/32-bit, float) are not needed by the benchmarks and raise."""

    def __call__(self, pic: Any) -> torch.Tensor:
        if isinstance(pic, Image.Image):
            if pic.mode in ("I", "I;16", "F", "1"):
                raise TypeError(f"this torchvision stand-in does not convert PIL mode {pic.mode!r}")
            array = np.array(pic, dtype=np.uint8, copy=True)
        elif isinstance(pic, np.ndarray):
            array = pic
        else:
            raise TypeError(f"pic should be a PIL Image or ndarray, got {type(pic)}")
        if array.ndim == 2:
            array = array[:, :, None]
        tensor = torch.from_numpy(np.ascontiguousarray(array)).permute(2, 0, 1).contiguous()
        if tensor.dtype == torch.uint8:
            return tensor.to(torch.float32).div(255)
        return tensor


class Normalize:
    """``transforms.Normalize``: ``(tensor - mean[c]) / std[c]`` per channel of a float
    (C, H, W) or (B, C, H, W) tensor, into a new tensor."""

    def __init__(self, mean: Sequence[float], std: Sequence[float], inplace: bool = False) -> None:
        self.mean, self.std, self.inplace = list(mean), list(std), inplace

    def __call__(self, tensor: torch.Tensor) -> torch.Tensor:
        if not tensor.is_floating_point():
            raise TypeError(f"Input tensor should be a float tensor. Got {tensor.dtype}.")
        mean = torch.as_tensor(self.mean, dtype=tensor.dtype, device=tensor.device).view(-1, 1, 1)
        std = torch.as_tensor(self.std, dtype=tensor.dtype, device=tensor.device).view(-1, 1, 1)
        if (std == 0).any():
            raise ValueError("std evaluated to zero, leading to division by zero.")
        out = tensor if self.inplace else tensor.clone()
        return out.sub_(mean).div_(std)


# -- torchvision.utils: what SDEdit's runner saves images with -----------------------------

def make_grid(tensor: torch.Tensor, nrow: int = 8, padding: int = 2, normalize: bool = False,
              pad_value: float = 0.0, **unsupported: Any) -> torch.Tensor:
    """``utils.make_grid`` without normalisation: (B, C, H, W) -> (3|C, rows * (H + p) + p,
    cols * (W + p) + p), ``min(nrow, B)`` images a row, ``pad_value`` between; one image comes
    back as it is (C, H, W); one channel is repeated to three."""
    if normalize or unsupported:
        raise NotImplementedError("this torchvision stand-in supports make_grid without normalisation only")
    if tensor.dim() == 3:
        tensor = tensor.unsqueeze(0)
    if tensor.size(1) == 1:
        tensor = torch.cat((tensor, tensor, tensor), 1)
    if tensor.size(0) == 1:
        return tensor.squeeze(0)
    count = tensor.size(0)
    cols = min(nrow, count)
    rows = int(math.ceil(count / cols))
    height, width = tensor.size(2) + padding, tensor.size(3) + padding
    grid = tensor.new_full((tensor.size(1), height * rows + padding, width * cols + padding), pad_value)
    for k in range(count):
        y, x = divmod(k, cols)
        grid.narrow(1, y * height + padding, height - padding).narrow(
            2, x * width + padding, width - padding).copy_(tensor[k])
    return grid


def save_image(tensor: torch.Tensor, fp: Any, nrow: int = 8, padding: int = 2, **kwargs: Any) -> None:
    """``utils.save_image``: ``make_grid``, then ``value * 255 + 0.5`` clamped to [0, 255] and
    truncated to uint8, written with PIL (format from the file name)."""
    grid = make_grid(tensor.detach(), nrow=nrow, padding=padding, **kwargs)
    array = grid.mul(255).add_(0.5).clamp_(0, 255).permute(1, 2, 0).to("cpu", torch.uint8).numpy()
    Image.fromarray(array).save(fp)


def install_torchvision() -> None:
    """``torchvision``, ``torchvision.transforms`` (Compose, Lambda, Resize, RandomCrop,
    Grayscale, ToTensor, Normalize, InterpolationMode) and ``torchvision.utils`` (make_grid, save_image)."""
    doc = "benchmark stand-in for torchvision (bench/reference_stubs.py)"
    transforms = _module("torchvision.transforms", doc, Compose=Compose, Lambda=Lambda, Resize=Resize,
                         RandomCrop=RandomCrop, Grayscale=Grayscale, ToTensor=ToTensor,
                         Normalize=Normalize, InterpolationMode=InterpolationMode)
    utils = _module("torchvision.utils", doc, make_grid=make_grid, save_image=save_image)
    _register(_module("torchvision", doc, __path__=[]), transforms, utils)


# -- dominate: the CycleGAN repository's results page (util/html.py) -----------------------

class _Element:
    """A tag that accepts children and attributes and renders nothing: the benchmark does
    not need the results page, only the code path that builds it."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        pass

    def __enter__(self) -> "_Element":
        return self

    def __exit__(self, *exc: Any) -> None:
        return None

    def add(self, *children: Any) -> Any:
        return children[0] if len(children) == 1 else children


class _Document(_Element):
    """``dominate.document``: ``render()`` gives an empty page with the title."""

    def __init__(self, title: str = "", **kwargs: Any) -> None:
        self.title = title
        self.head = _Element()

    def render(self) -> str:
        return f"<!DOCTYPE html>\n<html><head><title>{self.title}</title></head><body></body></html>\n"


def install_dominate() -> None:
    """``dominate`` (document) and ``dominate.tags`` (the tags util/html.py uses): the page
    is built with no-op elements and written empty."""
    doc = "benchmark stand-in for dominate (bench/reference_stubs.py)"
    tags = _module("dominate.tags", doc, **{name: _Element for name in
                                             ("meta", "h3", "table", "tr", "td", "p", "a", "img", "br")})
    _register(_module("dominate", doc, __path__=[], document=_Document), tags)


# -- wandb: imported by the CycleGAN repository's util/visualizer.py -----------------------

def _no_wandb(name: str) -> Any:
    if name.startswith("__"):  # probes such as getattr(module, "__file__", None)
        raise AttributeError(name)
    raise RuntimeError(f"wandb.{name}: this benchmark stand-in for wandb does not log "
                       "(the reference uses it only with --use_wandb)")


def install_wandb() -> None:
    """``wandb``: importable (the reference's util/visualizer.py imports it unconditionally
    since 2025, and only uses it with ``--use_wandb``); any attribute raises."""
    _register(_module("wandb", "benchmark stand-in for wandb (bench/reference_stubs.py)",
                      __getattr__=_no_wandb))


# -- basicsr: what Real-ESRGAN's inference script and RealESRGANer import ------------------

def load_file_from_url(url: str, *args: Any, **kwargs: Any) -> str:
    """``basicsr.utils.download_util.load_file_from_url``: the benchmarks never download;
    pass local weights instead."""
    raise RuntimeError(f"benchmark stand-in: no downloads ({url}); pass a local --model_path")


class _Registry:
    """``basicsr.utils.registry.Registry``: ``register()`` records the class by name."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.classes: dict[str, type] = {}

    def register(self, obj: type | None = None) -> Any:
        def add(cls: type) -> type:
            self.classes[cls.__name__] = cls
            return cls
        return add if obj is None else add(obj)

    def get(self, name: str) -> type:
        return self.classes[name]


def install_basicsr(rrdbnet: type) -> None:
    """``basicsr`` with ``utils.download_util.load_file_from_url`` (raises), ``utils.registry``
    (ARCH_REGISTRY and friends) and ``archs.rrdbnet_arch.RRDBNet`` = ``rrdbnet``: a network
    class with BasicSR's constructor arguments (num_in_ch, num_out_ch, scale, num_feat,
    num_block, num_grow_ch) and state-dict keys, e.g. ``imgtrans_srgan.archs.RRDBNet``."""
    doc = "benchmark stand-in for basicsr (bench/reference_stubs.py)"
    registry = _module("basicsr.utils.registry", doc, **{
        name: _Registry(name) for name in ("ARCH_REGISTRY", "DATASET_REGISTRY", "MODEL_REGISTRY",
                                           "LOSS_REGISTRY", "METRIC_REGISTRY")})
    _register(_module("basicsr", doc, __path__=[]),
              _module("basicsr.utils", doc, __path__=[]),
              _module("basicsr.utils.download_util", doc, load_file_from_url=load_file_from_url),
              registry,
              _module("basicsr.archs", doc, __path__=[]),
              _module("basicsr.archs.rrdbnet_arch", doc, RRDBNet=rrdbnet))


def bare_package(name: str, folder: Path) -> types.ModuleType:
    """Register package ``name`` at ``folder`` without running its ``__init__.py``.

    Stands in for Real-ESRGAN's ``realesrgan/__init__.py`` (and ``archs/__init__.py``), which
    import every architecture, dataset and training model through BasicSR's registries;
    inference needs none of them. Submodules (``realesrgan.utils``) then import normally
    from the checkout."""
    spec = importlib.machinery.ModuleSpec(name, None, is_package=True)
    spec.submodule_search_locations = [str(folder)]
    package = importlib.util.module_from_spec(spec)
    package.__path__ = [str(folder)]
    _register(package)
    return package
