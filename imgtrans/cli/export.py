"""``imgtrans export PLUGIN CHECKPOINT OUT``: a trained checkpoint in another tool's layout."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from imgtrans.cli import app, ui


@app.command()
def export(
    plugin: Annotated[str, typer.Argument(help="Translator the checkpoint belongs to.")],
    checkpoint: Annotated[Path, typer.Argument(help="Checkpoint or run folder written by `imgtrans train`.")],
    out: Annotated[Path, typer.Argument(help="Folder to write into.")],
    format: Annotated[str, typer.Option("--format", "-f", help="Target layout, e.g. reference.")] = "reference",
) -> None:
    """Export a trained checkpoint to another file layout (default: the reference implementation's)."""
    from imgtrans.api import export_checkpoint

    with ui.exit_on_errors():
        for path in export_checkpoint(plugin, checkpoint, out, format):
            ui.out.print(str(path), highlight=False)
