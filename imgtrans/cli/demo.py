"""``imgtrans demo``: every translator with default weights (or needing none) on its sample
inputs, plus a side-by-side contact sheet."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from imgtrans.cli import app, ui


@app.command()
def demo(
    output: Annotated[Path, typer.Option("--output", "-o", help="Folder for the results.")] = Path("demo-output"),
    samples: Annotated[Path, typer.Option(help="Sample folder: <samples>/<translator>/ if it exists, else <samples>/images/.")] = Path("samples"),
    device: Annotated[str, typer.Option(envvar="IMGTRANS_DEVICE", help="auto, cpu, cuda or cuda:N.")] = "auto",
) -> None:
    """Convert the sample images with every translator that has default weights (or needs
    none), and write a side-by-side contact sheet."""
    from imgtrans.api import ConvertSettings, convert, list_translators
    from imgtrans.core.contact_sheet import make_contact_sheet
    from imgtrans.core.readers import read_image
    from imgtrans.core.writers import encode_image, write_atomic
    from imgtrans.plugins.manager import get_host

    with ui.exit_on_errors():
        host = get_host()
        names = [t["name"] for t in list_translators() if _runs_unattended(host, t["name"])]
        rows, row_labels, count = [], [], 0
        for name in names:
            inputs = samples / name if (samples / name).is_dir() else samples / "images"
            ui.err.print(f"demo: {name} on {inputs}", highlight=False)
            layouts = host.get_translator(name).capabilities.input_kind == "layout"
            options = {"overlay": "true", "scale": "2"} if layouts else {}
            report = convert(inputs, output / name, ConvertSettings(plugin=name, device=device, options=options,
                                                                   overwrite=True, seed=0))
            for item in report.items:
                done = item.status == "done"
                rows.append([None if layouts else read_image(Path(item.input)).pixels,
                             read_image(Path(item.output)).pixels if done else None])
                row_labels.append(name)
                count += done
        sheet_path = output / "contact_sheet.png"
        sheet = make_contact_sheet(rows, ["input", "output"], cell_height=128, row_labels=row_labels)
        write_atomic(sheet_path, encode_image(sheet, "png"))
    ui.out.print(f"{len(names)} translator(s), {count} image(s) written under {output}/; "
                 f"contact sheet: {sheet_path}", highlight=False)


def _runs_unattended(host, name: str) -> bool:
    """Translators the demo can run: image or layout input, with default weights or none.
    (Layout translators show the layout drawn next to the result instead of an input.)"""
    cls = host.get_translator(name)
    if cls.capabilities.input_kind not in ("image", "layout") or not cls.capabilities.inference:
        return False
    has_default = any(s.default for s in host.known_weight_specs() if s.plugin == name)
    return has_default or not cls.requires_weights
