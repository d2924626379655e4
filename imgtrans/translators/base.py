"""The translator contract: what a plugin implements and what the pipeline relies on.

This module is the ground floor of imgtrans. It imports nothing heavy (no torch), so that
listing plugins and reading their options stays fast. A translator is a class with class
attributes describing it, and two methods the pipeline calls:

* ``load(weights, options, device)`` (classmethod) builds a ready instance; torch and the
  network are imported and constructed here, not at module import.
* ``translate(images, context)`` maps a float batch to a float batch.

Conventions for ``translate``:

* input ``images``: ``torch.float32`` tensor ``(B, C, H, W)`` on ``context.device``, channels
  in RGB(A) order (or 1 gray channel), values in ``preprocessing().value_range``, where ``C``
  is ``preprocessing().channels``; every image of the batch has the same size.
* output: ``(B, C_out, H * scale, W * scale)`` in the same value range, where ``scale`` is
  ``preprocessing().scale`` and ``C_out`` is 1, 3 or 4.
* batching changes an image's result by no more than ``capabilities.batch_invariance``
  declares (by default: no output value by more than one 8-bit, or 16-bit, level, which
  leaves room for float rounding in batched kernels). A translator that uses randomness
  draws it from ``context.generators[i]`` for image ``i``, in the order a batch of one would;
  one that uses batch statistics computes them per image.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, ClassVar, Literal, Mapping

if TYPE_CHECKING:
    from imgtrans.weights.resolved import ResolvedWeights

InputKind = Literal["image", "image+mask", "layout"]
ResizePolicy = Literal["pad", "resize", "fixed"]
AlphaPolicy = Literal["preserve", "pass"]


@dataclass(frozen=True)
class Capabilities:
    """What a translator can do; shown by ``imgtrans info`` and checked by the CLI."""

    inference: bool = True
    training: bool = False
    paired: bool = False
    unpaired: bool = False
    input_kind: InputKind = "image"
    stochastic: bool = False
    fully_convolutional: bool = False
    """True when the output at a pixel depends only on a bounded neighbourhood, so the
    pipeline may cut large images into overlapping tiles (``--tile``)."""
    tiling_note: str = ""
    """A sentence about tiling this model: why ``--tile`` is refused (``fully_convolutional``
    False), or what tiles may cost (a warning when ``--tile`` is used)."""
    batch_invariance: str = "within one level"
    """How much running an image in a batch (rather than alone) may change its result:
    ``"exact"`` (bit for bit), ``"within one level"`` (no output value moves by more than one
    8-bit, or 16-bit, level: convolutions round differently at other batch sizes), or a
    sentence stating the bound of a translator that cannot promise one level."""
    cpu_batch_size: int = 1
    """Images per forward pass that ``--batch-size auto`` uses on a CPU. Batching a small or
    memory-bound network on a CPU can be slower than one image at a time, so 1 unless a
    measurement (``bench/batch_size.py``) shows a gain."""
    cpu_batch_max_pixels: int = 0
    """The largest input (height x width) that ``auto`` batches on a CPU; larger images run
    one at a time. Batching gains on a CPU shrink, then turn into losses, as the activations
    outgrow the caches. 0: no limit."""


@dataclass(frozen=True)
class Preprocessing:
    """How the pipeline must prepare images for a translator, and undo it afterwards.

    ``resize``:
      * ``"pad"``: keep the native size; pad right/bottom to ``size_multiple`` with
        ``pad_mode`` and crop the output back.
      * ``"resize"``: resize to the nearest multiple of ``size_multiple`` and the output back.
      * ``"fixed"``: resize to ``fixed_size`` (H, W) and the output back to the input size
        (times ``scale``).
    ``interpolation`` names the resize filter (``"bicubic"``, ``"bilinear"``, ``"area"``,
    ``"nearest"``); bicubic and bilinear use antialiasing, which matches PIL.
    ``alpha``: ``"preserve"`` strips alpha, translates colour and re-attaches alpha resized to
    the output; ``"pass"`` gives the translator the input's alpha as an extra last channel
    (only when the input has one). ``channels=4`` always gives RGBA (opaque if needed).
    ``keep_gray``: a gray input gives a gray output even when the translator returns RGB.
    ``min_size``: smallest H and W (one int for both, or (H, W)) the network can process; with
    ``"pad"``, smaller inputs are padded up to it (then to ``size_multiple``) and cropped back,
    with ``"resize"`` they are enlarged to it. E.g. a network that reflect-pads after two
    stride-2 downsamplings needs >= 2 px there, so >= 8 px in.

    A translator that must reproduce a reference's quirks subclasses this (a frozen
    dataclass with its own fields) and overrides the hooks below, which the pipeline calls
    in this order: :meth:`select`, (channels, alpha), :meth:`pad_input`, (fit to size and
    range, translate, back to [0, 1] and :meth:`result_size`, quantize), :meth:`resize_result`.
    The defaults do nothing, so the shared contract stays these fields.
    """

    value_range: tuple[float, float] = (0.0, 1.0)
    channels: int = 3
    scale: int = 1
    size_multiple: int = 1
    resize: ResizePolicy = "pad"
    fixed_size: tuple[int, int] | None = None
    interpolation: str = "bicubic"
    pad_mode: str = "reflect"
    alpha: AlphaPolicy = "preserve"
    keep_gray: bool = False
    min_size: int | tuple[int, int] = 1

    def __post_init__(self) -> None:
        if self.channels not in (1, 3, 4):
            raise ValueError(f"channels must be 1, 3 or 4, not {self.channels}")
        if self.resize == "fixed" and self.fixed_size is None:
            raise ValueError('resize="fixed" needs fixed_size=(H, W)')
        if self.scale < 1 or self.size_multiple < 1:
            raise ValueError("scale and size_multiple must be positive")
        if min(self.min_hw) < 1:
            raise ValueError("min_size must be at least 1")

    @property
    def min_hw(self) -> tuple[int, int]:
        """``min_size`` as (H, W)."""
        size = self.min_size
        return (size, size) if isinstance(size, int) else (int(size[0]), int(size[1]))

    def fitted_size(self, height: int, width: int) -> tuple[int, int]:
        """The (H, W) the translator receives for an image of this size (after
        :meth:`select`, before :meth:`pad_input`'s pixels)."""
        m, (min_h, min_w) = self.size_multiple, self.min_hw
        if self.resize == "fixed":
            return (int(self.fixed_size[0]), int(self.fixed_size[1]))  # type: ignore[index]
        low_h, low_w = -(-min_h // m) * m, -(-min_w // m) * m
        if self.resize == "resize":
            return (max(low_h, round(height / m) * m), max(low_w, round(width / m) * m))
        return (-(-max(height, min_h) // m) * m, -(-max(width, min_w) // m) * m)

    # -- hooks for a translator's own preprocessing (defaults: nothing) -------------------

    def select(self, images: Any) -> Any:
        """The part of each decoded image the translator reads: float (B, C, H, W) in
        [0, 1] -> (B, C, H', W'); the result then has the selected size (times ``scale``).
        E.g. one half of a side-by-side A|B pair."""
        return images

    def pad_input(self, images: Any) -> Any:
        """With ``resize="pad"``: pixels added on the right and bottom before the padding to
        ``size_multiple`` (float (B, C, H, W) in [0, 1], colour and alpha as the translator
        gets them); the output is cropped back to the input's region anyway. E.g.
        Real-ESRGAN's ``--pre_pad`` context."""
        return images

    def result_size(self, height: int, width: int) -> tuple[int, int]:
        """The (H, W) the pipeline crops or resizes the translator's output to, before
        quantization, for an input (after :meth:`select`) of this size. Default: the
        input's size times ``scale``; a reference test script may keep the processed size."""
        return (height * self.scale, width * self.scale)

    def output_size(self, height: int, width: int) -> tuple[int, int]:
        """The (H, W) of the written result: :meth:`result_size` after
        :meth:`resize_result`. Override both together."""
        return self.result_size(height, width)

    def resize_result(self, image: Any, height: int, width: int) -> Any:
        """The result (numpy (H, W) or (H, W, C): uint8 or uint16 when quantized for a file,
        float32 in [0, 1] for the Python API's tensors) brought to :meth:`output_size` for
        an input of ``height`` x ``width``, e.g. Real-ESRGAN's ``--outscale`` (Lanczos on
        the quantized image). Default: unchanged."""
        return image


@dataclass(frozen=True)
class WeightSpec:
    """A known checkpoint: where it comes from and the contract that travels with it.

    ``name`` is ``"<translator>.<tag>"`` (timm style); the translator is read off it. One of
    ``url`` (downloaded once into the user cache), ``file`` (bundled: a file or folder
    relative to the package of the plugin that declares the spec, or to imgtrans's
    ``pretrained/`` folder for the registry) or ``repo`` (a Hugging Face Hub model folder) is
    set. ``sha256``, when given, is checked for downloads and bundled files alike (for a
    folder: the sha256 of its manifest, see :func:`imgtrans.weights.cache.sha256_path`).
    ``aliases`` are other names users know the weights by (case and ``-``/``_`` do not
    matter in lookups); ``options`` are option defaults the weights need (e.g. a direction);
    ``default=True`` makes these the weights used when ``--weights`` is left out.
    ``trained_on`` says in a few words what the weights were trained on and work on (shown
    by ``imgtrans info``, ``weights list --long`` and the first line of ``convert``).
    ``fallback`` names bundled weights that stand in for these defaults when they are not
    downloaded and cannot be now (offline), with one warning.
    ``examples`` is a folder of a few small images of what the weights were trained on,
    relative as ``file`` is and shipped beside the weights (the web app shows up to four,
    sorted by name, beside its weights menu).
    ``package`` is filled in by imgtrans when a plugin registers the spec.
    """

    name: str
    plugin: str = ""
    """Optional: derived from ``name`` (accepted for compatibility when it matches)."""
    url: str | None = None
    file: str | None = None
    repo: str | None = None
    sha256: str | None = None
    license: str | None = None
    source: str | None = None
    description: str = ""
    default: bool = False
    options: dict[str, Any] = field(default_factory=dict)
    preprocessing: dict[str, Any] = field(default_factory=dict)
    aliases: tuple[str, ...] = ()
    trained_on: str = ""
    fallback: str | None = None
    examples: str | None = None
    package: str | None = None

    def __post_init__(self) -> None:
        derived = self.name.split(".", 1)[0] if "." in self.name else ""
        if self.plugin and self.plugin != derived:
            raise ValueError(f"weights {self.name!r}: the name must start with its translator "
                             f"'{self.plugin}.'")
        object.__setattr__(self, "plugin", derived)
        object.__setattr__(self, "aliases", tuple(self.aliases))

    @property
    def tag(self) -> str:
        return self.name.split(".", 1)[1] if "." in self.name else self.name


@dataclass(frozen=True)
class NoOptions:
    """Options dataclass for translators that take none."""


@dataclass
class TranslateContext:
    """Per-batch information the pipeline gives ``translate``.

    ``generators`` holds one ``torch.Generator`` per image, seeded from the run seed and the
    image's name, so the noise an image gets does not depend on batching or on resuming.
    """

    device: Any
    generators: list[Any] = field(default_factory=list)
    names: list[str] = field(default_factory=list)
    precision: Any = None
    """With ``--precision fast``: the autocast dtype (``torch.bfloat16``/``float16``); None: exact
    fp32. Only translators with ``autocast_scope = "parts"`` need it, through
    ``imgtrans.plugin.fast_scope(context)``."""
    should_stop: Callable[[], bool] = lambda: False
    """True once the run is asked to stop (the CLI's Ctrl-C, a web job's cancel)."""

    def check_stop(self) -> None:
        """Raise :class:`~imgtrans.errors.Stopped` if the run is asked to stop. A translator
        whose call is long (diffusion steps, repeats, samples) calls it between them, so a
        cancel takes effect within a step; the pipeline itself checks between batches and
        tiles."""
        if self.should_stop():
            from imgtrans.errors import Stopped

            raise Stopped("stopped")


class Translator:
    """Base class for translators. Subclasses set the class attributes and implement
    ``load`` and ``translate``. Nothing here may import torch."""

    name: ClassVar[str] = ""
    summary: ClassVar[str] = ""
    capabilities: ClassVar[Capabilities] = Capabilities()
    Options: ClassVar[type] = NoOptions
    known_weights: ClassVar[tuple[WeightSpec, ...]] = ()
    requires_weights: ClassVar[bool] = False
    """True when the translator cannot run without ``--weights`` (or a default weight)."""
    fallback: ClassVar[bool] = False
    """True for a translator that loads what others do not (e.g. a library's model zoo): its
    :meth:`recognises` is asked only when no other translator claims a file, so it never
    takes over weights a translator of their own loads (it still loads them with --plugin)."""
    TrainOptions: ClassVar[type | None] = None
    """Options dataclass for ``imgtrans train`` (``capabilities.training`` must be True)."""
    input_extensions: ClassVar[frozenset[str] | None] = None
    """File extensions of the inputs (``input_kind="layout"``: e.g. ``{"json"}``); None: images."""
    export_formats: ClassVar[tuple[str, ...]] = ()
    """Formats ``imgtrans export`` can write a trained checkpoint in (e.g. ``"reference"``)."""
    autocast_scope: ClassVar[Literal["call", "parts", "none"]] = "call"
    """Where ``--precision fast`` applies: ``"call"``, the pipeline autocasts the whole
    ``translate``/``generate`` call (norm layers stay fp32); ``"parts"``, the translator wraps
    only the parts that tolerate it in ``imgtrans.plugin.fast_scope(context)`` (e.g. a
    diffusion sampler autocasts the UNet and keeps its step arithmetic in fp32); ``"none"``:
    always exact. Outputs are cast to fp32 either way."""
    fast_mode_error: ClassVar[str] = ""
    """The measured error of ``--precision fast`` against exact, shown by ``imgtrans info``
    (e.g. "bf16 CPU: mean 0.4, max 6 8-bit levels; see bench/RESULTS.md")."""

    def __init__(self, options: Any, device: Any) -> None:
        self.options = options
        self.device = device

    @classmethod
    def load(cls, weights: "ResolvedWeights | None", options: Any, device: Any) -> "Translator":
        """Build a ready translator. ``weights`` were resolved once by the pipeline (local,
        downloaded if need be): a :class:`~imgtrans.weights.resolved.ResolvedWeights`
        carrying its ``path``, ``kind``, registry ``spec``, a checkpoint's parsed
        description and a foreign file's state dict (``weights.state_dict()``, read once),
        or None. Use what it carries rather than reading the files again; it is also an
        ``os.PathLike``. ``device`` is a ``torch.device``. Pass everything the instance
        needs to its constructor: a translator gets no attributes after construction."""
        return cls(options, device)

    @classmethod
    def outputs_per_input(cls, options: Any) -> int:
        """How many images ``translate`` returns per input (e.g. several samples of a
        stochastic translator). With N > 1, ``translate`` returns (B * N, ...) image-major
        (all samples of input 0, then of input 1...) and the pipeline writes
        ``<name>_s0 ... <name>_s{N-1}``. Decided from the options alone, before loading."""
        return 1

    @classmethod
    def training_task(cls, options: Any, settings: Any, device: Any) -> Any:
        """Build an ``imgtrans.plugin.TrainingTask`` for ``imgtrans train``;
        ``settings`` is a ``TrainSettings`` (data folder, batch size, seed...)."""
        raise NotImplementedError(f"translator {cls.name!r} cannot be trained")

    @classmethod
    def export(cls, checkpoint: Path, out: Path, fmt: str) -> list[Path]:
        """Write an imgtrans checkpoint in another tool's layout; returns the files written."""
        raise NotImplementedError(f"translator {cls.name!r} cannot export checkpoints")

    @classmethod
    def recognises(cls, state_dict: Mapping[str, Any]) -> bool:
        """True when a foreign checkpoint file (its state dict, as loaded, maybe wrapped) is
        one this translator loads. Lets ``--weights FILE`` pick the translator without
        ``--plugin``; must be cheap and never build networks. A truthy value other than True
        (e.g. the architecture found) reaches :meth:`load` as ``weights.found``. A check that
        cannot decide (e.g. its library is missing) may raise ``WeightsError`` saying why:
        when no translator claims the file, that sentence is added to the error. Default:
        recognises nothing."""
        return False

    @classmethod
    def recognises_folder(cls, folder: Path) -> Any:
        """Like :meth:`recognises`, for a weights folder that is not an imgtrans checkpoint
        (e.g. a reference training folder or a diffusers model folder). A truthy value other
        than True (e.g. the folder's parsed description) reaches :meth:`load` as
        ``weights.found``, so the folder need not be parsed twice."""
        return False

    def preprocessing(self) -> Preprocessing:
        """The contract for the loaded instance; may depend on options and weights."""
        return Preprocessing()

    def translate(self, images: Any, context: TranslateContext) -> Any:
        raise NotImplementedError

    def read_input(self, path: Path) -> Any:
        """For ``input_kind="layout"``: parse one input file (called in reader threads);
        raise ``imgtrans.errors.InputError(path, reason)`` for a bad one. A parsed input may
        have a ``batch_key`` attribute: only inputs with equal keys share a ``generate`` call
        (e.g. outputs of different shapes)."""
        raise NotImplementedError

    def generate(self, inputs: list[Any], context: TranslateContext) -> Any:
        """For ``input_kind="layout"``: float (B * outputs_per_input, C, H, W) in [0, 1] from
        parsed inputs; randomness from ``context.generators[i]`` for input ``i``."""
        raise NotImplementedError

    def labels(self) -> list[str] | None:
        """For ``input_kind="layout"``: the label names the loaded model understands (in
        vocabulary order, reserved entries left out), so an editor can offer them instead of
        letting users guess; None when the translator has no such list."""
        return None

    def config(self) -> dict[str, Any]:
        """Settings recorded in run reports: the options and anything the weights decided."""
        return {"translator": self.name, "options": dataclasses.asdict(self.options)}
