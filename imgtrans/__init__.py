"""imgtrans: image-to-image translation with learned models, translators as plugins.

The Python API lives in :mod:`imgtrans.api` and is re-exported here lazily, so that
``import imgtrans`` stays cheap (no torch until a translator is loaded).
"""

from __future__ import annotations

from typing import Any

__version__ = "0.1.0"

_API = ("load", "convert", "train", "list_translators", "translator_info", "image_info",
        "bundled_weights", "ConvertSettings")


def __getattr__(name: str) -> Any:
    if name in _API:
        from imgtrans import api

        return getattr(api, name)
    raise AttributeError(f"module 'imgtrans' has no attribute {name!r}")


__all__ = ["__version__", *_API]
