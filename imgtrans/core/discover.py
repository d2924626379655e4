"""Turn INPUT and OUTPUT arguments into a plan, before any model is loaded.

INPUT is a file, a folder (walked recursively by default; the output tree mirrors it) or a
glob pattern, or several of these. OUTPUT is a file (only for a single input file) or a
folder. Every output path is decided here, once, so that skipping existing outputs (resume)
and refusing collisions work on the real names. The rules:

* Several inputs work like ``cp``: OUTPUT must be a folder; files land in it by name, a
  folder's files under ``OUTPUT/<folder name>/`` (mirrored), a glob's relative to its fixed
  leading folder. A file named twice (or by a file and a glob) is converted once; an input
  that is the output folder is left out. So an unquoted shell glob gives the plan of the
  quoted one.
* In a glob, the extension of the last component matches in any case (``*.jpg`` finds
  ``IMG_1.JPG``); the rest of the pattern is case-sensitive where the file system is.

* Inputs are names with an image extension, never hidden ones (our temporary files are
  hidden). A folder walk (:func:`walk_image_files`, shared with training data and the demo)
  does not follow symlinked folders; a glob does, entering each folder once, so folder
  loops cannot trap either. An input that is not a regular file (FIFO, device, socket,
  symlink loop, broken link) stays in the plan and fails alone, with its reason, when read.
* Outputs are never read back: an output folder inside the input tree is left out of the
  walk or glob, and an input that is itself an output of this plan (same-folder runs,
  ``--format png``, a previous run's results) is left out and listed in ``Plan.excluded``.
* The output format comes from each input's header (alpha, bit depth) through
  :func:`~imgtrans.core.writers.planned_extension`, so fallbacks such as alpha BMP -> PNG
  are known before any work.
* Videos (mp4, mkv, mov, webm, avi... and animated GIF/WebP/PNG) are recognised by their
  content (:func:`imgtrans.core.video.sniff_kind`) and planned as one item each, with an
  :class:`~imgtrans.core.video.VideoTarget`: a video file in the input's container (or the
  one ``--format`` names), or a folder of frames (``--format`` an image format, or a single
  video whose OUTPUT is a folder). Such an item is done when its output file, or the
  folder's ``frames.json``, exists.
* Output names are unique, compared case-insensitively everywhere (so a plan made on Linux
  is safe on macOS/Windows file systems and the rule needs no probing). Only inputs whose
  names collide are renamed, the same way whatever the discovery order:
  1. ``<stem><suffix>.<ext>`` in the mirrored folder;
  2. all inputs sharing a name: ``<stem>_<input ext><suffix>.<ext>`` (pic.png, pic.bmp ->
     pic_png.png, pic_bmp.png);
  3. a step-2 name that is still taken (a.png + a.PNG, or a real a_png.png):
     ``<stem>_<input ext>-<hash><suffix>.<ext>``, hash = 8 hex digits of the SHA-256 of the
     input's relative path bytes. A clash left after that is a usage error.
"""

from __future__ import annotations

import glob
import hashlib
import logging
import os
import re
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Sequence

from imgtrans.core.display import shown
from imgtrans.core import video as videos
from imgtrans.core.readers import IMAGE_EXTENSIONS, probe_image
from imgtrans.core.walk import file_identity, glob_files, walk_files
from imgtrans.core.writers import WRITABLE, choose_extension, planned_extension
from imgtrans.errors import NoInputsError, UsageError

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class WorkItem:
    """One input file and where its result goes. ``name`` is the input's path relative to
    the input root (POSIX form); it identifies the item in reports and seeds randomness."""

    source: Path
    output: Path
    name: str
    samples: int = 1
    video: videos.VideoTarget | None = None
    """Set for videos and animations: how their frames are converted."""

    @property
    def outputs(self) -> list[Path]:
        """Every file this item writes: ``output``, or ``<stem>_s<k>`` for several samples
        (for a folder of frames: its ``frames.json``, written last)."""
        if self.video is not None and self.video.kind == "frames":
            return [self.output / videos.FRAMES_MANIFEST]
        if self.samples == 1:
            return [self.output]
        return [self.output.with_name(f"{self.output.stem}_s{k}{self.output.suffix}")
                for k in range(self.samples)]


