"""How an output was made: the record written into it, and the command that makes it again.

The run's part of the record (:func:`run_record`) is built once per run from the settings
and the resolved translator; the writer adds each input's name and sha256 (see
:func:`imgtrans.core.stages.write`). :func:`image_info` reads it back from an output.
"""

from __future__ import annotations

import dataclasses
import shlex
from pathlib import Path
from typing import Any

FORMAT = 1
"""Version of the record's layout."""


def run_record(settings: Any, recipe: Any) -> dict[str, Any]:
    """The provenance every output of a run shares: translator, weights (registry name, file
    name and sha256), options (all, and those given), seed, precision, tiling, colour
    handling, output format and quality, and the imgtrans version."""
    from imgtrans import __version__

    weights = recipe.weights
    spec = recipe.spec
    record_weights = None
    if weights is not None:
        record_weights = {"name": spec.name if spec else None, "file": Path(weights.path).name,
                          "sha256": _weights_sha256(weights)}
    return {"format": FORMAT, "imgtrans": __version__, "translator": recipe.cls.name,
            "weights": record_weights, "options": _plain(dataclasses.asdict(recipe.options)),
            "options_given": _plain(dict(settings.options)), "seed": settings.seed,
            "precision": settings.precision, "tile": settings.tile,
            "tile_pad": settings.tile_pad, "color": settings.color,
            "apply_exif": settings.apply_exif, "output_format": settings.output_format,
            "quality": settings.quality}


def _weights_sha256(weights: Any) -> str | None:
    """The registry's checksum when it has one, else the file's (a folder's manifest's),
    hashed once per file version (:func:`~imgtrans.weights.cache.remembered_sha256`)."""
    from imgtrans.weights.cache import remembered_sha256

    if weights.spec is not None and weights.spec.sha256:
        return weights.spec.sha256
    try:
        return remembered_sha256(Path(weights.path))
    except OSError:
        return None


def _plain(value: Any) -> Any:
    """JSON-ready: paths and other objects as strings."""
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    return str(value)


def reproduce_command(record: dict[str, Any], output: str | Path | None = None) -> str:
    """The ``imgtrans convert`` command that makes this output again from its input (the
    input's name as recorded; run it where that file is)."""
    source = (record.get("input") or {}).get("name") or "INPUT"
    target = str(output) if output is not None else "OUTPUT"
    words = ["imgtrans", "convert", source, target, "--plugin", str(record.get("translator"))]
    weights = record.get("weights") or {}
    if weights.get("name") or weights.get("file"):
        words += ["--weights", weights.get("name") or weights["file"]]
    for key, value in (record.get("options_given") or {}).items():
        words += ["--opt", f"{key}={_option_text(value)}"]
    if record.get("seed") is not None:
        words += ["--seed", str(record["seed"])]
    if record.get("precision", "exact") != "exact":
        words += ["--precision", record["precision"]]
    if record.get("tile"):
        words += ["--tile", str(record["tile"]), "--tile-pad", str(record.get("tile_pad", 10))]
    if record.get("color", "keep") != "keep":
        words += ["--color", record["color"]]
    if record.get("apply_exif") is False:
        words.append("--no-exif")
    if record.get("quality") not in (None, 95):
        words += ["--quality", str(record["quality"])]
    if record.get("output_format"):
        words += ["--format", record["output_format"]]
    return " ".join(shlex.quote(word) for word in words)


def _option_text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (list, tuple)):
        return ",".join(map(str, value))
    return str(value)


def image_info(path: str | Path) -> dict[str, Any]:
    """What an image file carries: its size, EXIF (a few well-known tags), ICC profile
    description, whether it has XMP, and an imgtrans output's provenance with the command
    that reproduces it (``provenance`` None for other images)."""
    import io
    import warnings

    from PIL import Image, ImageCms

    from imgtrans.core.metadata import collect, read_provenance
    from imgtrans.core.input_files import max_file_bytes, read_file
    from imgtrans.errors import InputError

    path = Path(path)
    data = read_file(path, max_file_bytes(178_956_970))
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            with Image.open(io.BytesIO(data)) as im:
                kind, size, mode, info = im.format, im.size, im.mode, dict(im.info)
                exif = im.getexif()
                tags = {name: exif.get(tag) for name, tag in _TAGS.items() if exif.get(tag) is not None}
                raw_exif = info.get("exif")
    except Exception as exc:
        raise InputError(path, f"not an image ({type(exc).__name__})") from None
    meta = collect(data, str(kind), info, raw_exif)
    profile = None
    if meta.icc:
        try:
            profile = ImageCms.getProfileDescription(ImageCms.ImageCmsProfile(io.BytesIO(meta.icc))).strip()
        except Exception:
            profile = "(unreadable profile)"
    try:
        record = read_provenance(data)
    except Exception:  # a damaged record is no record
        record = None
    return {"file": str(path), "format": kind, "width": size[0], "height": size[1], "mode": mode,
            "exif": {k: _plain(v) for k, v in tags.items()}, "icc_profile": profile,
            "xmp": meta.xmp is not None, "text": sorted(meta.text), "provenance": record,
            "command": reproduce_command(record, path.name) if record else None}


_TAGS = {"make": 0x010F, "model": 0x0110, "datetime": 0x0132, "orientation": 0x0112,
         "software": 0x0131, "copyright": 0x8298}
