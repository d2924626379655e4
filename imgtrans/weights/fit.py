"""Putting a state dict into a network with errors that say exactly what does not fit.

Shared by translators that infer an architecture from a checkpoint: after inference, a
strict load that fails should name the missing, unexpected and mis-shaped keys, not dump
PyTorch's wall of text.
"""

from __future__ import annotations

import threading
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, Iterator, Mapping, Sequence

from imgtrans.errors import WeightsError

if TYPE_CHECKING:
    import torch.nn as nn


# Wrappers around the state dict that published checkpoints use, tried in this order; the first
# whose value holds tensors wins. params_ema before params is what Real-ESRGAN's inference does
# (EMA weights are the published ones); "state_dict" comes before "model_state_dict" and
# "ema_state_dict" because Lornatang's SRGAN inference loads "state_dict".
WRAPPER_KEYS = ("params_ema", "params-ema", "params", "state_dict", "model_state_dict",
                "model", "net", "ema_state_dict")
# Prefixes added by DataParallel/DDP (module.), BasicSR-style wrappers (netG.), torch.compile.
PREFIXES = ("module.", "netG.", "_orig_mod.")


def _is_tensor(value: Any) -> bool:
    return hasattr(value, "shape") and hasattr(value, "dtype")


def unwrap_state_dict(obj: Any, wrapper_keys: Sequence[str] = WRAPPER_KEYS,
                      prefixes: Sequence[str] = PREFIXES) -> dict[str, Any]:
    """A plain ``{key: tensor}`` from a state dict or a training/release wrapper: takes the
    first of ``wrapper_keys`` that holds tensors (or a lone nested dict), a few levels deep;
    drops entries that are not tensors (``_metadata``, epochs); strips each of ``prefixes``
    while every key has it. Raises :class:`WeightsError` when no tensors are found."""
    if not isinstance(obj, Mapping):
        raise WeightsError(f"expected a state dict or a checkpoint dict, got {type(obj).__name__}")
    sd: Mapping[str, Any] = obj
    for _ in range(4):
        if any(_is_tensor(v) for v in sd.values()):
            break
        nested = [sd[k] for k in wrapper_keys if isinstance(sd.get(k), Mapping)
                  and any(_is_tensor(v) or isinstance(v, Mapping) for v in sd[k].values())]
        dicts = [v for v in sd.values() if isinstance(v, Mapping)]
        if nested:
            sd = nested[0]
        elif len(dicts) == 1:
            sd = dicts[0]
        else:
            break
    out = {k: v for k, v in sd.items() if isinstance(k, str) and _is_tensor(v)}
    if not out:
        keys = [str(k) for k in obj][:8]
        raise WeightsError(f"the checkpoint holds no tensors where weights were expected "
                           f"(top-level keys: {', '.join(keys) or 'none'}; looked under "
                           f"{', '.join(wrapper_keys)})")
    stripped = True
    while stripped:
        stripped = False
        for prefix in prefixes:
            if all(k.startswith(prefix) for k in out):
                out, stripped = {k[len(prefix):]: v for k, v in out.items()}, True
    return out


def describe_keys(keys: list[str], state_dict: Mapping[str, Any] | None = None, limit: int = 5) -> str:
    """``"a (3, 3), b (8,) and 12 more"``: a few keys, with shapes when ``state_dict`` is given."""
    def shape(key: str) -> Any:
        value = state_dict.get(key) if state_dict is not None else None
        return tuple(value.shape) if value is not None else None

    shown = [f"{k} {shape(k)}" if state_dict is not None else k for k in keys[:limit]]
    return ", ".join(shown) + (f" and {len(keys) - limit} more" if len(keys) > limit else "")


def strict_load(model: "nn.Module", state_dict: Mapping[str, Any], what: str) -> None:
    """``load_state_dict(strict=True)`` raising :class:`WeightsError` that names missing,
    unexpected, mis-shaped and wrongly typed keys; ``what`` describes the model."""
    _check_fit(model.state_dict(), state_dict, what)
    try:
        model.load_state_dict(dict(state_dict), strict=True)
    except RuntimeError as exc:  # e.g. a dtype that cannot be copied
        raise WeightsError(f"the weights could not be loaded into the {what}: {exc}") from exc


