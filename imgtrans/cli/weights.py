"""``imgtrans weights``: see which checkpoints are known, fetch them ahead of time (for
offline use or a slow network), and find where they are on disk.

Results (the table, JSON, paths) go to stdout; progress bars and errors go to stderr.
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Optional

import typer

from imgtrans.cli.ui import err, error, escape, exit_on_errors, out
from imgtrans.errors import WeightsError

if TYPE_CHECKING:  # the weights modules (http, hashing...) load when a command runs
    from imgtrans.api import WeightSpec

weights_app = typer.Typer(
    help="List, download and locate known weights (checkpoints).",
    no_args_is_help=True,
)


def _known() -> list[WeightSpec]:
    from imgtrans.api import known_weights

    return known_weights()


def _print_path(path: Path) -> None:
    out.print(str(path), markup=False, highlight=False)


@weights_app.command("list")
def list_weights(
    plugin: Annotated[Optional[str], typer.Option("--plugin", "-p",
                                                  help="Only weights for this translator.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print a JSON list to stdout.")] = False,
    names: Annotated[bool, typer.Option("--names", help="Print only the names, one per line.")] = False,
    long: Annotated[bool, typer.Option("--long", "-l", help="Each entry as a block: what it was "
                                                           "trained on, description, source.")] = False,
) -> None:
    """List known weights: name, where they come from, whether they are on disk, how they
    are checked. Names are never wrapped, so they can be copied."""
    from rich import box
    from rich.table import Table

    from imgtrans.api import weights_checksum, weights_location, weights_on_disk

    with exit_on_errors():
        specs = sorted((s for s in _known() if plugin is None or s.plugin == plugin),
                       key=lambda s: (s.plugin, s.name))
    if names:
        for s in specs:
            out.print(s.name, markup=False, highlight=False)
        return
    if as_json:
        rows = [{**dataclasses.asdict(s), "cached": weights_on_disk(s), "checksum": weights_checksum(s),
                 "path": str(p) if (p := weights_location(s)) else None} for s in specs]
        typer.echo(json.dumps(rows, indent=2))
        return
    if not specs:
        err.print("No known weights" + (f" for {plugin!r}." if plugin else "."),
                  markup=False, highlight=False)
        return
    if long:
        _print_blocks(specs)
        return
    wide = out.width >= 120
    table = Table(title="known weights (--weights NAME)", title_justify="left", box=box.SIMPLE_HEAD,
                  collapse_padding=True, pad_edge=False)
    table.add_column("name", no_wrap=True, min_width=max(len(s.name) for s in specs))
    for column in ("from", "cached", "checksum"):
        table.add_column(column, no_wrap=True)
    table.add_column("licence", no_wrap=True, overflow="ellipsis", max_width=12)
    if wide:
        table.add_column("description", overflow="fold")
    for s in specs:
        row = [escape(s.name), "bundled" if s.file else "hub" if s.repo else "url" if s.url else "manual",
               "[green]yes[/]" if weights_on_disk(s) else "no", weights_checksum(s),
               escape(s.license or "?")]
        table.add_row(*row, *((escape(s.description),) if wide else ()))
    out.print(table)
    if not wide:
        err.print("`imgtrans info NAME` and `--json` show descriptions.", style="dim", highlight=False)


def _print_blocks(specs: list[WeightSpec]) -> None:
    """One block per entry, readable at 80 columns: the name, then what it is for."""
    from imgtrans.api import weights_on_disk

    for s in specs:
        where = "bundled" if s.file else "hub" if s.repo else "url" if s.url else "manual"
        state = "default, " if s.default else ""
        out.print(f"[bold]{escape(s.name)}[/]  ({state}{where}, {'cached' if weights_on_disk(s) else 'not cached'}, "
                  f"licence {escape(s.license or '?')})", highlight=False)
        for label, text in (("trained on", s.trained_on), ("offline", s.fallback and f"uses {s.fallback}"),
                            ("about", s.description), ("source", s.source)):
            if text:
                out.print(f"  {label}: {escape(text)}", highlight=False)


class _DownloadBar:
    """A ``download`` progress callback on stderr. The bar appears on the first call, so
    weights already on disk print nothing; use as a context manager to close it."""

    def __init__(self, label: str) -> None:
        self.label = label
        self.progress: Any = None
        self.task = None

    def __call__(self, done: int, total: Optional[int]) -> None:
        if self.progress is None:
            from rich.progress import (BarColumn, DownloadColumn, Progress, TextColumn,
                                       TimeRemainingColumn, TransferSpeedColumn)

            self.progress = Progress(TextColumn("{task.fields[name]}"), BarColumn(),
                                     DownloadColumn(), TransferSpeedColumn(),
                                     TimeRemainingColumn(), console=err, transient=True)
            self.progress.start()
            self.task = self.progress.add_task("download", total=total, name=self.label)
        self.progress.update(self.task, completed=done, total=total)

    def __enter__(self) -> "_DownloadBar":
        return self

    def __exit__(self, *exc_info) -> None:
        if self.progress is not None:
            self.progress.stop()


@weights_app.command("fetch")
def fetch(
    names: Annotated[list[str], typer.Argument(help="Weights names (plugin.tag, or a "
                                               "translator for its default) or http(s) URLs.")],
) -> None:
    """Download weights into the cache now, so later runs work offline. Prints each path.

    Every name is tried; the exit code is 5 if any failed."""
    from imgtrans.api import fetch_weights_url, find_weights, is_weights_url, weights_path

    failed = False
    with exit_on_errors():
        known = _known()
        for name in names:
            try:
                if is_weights_url(name):
                    with _DownloadBar(name) as bar:
                        path = fetch_weights_url(name, progress=bar)
                else:
                    spec = find_weights(name, known)
                    with _DownloadBar(spec.name) as bar:
                        path = weights_path(spec, progress=bar)
            except WeightsError as exc:
                error(str(exc))
                failed = True
                continue
            _print_path(path)
    if failed:
        raise typer.Exit(5)


@weights_app.command("path")
def path(
    name: Annotated[str, typer.Argument(help="Weights name (plugin.tag, or a translator for "
                                        "its default) or http(s) URL.")],
) -> None:
    """Print where weights are on disk; exit 5 if they are not downloaded yet."""
    from imgtrans.api import fetch_weights_url, find_weights, is_weights_url, weights_path

    with exit_on_errors():
        if is_weights_url(name):
            found = fetch_weights_url(name, download_ok=False)
        else:
            found = weights_path(find_weights(name, _known()), download_ok=False)
    _print_path(found)


@weights_app.command("verify")
def verify(
    names: Annotated[Optional[list[str]], typer.Argument(help="Weights names (default: every "
                                                         "known weights on disk).")] = None,
) -> None:
    """Check weights on disk against their sha256 (published, or recorded at download).

    Prints one line per weights; the exit code is 5 if any is corrupt."""
    from imgtrans.api import (find_weights, forget_verified_weights, weights_checksum,
                              weights_on_disk, weights_path)

    failed = False
    with exit_on_errors():
        known = _known()
        specs = [find_weights(n, known) for n in names] if names else [s for s in known if weights_on_disk(s)]
        forget_verified_weights()
        for spec in sorted(specs, key=lambda s: s.name):
            try:
                weights_path(spec, download_ok=False)
                status = "ok" if weights_checksum(spec) in ("sha256", "recorded", "hub") else "ok (no checksum)"
            except WeightsError as exc:
                status, failed = f"[red]failed[/]: {escape(str(exc))}", True
            out.print(f"{escape(spec.name)}  {status}", highlight=False)
    if failed:
        raise typer.Exit(5)


@weights_app.command("hash")
def hash_weights(
    paths: Annotated[list[Path], typer.Argument(help="Weights files or folders.")],
) -> None:
    """Print the sha256 that a WeightSpec or registry entry gives for a file or folder
    (for a folder: the sha256 of its manifest of files and their hashes)."""
    from imgtrans.api import weights_sha256

    for path in paths:
        if not path.exists():
            error(f"{path}: no such file or folder")
            raise typer.Exit(2)
        out.print(f"{weights_sha256(path)}  {path}", markup=False, highlight=False)