@dataclass
class Plan:
    """Items to convert, items skipped because their outputs exist, and inputs left out
    because this plan writes them."""

    todo: list[WorkItem] = field(default_factory=list)
    skipped: list[WorkItem] = field(default_factory=list)
    excluded: list[Path] = field(default_factory=list)


def discover_inputs(input_arg: str | Path | Sequence[str | Path], output_arg: str | Path, *,
                    recursive: bool = True, output_format: str | None = None,
                    suffix: str = "", overwrite: bool = False, samples: int = 1,
                    extensions: frozenset[str] = IMAGE_EXTENSIONS,
                    video: videos.VideoOptions | None = None) -> Plan:
    """Plan ``INPUT... -> OUTPUT``: ``input_arg`` is one input (file, folder or glob) or a
    list of them (see the module docstring). With ``video`` (translators of images), videos
    are inputs too, converted with these options.

    Raises ``NoInputsError`` when nothing matches and ``UsageError`` for impossible
    combinations (several inputs to one file, output overwriting an input, bad format).
    """
    if output_format and not (video and output_format.lower().lstrip(".") in videos.VIDEO_EXTENSIONS):
        try:
            choose_extension("", 3, 8, output_format)
        except ValueError as exc:
            raise UsageError(str(exc)) from None
    if video is not None:
        extensions = extensions | videos.VIDEO_EXTENSIONS | {"apng"}
    inputs = ([str(input_arg)] if isinstance(input_arg, (str, os.PathLike))
              else [str(one) for one in input_arg])
    if not inputs:
        raise NoInputsError("no inputs given")
    output = Path(output_arg).expanduser()
    several = len(inputs) > 1
    if several and (_looks_like_file(output) or (os.path.lexists(output) and not output.is_dir())):
        raise UsageError(f"{shown(output)}: with several inputs the last argument is the output "
                         "folder, and this is a file")
    prune = file_identity(output)
    found: list[tuple[Path, str]] = []
    seen: set[object] = set()
    excluded: list[Path] = []
    for one in inputs:
        in_path = Path(one).expanduser()
        if several and prune is not None and in_path.is_dir() and file_identity(in_path) == prune:
            excluded.append(in_path)  # `convert photos/* photos/out/` names the output folder
            continue
        for path, rel in _find(one, extensions, recursive, prune, several):
            key = file_identity(path) or os.path.abspath(path)
            if key not in seen:
                seen.add(key)
                found.append((path, rel))
    if not found:
        looked = f"(looked for {', '.join(sorted(extensions))})"
        raise NoInputsError(f"{shown(inputs[0])}: no image files found {looked}" if not several
                            else f"no image files found in the {len(inputs)} inputs {looked}")
    found.sort(key=lambda pair: _natural_key(pair[1]))

    single_file_output = _looks_like_file(output)
    if single_file_output and len(found) > 1:
        raise UsageError(f"{shown(output)}: several inputs cannot go to one output file; "
                         "give an output folder")
    sources = [_Source(path, rel, file_identity(path), _probe(path, rel, extensions),
                       videos.input_kind(path, rel, single=len(found) == 1) if video else None)
               for path, rel in found]
    if video is not None:
        first = Path(inputs[0]).expanduser()
        single_input = not several and (first.is_file() or not (first.is_dir() or glob.has_magic(inputs[0])))
        sources = [_with_target(s, output, single_file_output, single_input, output_format, video)
                   for s in sources]
    plan = _plan(sources, output, single_file_output, output_format, suffix, overwrite, samples)
    plan.excluded[:0] = excluded
    return plan


