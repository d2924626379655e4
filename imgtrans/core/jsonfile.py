"""Reading JSON input files that may be hostile: bounded size, bounded nesting, no huge
numbers, and only regular files (a FIFO named ``x.json`` must not hang a run)."""

from __future__ import annotations

import json
import os
import re
import stat
from pathlib import Path
from typing import Any

from imgtrans.errors import InputError

MAX_JSON_BYTES = 16 << 20
MAX_JSON_DEPTH = 64
MAX_INT_DIGITS = 40


def read_json_file(path: Path, *, max_bytes: int = MAX_JSON_BYTES,
                   max_depth: int = MAX_JSON_DEPTH) -> Any:
    """The parsed JSON of ``path``; ``InputError(path, reason)`` when it is not a regular
    file, larger than ``max_bytes``, not UTF-8, nested deeper than ``max_depth``, holds an
    integer of more than 40 digits, or is not valid JSON."""
    path = Path(path)
    try:
        info = os.stat(path)
    except OSError as exc:
        raise InputError(path, f"cannot read file: {exc.strerror or exc}") from None
    if not stat.S_ISREG(info.st_mode):
        raise InputError(path, "not a regular file (a folder, pipe, device or socket)")
    if info.st_size > max_bytes:
        raise InputError(path, f"JSON file of {info.st_size} bytes is larger than the limit of {max_bytes}")
    try:
        with open(path, "rb") as f:
            data = f.read(max_bytes + 1)
    except OSError as exc:
        raise InputError(path, f"cannot read file: {exc.strerror or exc}") from None
    if len(data) > max_bytes:
        raise InputError(path, f"JSON file larger than the limit of {max_bytes} bytes")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InputError(path, f"not UTF-8 text (byte {exc.start})") from None
    if not text.strip():
        raise InputError(path, "empty file")
    depth = nesting_depth(text)
    if depth > max_depth:
        raise InputError(path, f"JSON nested {depth} levels deep; at most {max_depth} are allowed")
    try:
        return json.loads(text, parse_int=_bounded_int)
    except json.JSONDecodeError as exc:
        raise InputError(path, f"not valid JSON: {exc.msg} at line {exc.lineno}, column {exc.colno}") from None
    except ValueError as exc:
        raise InputError(path, str(exc)) from None


def _bounded_int(digits: str) -> int:
    if len(digits.lstrip("-")) > MAX_INT_DIGITS:
        raise ValueError(f"an integer of {len(digits)} digits; at most {MAX_INT_DIGITS} are allowed")
    return int(digits)


_STRING = re.compile(r'"(?:[^"\\]|\\.)*"')
_BRACKET = re.compile(r"[\[\]{}]")


def nesting_depth(text: str) -> int:
    """The deepest nesting of ``[``/``{`` outside strings, found without recursion."""
    depth = deepest = 0
    for match in _BRACKET.finditer(_STRING.sub('""', text)):
        depth += 1 if match.group() in "[{" else -1
        deepest = max(deepest, depth)
    return deepest
