"""Error types. Each maps to one CLI exit code, so the CLI never shows a traceback for them."""

from __future__ import annotations


class ImgtransError(Exception):
    """Base class; ``exit_code`` is what the CLI exits with."""

    exit_code = 1


class UsageError(ImgtransError):
    """The command line or API call is wrong (bad option, bad value, bad combination)."""

    exit_code = 2


class DataError(UsageError):
    """Training data cannot be used as it is (layout, unreadable items, images too small for
    the settings). A ``UsageError`` for callers that catch those; the CLI exits 3."""

    exit_code = 3


class NoInputsError(ImgtransError):
    """Nothing matched the input path or pattern."""

    exit_code = 4


class PluginError(ImgtransError):
    """A translator is unknown, failed to load, or cannot do what was asked."""

    exit_code = 5


class WeightsError(ImgtransError):
    """Weights are unknown, unreachable, corrupt, unsafe or do not fit the translator."""

    exit_code = 5


MAX_REASON_CHARS = 300


def bounded(text: str, limit: int = MAX_REASON_CHARS) -> str:
    """``text`` cut to ``limit`` characters with an ellipsis: an error line must stay a line,
    whatever a hostile input put into it."""
    return text if len(text) <= limit else text[: limit - 1] + "…"


class InputError(ImgtransError):
    """One input file cannot be used; the batch goes on without it."""

    def __init__(self, path: object, reason: str) -> None:
        reason = bounded(str(reason))
        super().__init__(f"{path}: {reason}")
        self.path = path
        self.reason = reason


class Stopped(ImgtransError):
    """A run was asked to stop (Ctrl-C, a web job's cancel) while a translator was working:
    raised by ``TranslateContext.check_stop`` between steps, tiles or samples, and turned
    into "interrupted" results by the pipeline, never shown as a failure."""

    exit_code = 130
