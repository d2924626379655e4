"""The only place that prints: rich consoles, logging set-up, progress and tables.

Human output goes to stderr so stdout stays clean for JSON and piping.
"""

from __future__ import annotations

import logging

from rich.console import Console
from rich.markup import escape  # noqa: F401  (used by commands)

err = Console(stderr=True, soft_wrap=True)
out = Console(soft_wrap=True)


def setup_logging(verbosity: int) -> None:
    """-q → warnings only, default → info, -v → debug."""
    from rich.logging import RichHandler  # with rich.traceback: only when a command runs

    level = logging.WARNING if verbosity < 0 else logging.INFO if verbosity == 0 else logging.DEBUG
    logging.basicConfig(level=level, format="%(message)s", datefmt="[%X]", force=True,
                        handlers=[RichHandler(console=err, show_path=False, markup=False,
                                              rich_tracebacks=True, show_time=False)])


def error(message: str) -> None:
    """One clear line, no traceback."""
    err.print(f"[bold red]error:[/] {escape(message)}", markup=True, highlight=False)


class exit_on_errors:
    """Turn imgtrans errors into one red line and their exit code; Ctrl-C into 130.

    With ``-v`` the error's traceback comes first, with the exceptions it was raised from: a
    translator that fails to load is a ``PluginError`` raised from the plugin's own error,
    and that traceback is what its author needs."""

    def __enter__(self) -> "exit_on_errors":
        return self

    def __exit__(self, exc_type, exc, tb) -> bool:
        import typer

        from imgtrans.errors import ImgtransError

        if exc_type is None:
            return False
        if issubclass(exc_type, ImgtransError):
            log = logging.getLogger("imgtrans.cli")
            if log.isEnabledFor(logging.DEBUG):
                log.debug("details", exc_info=(exc_type, exc, tb))
            error(str(exc))
            raise typer.Exit(exc.exit_code)
        if issubclass(exc_type, KeyboardInterrupt):
            error("interrupted")
            raise typer.Exit(130)
        return False