def _find(input_str: str, extensions: frozenset[str], recursive: bool,
          prune: tuple[int, int] | None, several: bool) -> list[tuple[Path, str]]:
    """(path, relative output path) of what one INPUT names: a folder's files (under the
    folder's name when ``several``), a file, or a glob's matches."""
    in_path = Path(input_str).expanduser()
    if in_path.is_dir():
        # the walk of walk_image_files, with the output folder left out
        found = list(walk_files(in_path, extensions, 1 if not recursive else None, prune))
        prefix = (in_path.name or in_path.resolve().name) if several else ""
        return [(path, f"{prefix}/{rel}" if prefix else rel) for path, rel in found]
    if in_path.is_file() or (os.path.lexists(in_path) and not glob.has_magic(input_str)):
        return [(in_path, in_path.name)]
    if glob.has_magic(input_str):
        return glob_files(input_str, extensions, prune)[1]
    raise NoInputsError(f"{shown(input_str)}: no such file or folder")


@dataclass(frozen=True)
class _Source:
    path: Path
    rel: str
    identity: tuple[int, int] | None
    probe: tuple[bool, int]  # (alpha, bit depth) from the header; (False, 8) when unknown
    kind: str | None = None  # "video" or "animation": planned with a target
    target: videos.VideoTarget | None = None
    video_ext: str | None = None  # the extension of a video result (None: a folder)


def _with_target(src: _Source, output: Path, single_file_output: bool, single_input: bool,
                 output_format: str | None, options: videos.VideoOptions) -> _Source:
    """``src`` with the target of its kind (see :func:`imgtrans.core.video.plan_target`)."""
    if src.kind is None:
        return src
    from dataclasses import replace

    in_ext = PurePosixPath(src.rel).suffix.lstrip(".")
    if single_file_output:
        out_ext = output.suffix.lstrip(".").lower()
        if out_ext not in videos.VIDEO_EXTENSIONS | videos.ANIMATION_OUTPUTS:
            raise UsageError(f"{shown(output)}: a video goes to a video file or a folder of "
                             "frames, not to one image")
    else:
        out_ext = output_format
    try:
        target, ext = videos.plan_target(src.kind, in_ext, out_ext, single_input and not
                                         single_file_output, frozenset(WRITABLE), options)
    except UsageError as exc:
        raise UsageError(f"{shown(src.path)}: {exc}") from None
    return replace(src, target=target, video_ext=ext)


def _probe(path: Path, rel: str, extensions: frozenset[str]) -> tuple[bool, int]:
    """Header facts for images; other inputs (layouts...) give 8-bit colour results."""
    if PurePosixPath(rel).suffix.lstrip(".").lower() not in IMAGE_EXTENSIONS & extensions:
        return False, 8
    probe = probe_image(path)
    return (probe.alpha, probe.bit_depth) if probe else (False, 8)


def _plan(sources: list[_Source], output: Path, single_file_output: bool,
          output_format: str | None, suffix: str, overwrite: bool, samples: int) -> Plan:
    """Name the outputs; leave out inputs that this plan writes, under their final or their
    unrenamed (step 1) name, then name again, until no input is an output; refuse an output
    that is its own input."""
    plan = Plan()
    while True:
        if single_file_output:
            src = sources[0]
            ext = (output.suffix.lstrip(".").lower() if src.target else
                   planned_extension("", *src.probe, output.suffix))
            target = output if output.suffix.lstrip(".").lower() == ext else output.with_suffix(f".{ext}")
            items = [WorkItem(src.path, target, src.path.name, samples, src.target)]
            unrenamed = items
        else:
            names = _unique_names(sources, output_format, suffix, samples)
            items = [WorkItem(s.path, output / n, s.rel, samples, s.target)
                     for s, n in zip(sources, names)]
            unrenamed = [WorkItem(s.path, output / _output_name(s, 0, output_format, suffix), s.rel,
                                  samples, s.target) for s in sources]
        written = [[file_identity(out) for out in item.outputs] for item in items]
        claimed = [ids + [file_identity(out) for out in first.outputs if first.output != item.output]
                   for ids, first, item in zip(written, unrenamed, items)]
        owners: dict[tuple[int, int], set[int]] = {}
        for index, src in enumerate(sources):
            if src.identity is not None:
                owners.setdefault(src.identity, set()).add(index)
        drop = {j for i, ids in enumerate(claimed) for ident in ids if ident in owners
                for j in owners[ident] if j != i}
        if not drop:
            break
        plan.excluded.extend(sources[j].path for j in sorted(drop))
        sources = [s for j, s in enumerate(sources) if j not in drop]
    for src, item, ids in zip(sources, items, written):
        if src.identity is not None and src.identity in ids:
            raise UsageError(f"{shown(item.source)}: output would overwrite the input; "
                             "choose another output folder or a --suffix")
        done = all(ident is not None for ident in ids)
        (plan.todo if overwrite or not done else plan.skipped).append(item)
    _warn_narrowed(sources, items, set(plan.todo))
    return plan


