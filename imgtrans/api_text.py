"""Text a front end shows: file names and messages made safe for a terminal or a page
(undecodable bytes and control characters escaped, one bounded line). Torch-free and
import-light, so the CLI can use it at start-up; re-exported by :mod:`imgtrans.api`."""

from __future__ import annotations

from imgtrans.core.display import printable, shown

__all__ = ["printable", "shown"]
