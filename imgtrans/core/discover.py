"""Turn INPUT and OUTPUT arguments into work items, before any model is loaded.

INPUT is a file, a folder (walked recursively by default; the output tree mirrors it) or a
glob pattern. OUTPUT is a file (only for a single input file) or a folder. Whether an output
already exists (skip, so interrupted runs resume) is decided here too.
"""

from __future__ import annotations

import glob
import os
import re
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from imgtrans.core.readers import IMAGE_EXTENSIONS
from imgtrans.core.writers import choose_extension
from imgtrans.errors import NoInputsError, UsageError


@dataclass(frozen=True)
class WorkItem:
    """One input file and where its result goes. ``name`` is the input's path relative to
    the input root (POSIX form); it identifies the item in reports and seeds randomness."""

    source: Path
    output: Path
    name: str
    samples: int = 1

    @property
    def outputs(self) -> list[Path]:
        """Every file this item writes: ``output``, or ``<stem>_s<k>`` for several samples."""
        if self.samples == 1:
            return [self.output]
        return [self.output.with_name(f"{self.output.stem}_s{k}{self.output.suffix}")
                for k in range(self.samples)]


@dataclass
class Plan:
    """Items to convert and items skipped because their output exists."""

    todo: list[WorkItem] = field(default_factory=list)
    skipped: list[WorkItem] = field(default_factory=list)


def discover_inputs(input_arg: str | Path, output_arg: str | Path, *,
                    recursive: bool = True, output_format: str | None = None,
                    suffix: str = "", overwrite: bool = False, samples: int = 1,
                    extensions: frozenset[str] = IMAGE_EXTENSIONS) -> Plan:
    """List work items for ``INPUT -> OUTPUT``.

    Raises ``NoInputsError`` when nothing matches and ``UsageError`` for impossible
    combinations (several inputs to one file, output overwriting an input).
    """
    input_str = str(input_arg)
    output = Path(output_arg).expanduser()
    in_path = Path(input_str).expanduser()
    if in_path.is_file():
        root, sources = in_path.parent, [in_path]
    elif in_path.is_dir():
        root, sources = in_path, _walk(in_path, recursive, extensions, exclude=output)
    elif glob.has_magic(input_str):
        root = _glob_root(input_str)
        sources = [Path(p) for p in glob.glob(input_str, recursive=True)]
        sources = [p for p in sources if p.is_file() and _is_image(p, extensions)]
    else:
        raise NoInputsError(f"{input_str}: no such file or folder")
    if not sources:
        raise NoInputsError(f"{input_str}: no image files found "
                            f"(looked for {', '.join(sorted(extensions))})")
    sources = sorted(set(sources), key=lambda p: _natural_key(p.relative_to(root).as_posix()))

    single_file_output = _looks_like_file(output)
    if single_file_output and not in_path.is_file():
        raise UsageError(f"{output}: several inputs cannot go to one output file; "
                         "give an output folder")
    items = _map_outputs(sources, root, output, single_file_output, output_format, suffix)
    plan = Plan()
    for item in items:
        item = WorkItem(item.source, item.output, item.name, samples)
        if any(out.resolve() == item.source.resolve() for out in item.outputs):
            raise UsageError(f"{item.source}: output would overwrite the input; "
                             "choose another output folder or a --suffix")
        done = all(out.exists() for out in item.outputs)
        (plan.todo if overwrite or not done else plan.skipped).append(item)
    return plan


def _map_outputs(sources: list[Path], root: Path, output: Path, single_file_output: bool,
                 output_format: str | None, suffix: str) -> list[WorkItem]:
    if single_file_output:
        src = sources[0]
        return [WorkItem(src, output, src.name)]
    planned = []
    for src in sources:
        rel = src.relative_to(root)
        ext = _output_extension(src, output_format)
        planned.append((src, rel, rel.parent / f"{rel.stem}{suffix}.{ext}"))
    # One stem, several formats (pic.bmp, pic.gif -> pic.png): keep the source extension in
    # the name of each colliding output instead of letting them overwrite each other.
    counts = Counter(out for _, _, out in planned)
    items = []
    for src, rel, out in planned:
        if counts[out] > 1:
            out = out.with_name(f"{rel.stem}_{rel.suffix.lstrip('.').lower()}{suffix}{out.suffix}")
        items.append(WorkItem(src, output / out, rel.as_posix()))
    return items


def _output_extension(src: Path, output_format: str | None) -> str:
    """Predicted output extension (8-bit RGB assumed; the writer may still fall back to PNG
    when the actual result does not fit, which is rare and logged)."""
    try:
        return choose_extension(src.suffix.lstrip(".").lower(), 3, 8, output_format)
    except ValueError as exc:
        raise UsageError(str(exc)) from None


def _walk(root: Path, recursive: bool, extensions: frozenset[str], exclude: Path) -> list[Path]:
    exclude_abs = exclude.resolve() if exclude.exists() else None
    found = []
    for dirpath, dirnames, filenames in os.walk(root):
        here = Path(dirpath)
        dirnames[:] = [d for d in dirnames if not d.startswith(".")
                       and (exclude_abs is None or (here / d).resolve() != exclude_abs)]
        found.extend(here / f for f in filenames if _is_image(here / f, extensions))
        if not recursive:
            break
    return found


def _is_image(path: Path, extensions: frozenset[str]) -> bool:
    # Hidden files include our own temporary files from interrupted writes.
    return not path.name.startswith(".") and path.suffix.lstrip(".").lower() in extensions


def _glob_root(pattern: str) -> Path:
    parts = Path(pattern).parts
    fixed = []
    for part in parts:
        if glob.has_magic(part):
            break
        fixed.append(part)
    return Path(*fixed) if fixed else Path(".")


def _looks_like_file(path: Path) -> bool:
    return not path.is_dir() and path.suffix.lstrip(".").lower() in IMAGE_EXTENSIONS


def _natural_key(text: str) -> list[object]:
    return [int(tok) if tok.isdigit() else tok.lower() for tok in re.split(r"(\d+)", text)]
