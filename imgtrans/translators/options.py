"""``--opt key=value`` parsing, coercion and validation against a translator's Options dataclass.

Field metadata a translator may set: ``help`` (str), ``choices`` (a tuple of allowed values;
``typing.Literal`` annotations also define choices), for numbers ``min`` and ``max``
(inclusive bounds), ``path`` (True for a text option that names a file or folder: the web
app fills it only from an upload of the page, never from typed text) and, for other text,
``max_length`` (default :data:`MAX_TEXT_LENGTH`). Bounds and lengths are checked here, once,
for ``--opt``, the Python API and the web app alike, before the dataclass's own
``__post_init__`` (the place for checks that involve several fields): one value must never
be able to exhaust memory or time, and the error names the range. ``imgtrans info`` and the
web form show them.
"""

from __future__ import annotations

import dataclasses
import difflib
import math
import typing
from typing import Any

from imgtrans.errors import UsageError

MAX_TEXT_LENGTH = 2000
"""Characters a free-text option that is not a path may hold unless it declares ``max_length``."""

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off"}


@dataclasses.dataclass(frozen=True)
class OptionInfo:
    """One option as ``imgtrans info`` shows it."""

    name: str
    type: str
    default: Any
    help: str
    choices: tuple[Any, ...] | None
    min: float | None = None
    max: float | None = None
    path: bool = False
    """The value names a file or folder (field metadata ``"path": True``)."""
    max_length: int | None = None
    """Free text only: the most characters a value may have."""

    @property
    def range_text(self) -> str:
        """The bounds as people read them ("0 to 512", "at least 1"); "" when unbounded."""
        if self.min is not None and self.max is not None:
            return f"{self.min} to {self.max}"
        if self.min is not None:
            return f"at least {self.min}"
        return f"at most {self.max}" if self.max is not None else ""


def describe_options(options_cls: type) -> list[OptionInfo]:
    """List the fields of an Options dataclass with their type, default, help and choices."""
    hints = typing.get_type_hints(options_cls)
    infos = []
    for f in dataclasses.fields(options_cls):
        base, choices = _unwrap(hints[f.name])
        choices = f.metadata.get("choices", choices)
        if f.default is not dataclasses.MISSING:
            default = f.default
        elif f.default_factory is not dataclasses.MISSING:
            default = f.default_factory()
        else:
            default = None
        infos.append(OptionInfo(f.name, _type_name(base), default, f.metadata.get("help", ""),
                                tuple(choices) if choices else None,
                                f.metadata.get("min"), f.metadata.get("max"),
                                bool(f.metadata.get("path", False)),
                                _max_length(base, choices, f.metadata)))
    return infos


def parse_option_pairs(pairs: list[str] | tuple[str, ...]) -> dict[str, str]:
    """Split ``["k=v", ...]`` into a dict; a pair without ``=`` is a usage error."""
    out: dict[str, str] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            raise UsageError(f"option {pair!r} is not of the form key=value")
        out[key.strip()] = value.strip()
    return out


def build_options(options_cls: type, values: dict[str, Any], *, translator: str = "") -> Any:
    """Make an Options instance from strings or typed values, with clear errors.

    Unknown keys name the valid ones; values are coerced to the field type and checked
    against choices and bounds.
    """
    infos = {info.name: info for info in describe_options(options_cls)}
    hints = typing.get_type_hints(options_cls)
    kwargs = {}
    where = f" for translator {translator!r}" if translator else ""
    for key, raw in values.items():
        if key not in infos:
            close = difflib.get_close_matches(key, list(infos), n=3)
            hint = f" (did you mean {', '.join(close)}?)" if close else ""
            valid = ", ".join(infos) or "none"
            raise UsageError(f"unknown option {key!r}{where}{hint}; valid options: {valid}")
        kwargs[key] = _coerce(key, raw, hints[key], infos[key].choices)
        _check_range(key, raw, kwargs[key], infos[key])
    try:
        return options_cls(**kwargs)
    except (TypeError, ValueError) as exc:
        raise UsageError(f"invalid options{where}: {exc}") from None


def _coerce(key: str, raw: Any, annotation: Any, choices: tuple[Any, ...] | None) -> Any:
    base, _ = _unwrap(annotation)
    optional = _is_optional(annotation)
    if isinstance(raw, str):
        if optional and raw.lower() in ("", "none", "null"):
            return None
        try:
            value = _from_string(raw, base)
        except ValueError:
            raise UsageError(
                f"option {key}={raw!r}: expected {_type_name(base)}"
                + (f", one of: {', '.join(map(str, choices))}" if choices else "")
            ) from None
    else:
        value = raw
    if choices and value not in choices:
        raise UsageError(f"option {key}={raw!r} is not allowed; choose one of: "
                         f"{', '.join(map(str, choices))}")
    return value


def _max_length(base: Any, choices: Any, metadata: Any) -> int | None:
    if base is not str or choices or metadata.get("path"):
        return None
    return int(metadata.get("max_length", MAX_TEXT_LENGTH))


def _check_range(key: str, raw: Any, value: Any, info: OptionInfo) -> None:
    """Numbers outside the declared bounds, NaN and infinities, and text longer than its
    ``max_length`` are usage errors."""
    if isinstance(value, str) and info.max_length is not None and len(value) > info.max_length:
        raise UsageError(f"option {key}: {len(value)} characters, at most {info.max_length} allowed")
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return
    if isinstance(value, float) and not math.isfinite(value):
        raise UsageError(f"option {key}={raw!r}: expected a finite number"
                         + (f" from {info.range_text}" if info.range_text else ""))
    if (info.min is not None and value < info.min) or (info.max is not None and value > info.max):
        raise UsageError(f"option {key}={raw!r} is out of range: expected {info.range_text}")


def _from_string(raw: str, base: Any) -> Any:
    if base is bool:
        low = raw.lower()
        if low in _TRUE:
            return True
        if low in _FALSE:
            return False
        raise ValueError(raw)
    if base is int:
        return int(raw)
    if base is float:
        return float(raw)
    return raw


def _unwrap(annotation: Any) -> tuple[Any, tuple[Any, ...] | None]:
    """Return (base type, Literal choices or None), looking through Optional."""
    args = [a for a in typing.get_args(annotation) if a is not type(None)]
    origin = typing.get_origin(annotation)
    if origin is typing.Literal:
        values = typing.get_args(annotation)
        return type(values[0]), values
    if origin in (typing.Union, getattr(__import__("types"), "UnionType", None)) and len(args) == 1:
        return _unwrap(args[0])
    return annotation, None


def _is_optional(annotation: Any) -> bool:
    return type(None) in typing.get_args(annotation)


def _type_name(base: Any) -> str:
    return getattr(base, "__name__", str(base))