def build_network(config: Any, state_dict: Mapping[str, Any], what: str | None = None) -> "nn.Module":
    """The network ``config.build()`` describes, holding the tensors of ``state_dict``, in
    eval mode on the CPU: the one way from a checkpoint to a network.

    The network is built on the ``meta`` device (no memory, no random initialisation, which
    for a large network costs several times the file's reading) and is given the state
    dict's tensors themselves, cast to the dtypes the network declares. The load is strict,
    with :func:`strict_load`'s errors; ``what`` describes the network in them (default:
    ``config.describe()`` when it has one). A network whose construction computes tensors
    that are not in a state dict (non-persistent buffers) is built the ordinary way instead.
    ``state_dict`` must be plain (see :func:`unwrap_state_dict`) and its tensors finite
    (:func:`~imgtrans.weights.safe_load.load_state_dict` checks that).
    """
    import torch

    what = what or (config.describe() if hasattr(config, "describe") else type(config).__name__)
    with torch.device("meta"), _initialisers_skipped():
        model = config.build()
    expected = model.state_dict()
    _check_fit(expected, state_dict, what)
    tensors = {k: v if v.dtype == expected[k].dtype else v.to(expected[k].dtype)
               for k, v in state_dict.items()}
    try:
        model.load_state_dict(tensors, strict=True, assign=True)
    except RuntimeError as exc:
        raise WeightsError(f"the weights could not be loaded into the {what}: {exc}") from exc
    if any(t.is_meta for t in (*model.parameters(), *model.buffers())):
        model = config.build()  # tensors made in __init__ that no state dict holds
        strict_load(model, state_dict, what)
    return model.eval()


# torch.nn.init's initialisers: on the meta device they compute nothing, but still cost
# (through torch's device mode) about as much as reading the file.
_INITIALISERS = ("uniform_", "normal_", "trunc_normal_", "constant_", "ones_", "zeros_", "eye_",
                 "dirac_", "xavier_uniform_", "xavier_normal_", "kaiming_uniform_",
                 "kaiming_normal_", "orthogonal_", "sparse_")
_skip_lock = threading.Lock()


@contextmanager
def _initialisers_skipped() -> Iterator[None]:
    """On the calling thread only, ``torch.nn.init``'s initialisers return their tensor
    untouched (other threads, e.g. one building a network to train, get the real ones)."""
    from torch.nn import init

    me = threading.get_ident()
    with _skip_lock:
        originals = {name: getattr(init, name) for name in _INITIALISERS if hasattr(init, name)}

        def skipping(original: Any) -> Any:
            def initialiser(tensor: Any, *args: Any, **kwargs: Any) -> Any:
                if threading.get_ident() == me:
                    return tensor
                return original(tensor, *args, **kwargs)
            return initialiser

        for name, original in originals.items():
            setattr(init, name, skipping(original))
        try:
            yield
        finally:
            for name, original in originals.items():
                setattr(init, name, original)


def _check_fit(expected: Mapping[str, Any], state_dict: Mapping[str, Any], what: str) -> None:
    """Raise :class:`WeightsError` naming what in ``state_dict`` does not fit ``expected``
    (a model's own state dict): missing, unexpected, mis-shaped and wrongly typed keys."""
    missing = [k for k in expected if k not in state_dict]
    unexpected = [k for k in state_dict if k not in expected]
    wrong = [f"{k} is {tuple(state_dict[k].shape)}, expected {tuple(v.shape)}"
             for k, v in expected.items()
             if k in state_dict and tuple(state_dict[k].shape) != tuple(v.shape)]
    wrong += [f"{k} has dtype {state_dict[k].dtype}, expected a real number type"
              for k, v in expected.items() if k in state_dict and v.is_floating_point()
              and (state_dict[k].is_complex() or str(state_dict[k].dtype) == "torch.bool")]
    problems = []
    if missing:
        problems.append(f"{len(missing)} missing key(s): {describe_keys(missing)}")
    if unexpected:
        problems.append(f"{len(unexpected)} unexpected key(s): {describe_keys(unexpected)}")
    if wrong:
        problems.append(f"{len(wrong)} mismatch(es): {'; '.join(wrong[:3])}"
                        + (f" and {len(wrong) - 3} more" if len(wrong) > 3 else ""))
    if problems:
        raise WeightsError(f"the weights do not fit the {what} inferred from them: " + "; ".join(problems))
