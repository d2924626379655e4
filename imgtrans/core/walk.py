"""Walking folders for image files, and matching glob patterns, with one set of rules.

Shared by ``convert`` (:mod:`imgtrans.core.discover`), training data, evaluation and the
demo, so they all see the same files: hidden names skipped, symlinked folders not entered by
a walk (a glob follows them, each folder once), output trees pruned, deterministic order.
"""

from __future__ import annotations

import glob
import logging
import os
import re
from pathlib import Path
from typing import Iterable, Iterator

from imgtrans.core.display import shown
from imgtrans.core.readers import IMAGE_EXTENSIONS

log = logging.getLogger(__name__)


def file_identity(path: Path) -> tuple[int, int] | None:
    """(device, inode) of what ``path`` leads to, None when nothing (or nothing reachable)
    is there: the same file under two names, or two spellings on a case-insensitive file
    system, compare equal."""
    try:
        st = os.stat(path)
    except (OSError, ValueError):  # missing, loop, name too long, NUL byte...
        return None
    return st.st_dev, st.st_ino


def walk_image_files(folder: str | Path, *, recursive: bool = True,
                     extensions: Iterable[str] = IMAGE_EXTENSIONS) -> Iterator[tuple[Path, str]]:
    """(path, POSIX path relative to ``folder``) of every file below ``folder`` whose
    extension (any case, with or without the dot in ``extensions``) is wanted: the one walk
    that convert, training data, evaluation and the demo share, so they see the same files.

    Rules: names starting with "." (files and folders) are skipped, as our temporary files
    are hidden; symlinked files are listed (and broken links, FIFOs... too: they fail when
    read, with their reason); symlinked folders are not entered, so a walk never loops or
    leaves the tree; an unlistable folder is logged and skipped. Order: each folder's files
    by name, then its sub-folders by name, each walked whole. ``recursive=False`` lists
    ``folder`` only.
    """
    wanted = frozenset(e.lstrip(".").lower() for e in extensions)
    return walk_files(Path(folder), wanted, None if recursive else 1, None)


def walk_files(root: Path, extensions: frozenset[str], max_depth: int | None,
          prune: tuple[int, int] | None, follow_links: bool = False) -> Iterator[tuple[Path, str]]:
    """(path, POSIX path relative to ``root``) of files under ``root`` with an image
    extension. Not entered: folders deeper than ``max_depth`` levels, hidden ones, the one
    whose identity is ``prune`` (the output folder), symlinked ones unless ``follow_links``,
    and, when following, any folder already seen (so loops end and nothing is listed twice)."""
    seen = {file_identity(root)}
    stack = [(root, "", 1)]
    while stack:
        folder, prefix, depth = stack.pop()
        try:
            with os.scandir(folder) as listing:
                entries = sorted(listing, key=lambda e: e.name)  # deterministic
        except OSError as exc:
            log.warning("%s: cannot list folder: %s", shown(folder), exc.strerror or exc)
            continue
        folders = []
        for entry in entries:
            if entry.name.startswith("."):
                continue
            try:
                is_dir = entry.is_dir()
            except OSError:
                is_dir = False
            if not is_dir:
                if "." in entry.name and entry.name.rpartition(".")[2].lower() in extensions:
                    yield Path(entry.path), prefix + entry.name
                continue
            if max_depth is not None and depth >= max_depth:
                continue
            if entry.is_symlink() and not follow_links:
                continue
            identity = file_identity(Path(entry.path)) if follow_links or prune else None
            if (prune and identity == prune) or (follow_links and identity in seen):
                continue
            seen.add(identity)
            folders.append((Path(entry.path), f"{prefix}{entry.name}/", depth + 1))
        stack.extend(reversed(folders))


def glob_files(pattern: str, extensions: frozenset[str],
          prune: tuple[int, int] | None) -> tuple[Path, list[tuple[Path, str]]]:
    """Match ``pattern`` ("*", "?", "[...]" within a name, "**" for any folders) by walking
    its fixed leading folder with :func:`walk_files`. Symlinked folders are followed, as
    ``glob.glob`` does, but each folder once, so loops end; the output tree is left out."""
    parts = Path(pattern).parts
    fixed = 0
    while fixed < len(parts) and not glob.has_magic(parts[fixed]):
        fixed += 1
    root = Path(*parts[:fixed]) if fixed else Path(".")
    rest = parts[fixed:]
    regex = "".join(("(?:[^/]+/)*" if part == "**" and i < len(rest) - 1 else
                     ".*" if part == "**" else
                     _name_regex(part) + "/" if i < len(rest) - 1 else
                     _last_name_regex(part))
                    for i, part in enumerate(rest))
    flags = re.IGNORECASE if os.path.normcase("A") == "a" else 0
    matcher = re.compile(regex, flags)
    depth = None if "**" in rest else len(rest)
    if not root.is_dir():
        return root, []
    return root, [(p, rel) for p, rel in walk_files(root, extensions, depth, prune, follow_links=True)
                  if matcher.fullmatch(rel)]


def _last_name_regex(part: str) -> str:
    """The file-name component of a glob: as :func:`_name_regex`, its extension (after the
    last "." outside brackets) in any case, so ``*.jpg`` finds ``IMG_1.JPG``."""
    stem, dot, ext = part.rpartition(".")
    if not dot or not ext or ext.count("[") != ext.count("]") or stem.count("[") != stem.count("]"):
        return _name_regex(part)
    return f"{_name_regex(stem)}\\.(?i:{_name_regex(ext)})"


def _name_regex(part: str) -> str:
    """One path component of a glob as a regex that never crosses "/" (as fnmatch, but
    "*" stops at folder boundaries)."""
    out, i = [], 0
    while i < len(part):
        char = part[i]
        end = part.find("]", i + 2) if char == "[" else -1
        if char == "*":
            out.append("[^/]*")
        elif char == "?":
            out.append("[^/]")
        elif end > 0:
            body = part[i + 1:end].replace("\\", "\\\\")
            body = "^" + body[1:] if body.startswith("!") else "\\" + body if body[0] in "^[" else body
            out.append(f"[{body}]")
            i = end
        else:
            out.append(re.escape(char))
        i += 1
    return "".join(out)
