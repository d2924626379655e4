"""``imgtrans weights``: see which checkpoints are known, fetch them ahead of time (for
offline use or a slow network), and find where they are on disk.

Results (the table, JSON, paths) go to stdout; progress bars and errors go to stderr.
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.progress import (BarColumn, DownloadColumn, Progress, TextColumn,
                           TimeRemainingColumn, TransferSpeedColumn)
from rich.table import Table

from imgtrans.cli.ui import err, error, escape, exit_on_errors, out
from imgtrans.errors import WeightsError
from imgtrans.translators.base import WeightSpec
from imgtrans.weights.cache import cache_path_for
from imgtrans.weights.hub import find_hub_folder
from imgtrans.weights.registry import pretrained_dir
from imgtrans.weights.resolve import fetch_url, is_cached, local_path_for_spec, lookup_spec

weights_app = typer.Typer(
    help="List, download and locate known weights (checkpoints).",
    no_args_is_help=True,
)


def _known() -> list[WeightSpec]:
    from imgtrans.plugins.manager import known_weight_specs
    return list(known_weight_specs())


def _is_url(value: str) -> bool:
    return value.lower().startswith(("http://", "https://"))


def _where(spec: WeightSpec) -> Path | None:
    if spec.file:
        return pretrained_dir() / spec.file
    if spec.repo:
        return find_hub_folder(spec.repo)
    return cache_path_for(spec.url) if spec.url else None


def _print_path(path: Path) -> None:
    out.print(str(path), markup=False, highlight=False)


@weights_app.command("list")
def list_weights(
    plugin: Annotated[Optional[str], typer.Option("--plugin", "-p",
                                                  help="Only weights for this translator.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print a JSON list to stdout.")] = False,
) -> None:
    """List known weights: name, translator, where they come from, whether they are on disk."""
    with exit_on_errors():
        specs = sorted((s for s in _known() if plugin is None or s.plugin == plugin),
                       key=lambda s: (s.plugin, s.name))
    if as_json:
        rows = [{**dataclasses.asdict(s), "cached": is_cached(s),
                 "path": str(p) if (p := _where(s)) else None} for s in specs]
        typer.echo(json.dumps(rows, indent=2))
        return
    if not specs:
        err.print("No known weights" + (f" for {plugin!r}." if plugin else "."),
                  markup=False, highlight=False)
        return
    table = Table(title="known weights (--weights NAME)", title_justify="left")
    for column in ("name", "translator", "source", "cached", "licence", "description"):
        table.add_column(column, overflow="fold")
    for s in specs:
        table.add_row(escape(s.name), escape(s.plugin),
                      "bundled" if s.file else "hub" if s.repo else "url" if s.url else "manual",
                      "[green]yes[/]" if is_cached(s) else "no", escape(s.license or "?"),
                      escape(s.description))
    out.print(table)


class _DownloadBar:
    """A ``download`` progress callback on stderr. The bar appears on the first call, so
    weights already on disk print nothing; use as a context manager to close it."""

    def __init__(self, label: str) -> None:
        self.label = label
        self.progress: Progress | None = None
        self.task = None

    def __call__(self, done: int, total: Optional[int]) -> None:
        if self.progress is None:
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
    failed = False
    with exit_on_errors():
        known = _known()
        for name in names:
            try:
                if _is_url(name):
                    with _DownloadBar(name) as bar:
                        path = fetch_url(name, progress=bar)
                else:
                    spec = lookup_spec(name, known)
                    with _DownloadBar(spec.name) as bar:
                        path = local_path_for_spec(spec, progress=bar)
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
    with exit_on_errors():
        if _is_url(name):
            found = fetch_url(name, download_ok=False)
        else:
            found = local_path_for_spec(lookup_spec(name, _known()), download_ok=False)
    _print_path(found)
