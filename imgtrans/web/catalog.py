"""What the pages may choose, and the checks of what they ask for: a translator's catalogue
entry (options as form fields, offered weights), the weights a job may use, its output
format and seed.

Split from ``server`` (which routes requests and runs the app) because these are plain
functions of the registry's answers and a request's values: no request, session or queue.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

import imgtrans
from imgtrans.api import weights_examples
from imgtrans.errors import UsageError


def translator_entry(name: str, allow_downloads: bool = False) -> dict[str, Any]:
    """What a page needs to know of a translator: its options as form fields (with their
    ranges), the weights it may pick (bundled ones marked; ones not on this machine only
    when the server may download; with how many example images of what they were trained
    on :func:`example_png` serves) and its kind of input."""
    info = imgtrans.translator_info(name)
    weights = [{"name": w["name"], "description": w["description"], "default": w["default"],
                "trained_on": w.get("trained_on") or "",
                "examples": len(weights_examples(w["name"])) if w.get("examples") else 0,
                "source": "bundled" if w["file"] and w["local"] else "cached" if w["local"] else
                          "download" if w["url"] or w["repo"] else "unavailable"}
               for w in info["weights"]]
    offered = [w for w in weights if w["source"] in ("bundled", "cached")
               or (allow_downloads and w["source"] == "download")]
    default = next((w for w in info["weights"] if w["default"]), None)
    missing = default["name"] if default and default["name"] not in {w["name"] for w in offered} else None
    stand_in = next((w for w in offered if missing and w["name"] == default.get("fallback")), None)
    if stand_in is not None:  # what a run without network uses instead (imgtrans.local_weights)
        stand_in["default"], missing = True, None
    return {"name": info["name"], "summary": info["summary"],
            "input_kind": info["capabilities"]["input_kind"],
            "stochastic": info["capabilities"]["stochastic"],
            "fully_convolutional": info["capabilities"]["fully_convolutional"],
            "requires_weights": info["requires_weights"],
            "options": [dict(o, file=o["path"]) for o in info["options"]],
            "weights": offered, "default_missing": missing}


@lru_cache(maxsize=64)
def example_png(weights: str, index: int) -> bytes:
    """Example ``index`` of the registry weights ``weights`` as PNG bytes, at most 128 x 128
    pixels (``imgtrans.api.weights_example``); kept, as the examples are few and shipped
    files. The caller checks that the catalogue offers these weights and example."""
    from imgtrans.api import encode_image, weights_example

    return encode_image(weights_example(weights, index), "png")


def offered_weights(entry: dict[str, Any], weights: Any) -> str | None:
    """Registry names the catalogue offers, or None (the default, when it is offered):
    never a path or URL, and never weights the server would have to download when it
    may not."""
    offered = [w["name"] for w in entry["weights"]]
    if weights in (None, ""):
        if entry["default_missing"]:
            raise UsageError(f"the default weights of {entry['name']}, {entry['default_missing']}, "
                             f"are not on this server, which does not download; choose one of: "
                             f"{', '.join(offered) or 'none'}")
        return None
    if weights not in offered:
        raise UsageError(f"weights {str(weights)[:80]!r} are not offered for {entry['name']}; "
                         f"choose one of: {', '.join(offered) or 'none'}")
    return weights


SHOWN_FORMATS = (".png", ".jpg", ".jpeg", ".webp", ".bmp")
"""Input formats whose results keep the format (as ``imgtrans convert`` does): the ones a
browser shows. Others (TIFF, PNM, GIF) give PNG results."""


def output_format(entry: dict[str, Any], sources: dict[str, Any]) -> str | None:
    """None (each result in its input's format, as the CLI) when every input is a format
    browsers show or a video (which keeps its container: "png" would make it a folder of
    frames), else "png" for the whole job."""
    if entry["input_kind"] == "layout":
        return "png"
    uploads = [u for _, u, _ in sources.values() if u is not None]
    shown = all(u.frames or u.path.suffix.lower() in SHOWN_FORMATS for u in uploads)
    return None if shown or any(u.frames for u in uploads) else "png"


def parse_seed(value: Any) -> int | None:
    if value in (None, ""):
        return None
    try:
        seed = int(value)
    except (TypeError, ValueError, OverflowError):
        raise UsageError(f"seed {str(value)[:40]!r}: expected a whole number") from None
    if not 0 <= seed < 2**32:
        raise UsageError(f"seed {seed}: expected 0 to {2**32 - 1}")
    return seed
