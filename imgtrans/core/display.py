"""Text that reaches a terminal or a log: file names and error messages made safe to show.

File names may hold escape sequences, control characters or bytes that are not UTF-8
(Python keeps those as lone surrogates); printed raw they garble or reprogram the terminal,
or fail to encode at all. Error messages may quote whole files. Everything shown passes
through :func:`shown`.
"""

from __future__ import annotations

MAX_LINE = 300
"""Longest line an error message or name is shown with; longer ones end in an ellipsis."""


def printable(text: object) -> str:
    """``text`` with every non-printable character escaped: undecodable file-name bytes as
    ``\\xNN`` (the byte itself), control and other invisible characters as ``\\xNN``,
    ``\\uNNNN`` or ``\\n``/``\\t``/``\\r``. Printable text (any script) is kept as is."""
    text = str(text)
    if text.isprintable():
        return text
    parts = []
    for char in text:
        code = ord(char)
        if char.isprintable():
            parts.append(char)
        elif 0xDC80 <= code <= 0xDCFF:  # surrogateescape: one undecodable byte
            parts.append(f"\\x{code - 0xDC00:02x}")
        elif char in "\n\t\r":
            parts.append(repr(char)[1:-1])
        elif code <= 0xFF:
            parts.append(f"\\x{code:02x}")
        elif code <= 0xFFFF:
            parts.append(f"\\u{code:04x}")
        else:
            parts.append(f"\\U{code:08x}")
    return "".join(parts)


def bounded(text: str, limit: int = MAX_LINE) -> str:
    """Each line of ``text`` cut to ``limit`` characters, ending in "…" when cut."""
    return "\n".join(line if len(line) <= limit else line[:limit - 1] + "…"
                     for line in text.split("\n"))


def shown(text: object, limit: int = MAX_LINE) -> str:
    """One line, safe for a terminal: escaped (:func:`printable`) and bounded."""
    return bounded(printable(text), limit)
