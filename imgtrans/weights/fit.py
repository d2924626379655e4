"""Putting a state dict into a network with errors that say exactly what does not fit.

Shared by translators that infer an architecture from a checkpoint: after inference, a
strict load that fails should name the missing, unexpected and mis-shaped keys, not dump
PyTorch's wall of text.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Mapping

from imgtrans.errors import WeightsError

if TYPE_CHECKING:
    import torch.nn as nn


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
    expected = model.state_dict()
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
    try:
        model.load_state_dict(dict(state_dict), strict=True)
    except RuntimeError as exc:  # e.g. a dtype that cannot be copied
        raise WeightsError(f"the weights could not be loaded into the {what}: {exc}") from exc
