"""``imgtrans demo``: every built-in translator on the sample images, plus a contact sheet."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from imgtrans.cli import app, ui


@app.command()
def demo(
    output: Annotated[Path, typer.Option("--output", "-o", help="Folder for the results.")] = Path("demo-output"),
    samples: Annotated[Path, typer.Option(help="Folder of input images.")] = Path("samples/images"),
    device: Annotated[str, typer.Option(envvar="IMGTRANS_DEVICE", help="auto, cpu, cuda or cuda:N.")] = "auto",
) -> None:
    """Convert the sample images with every translator that has default weights (or needs
    none), and write a side-by-side contact sheet."""
    from imgtrans.api import ConvertSettings, convert, list_translators
    from imgtrans.core.contact_sheet import make_contact_sheet
    from imgtrans.core.discover import discover_inputs
    from imgtrans.core.readers import read_image
    from imgtrans.core.writers import encode_image, write_atomic
    from imgtrans.plugins.manager import get_host

    with ui.exit_on_errors():
        host = get_host()
        names = [t["name"] for t in list_translators() if _runs_unattended(host, t["name"])]
        inputs = discover_inputs(samples, output / "input", overwrite=True).todo
        columns: dict[str, dict[str, Path]] = {}
        for name in names:
            ui.err.print(f"demo: {name}", highlight=False)
            report = convert(samples, output / name, ConvertSettings(plugin=name, device=device,
                                                                     overwrite=True, seed=0))
            columns[name] = {item.input: Path(item.output) for item in report.items if item.status == "done"}
        rows = [[read_image(item.source).pixels] +
                [_read_or_none(columns[name].get(str(item.source)), read_image) for name in names]
                for item in inputs]
        sheet = make_contact_sheet(rows, ["input", *names])
        sheet_path = output / "contact_sheet.png"
        write_atomic(sheet_path, encode_image(sheet, "png"))
    ui.out.print(f"wrote {len(inputs)} image(s) x {len(names)} translator(s) to {output}/ "
                 f"and the contact sheet {sheet_path}", highlight=False)


def _runs_unattended(host, name: str) -> bool:
    cls = host.get_translator(name)
    if cls.capabilities.input_kind != "image" or not cls.capabilities.inference:
        return False
    has_default = any(s.default for s in host.known_weight_specs() if s.plugin == name)
    return has_default or not cls.requires_weights


def _read_or_none(path, read_image):
    return read_image(path).pixels if path is not None else None