def _warn_narrowed(sources: list[_Source], items: list[WorkItem], todo: set[WorkItem]) -> None:
    """One warning per run, not per file, for 16-bit inputs whose planned format holds only
    8 bits (``--format jpg``, an ``out.jpg`` OUTPUT): they are written rounded to 8 bits."""
    narrowed = [(src, item) for src, item in zip(sources, items) if item in todo
                and src.target is None and src.probe[1] == 16
                and 16 not in getattr(WRITABLE.get(item.output.suffix.lstrip(".").lower()),
                                      "bit_depths", {16})]
    if narrowed:
        ext = narrowed[0][1].output.suffix.lstrip(".").lower()
        names = ", ".join(shown(src.rel, 60) for src, _ in narrowed[:3])
        more = f" and {len(narrowed) - 3} more" if len(narrowed) > 3 else ""
        log.warning("%d 16-bit input(s) (%s%s) will be written with 8 bits per channel: %s holds "
                    "no more (--format png or tiff keeps 16 bits)", len(narrowed), names, more, ext)


def _output_name(src: _Source, level: int, output_format: str | None, suffix: str) -> str:
    """The relative output path of ``src`` at step ``level`` (0-2) of the naming rule."""
    rel = PurePosixPath(src.rel)
    in_ext = rel.suffix.lstrip(".").lower()
    if src.target is not None and src.target.in_place:
        return "."
    ext = (src.video_ext if src.target is not None else
           planned_extension(in_ext, *src.probe, output_format))
    stem = rel.stem if level == 0 else f"{rel.stem}_{in_ext}"
    if level == 2:
        stem += "-" + hashlib.sha256(os.fsencode(src.rel)).hexdigest()[:8]
    return str(rel.with_name(f"{stem}{suffix}" + (f".{ext}" if ext else "")))


def _unique_names(sources: list[_Source], output_format: str | None, suffix: str,
                  samples: int) -> list[str]:
    """Relative output paths by the naming rule of the module docstring."""
    levels = [0] * len(sources)
    for level in (1, 2, None):
        names = [_output_name(s, lv, output_format, suffix) for s, lv in zip(sources, levels)]
        keys = [_keys(n, samples) for n in names]
        claims = Counter(k for ks in keys for k in ks)
        clashing = [i for i, ks in enumerate(keys) if any(claims[k] > 1 for k in ks)]
        if not clashing:
            return names
        if level is None:
            listed = ", ".join(shown(sources[i].rel, 80) for i in clashing[:5])
            raise UsageError(f"output names still collide after renaming: {listed}; "
                             "rename these inputs")
        for i in clashing:
            if levels[i] == level - 1:  # names of a lower step that are unique stay put
                levels[i] = level
    raise AssertionError("unreachable")


def _keys(name: str, samples: int) -> list[str]:
    """Case-folded paths of every file an output name stands for (samples add ``_s<k>``)."""
    if samples == 1:
        return [name.casefold()]
    path = PurePosixPath(name)
    return [str(path.with_name(f"{path.stem}_s{k}{path.suffix}")).casefold() for k in range(samples)]


def _looks_like_file(path: Path) -> bool:
    return not path.is_dir() and path.suffix.lstrip(".").lower() in (
        IMAGE_EXTENSIONS | videos.VIDEO_EXTENSIONS | {"apng"})


def _natural_key(text: str) -> list[object]:
    return [int(tok) if tok.isdigit() else tok.lower() for tok in re.split(r"(\d+)", text)]
