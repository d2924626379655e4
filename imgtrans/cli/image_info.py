"""``imgtrans info IMAGE``: an image's metadata and, for an imgtrans output, its provenance
and the ``imgtrans convert`` command that reproduces it. Not a command of its own: the
``info`` command hands image files here."""

from __future__ import annotations

import json

from imgtrans.cli import ui


def print_image_info(path: str, json_output: bool) -> None:
    from imgtrans.api import image_info

    data = image_info(path)
    if json_output:
        ui.out.print_json(json.dumps(data, default=str))
        return
    line = ui.out.print
    line(f"[bold]{ui.escape(data['file'])}[/]: {data['format']} {data['width']}x{data['height']} "
         f"{data['mode']}", highlight=False)
    for key, value in data["exif"].items():
        line(f"  exif {key}: {ui.escape(str(value))}", highlight=False)
    line(f"  icc profile: {ui.escape(data['icc_profile'] or 'none')}", highlight=False)
    line(f"  xmp: {'yes' if data['xmp'] else 'no'}", highlight=False)
    if data["text"]:
        line(f"  text: {ui.escape(', '.join(data['text']))}", highlight=False)
    record = data["provenance"]
    if record is None:
        line("  provenance: none (not an imgtrans output, or written with --no-provenance)",
             highlight=False)
        return
    line("provenance:", highlight=False)
    for key, value in record.items():
        if isinstance(value, dict):
            value = ", ".join(f"{k} {v}" for k, v in value.items()) or "-"
        line(f"  {key}: {ui.escape(str(value))}", highlight=False)
    line("reproduce with:", highlight=False)
    ui.out.print(data["command"], highlight=False, markup=False, soft_wrap=True)
