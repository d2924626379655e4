"""The ``imgtrans`` command line: one module per command, all printing through ``ui``."""

from __future__ import annotations

import logging
import os
from typing import Annotated, Optional

import typer

# OpenCV reports corrupt files to stderr itself; the CLI reports each one once, clearly.
os.environ.setdefault("OPENCV_LOG_LEVEL", "OFF")

from imgtrans import __version__
from imgtrans.cli import ui

app = typer.Typer(name="imgtrans", no_args_is_help=True, rich_markup_mode=None,
                  pretty_exceptions_show_locals=False,
                  context_settings={"help_option_names": ["-h", "--help"]},
                  help="Translate images with learned models; translators are plugins.")


def _version(value: bool) -> None:
    if value:
        ui.out.print(f"imgtrans {__version__}", highlight=False)
        raise typer.Exit()


@app.callback()
def root(
    version: Annotated[Optional[bool], typer.Option("--version", "-V", callback=_version,
                                                    is_eager=True, help="Show the version.")] = None,
    verbose: Annotated[int, typer.Option("--verbose", "-v", count=True, help="More log output.")] = 0,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="Only warnings and errors.")] = False,
) -> None:
    ui.setup_logging(-1 if quiet else verbose)
    _held.replay()


class _HeldRecords(logging.Handler):
    """Log records of plugin loading, which happens when this module is imported (plugins
    may add commands), before the command line has said how to log; they are logged again
    once it has, so they look like every other message and obey -q/-v."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)

    def replay(self) -> None:
        records, self.records = self.records, []
        for record in records:
            logger = logging.getLogger(record.name)
            if logger.isEnabledFor(record.levelno):
                logger.handle(record)


_held = _HeldRecords()


def _register_commands() -> None:
    """Built-in commands first: the plugin host treats every command on ``app`` when plugins
    are asked as built-in, and refuses plugin commands that clash with them."""
    from imgtrans.cli import convert, demo, evaluate, export, plugins, score, serve, train, weights  # noqa: F401  (commands register)
    from imgtrans.api_translators import register_plugin_commands

    app.add_typer(weights.weights_app, name="weights")
    root_logger = logging.getLogger()
    root_logger.addHandler(_held)
    try:
        register_plugin_commands(app)
    finally:
        root_logger.removeHandler(_held)


def main() -> None:
    """Console-script entry point: the process is ours, so the garbage collector keeps out
    of start-up and exit (see :mod:`imgtrans.cli.process`)."""
    from imgtrans.cli import process

    process.own()
    try:
        app()
    finally:
        process.freeze_survivors()


_register_commands()
