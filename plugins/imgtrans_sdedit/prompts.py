"""Per-file prompts for Stable Diffusion models (``--opt prompts=PATH``).

The rule, for an input named ``NAME`` (its path relative to the input root, e.g.
``sub/b.png``; a single input file is named by its file name):

* ``PATH`` is a JSON file: an object whose keys are input names, given as ``sub/b.png``,
  ``sub/b`` (without the extension) or ``b`` (the stem alone), tried in that order, and
  whose values are prompt strings.
* ``PATH`` is a folder: ``PATH/sub/b.txt``, else ``PATH/b.txt`` (the mask-folder rule), a
  UTF-8 text file whose stripped content is the prompt.

An input the file or folder does not name gets the ``prompt`` option. ``negative_prompt`` and
``guidance_scale`` apply to every input. Torch-free.
"""

from __future__ import annotations

from pathlib import Path, PurePosixPath

from imgtrans.plugin import InputError, UsageError, read_json_file

MAX_PROMPT_BYTES = 64 * 1024


def read_prompt_table(path: Path) -> dict[str, str]:
    """The ``{name: prompt}`` object of a JSON prompts file; ``UsageError`` for a bad one."""
    try:
        table = read_json_file(path)
    except InputError as exc:
        raise UsageError(f"prompts {path}: {exc.reason}") from None
    if not isinstance(table, dict) or not all(isinstance(v, str) for v in table.values()):
        raise UsageError(f"prompts {path}: expected a JSON object of input names to prompt strings")
    return table


class PromptSource:
    """Where each input's prompt comes from: the ``prompt`` option, a JSON table or a folder
    of ``.txt`` files (see the module's rule)."""

    def __init__(self, default: str, path: str | None = None) -> None:
        self.default = default
        self.table: dict[str, str] | None = None
        self.folder: Path | None = None
        if path is not None:
            where = Path(path).expanduser()
            if where.is_dir():
                self.folder = where
            else:
                self.table = read_prompt_table(where)

    def prompt_for(self, name: str) -> str:
        """The prompt of the input ``name``; ``InputError`` for an unreadable text file."""
        rel = PurePosixPath(name)
        if self.table is not None:
            without = str(rel.with_suffix("")) if rel.suffix else str(rel)
            for key in (str(rel), without, rel.stem):
                if key in self.table:
                    return self.table[key]
            return self.default
        if self.folder is not None:
            places = [self.folder / rel.parent, self.folder] if str(rel.parent) not in ("", ".") \
                else [self.folder]
            for place in places:
                candidate = place / f"{rel.stem}.txt"
                if candidate.is_file():
                    try:
                        if candidate.stat().st_size > MAX_PROMPT_BYTES:
                            raise InputError(name, f"prompt file {candidate} is larger than "
                                                   f"{MAX_PROMPT_BYTES} bytes")
                        return candidate.read_text(encoding="utf-8").strip()
                    except (OSError, UnicodeDecodeError) as exc:
                        raise InputError(name, f"cannot read prompt file {candidate}: {exc}") from None
        return self.default
