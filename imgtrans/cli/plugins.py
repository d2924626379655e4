"""``imgtrans plugins`` and ``imgtrans info NAME``: what is installed and what it offers.
Neither imports torch."""

from __future__ import annotations

import json
from types import SimpleNamespace
from typing import Annotated

import typer
from rich.table import Table

from imgtrans.cli import app, ui


@app.command()
def plugins(json_output: Annotated[bool, typer.Option("--json", help="Print JSON to stdout.")] = False) -> None:
    """List plugins: name, version, source, what they provide, status and warnings."""
    from imgtrans.api_translators import list_plugins  # light: `imgtrans plugins` stays fast

    records = [SimpleNamespace(**r) for r in list_plugins()]
    if json_output:
        ui.out.print_json(json.dumps([vars(r) for r in records]))
        return
    table = Table(title="imgtrans plugins", title_justify="left")
    for column in ("name", "version", "source", "provides", "status"):
        table.add_column(column)
    for r in records:
        status = "[green]ok[/]" if r.status == "ok" else (
            f"[red]failed[/]: {ui.escape(r.error or '')}" if r.status == "failed" else
            f"[yellow]partial[/]: {ui.escape(r.error or '')}" if r.status == "partial" else
            f"[yellow]{r.status}[/]")
        if r.warnings:
            status += f" [yellow]({len(r.warnings)} warning{'s' if len(r.warnings) > 1 else ''})[/]"
        table.add_row(r.name, r.version, r.source, ", ".join(r.provides) or "-", status)
    ui.out.print(table)
    # Warnings are sentences; listed below the table so they are not squeezed into a column.
    warnings = [(r.name, w) for r in records for w in r.warnings]
    if warnings:
        ui.out.print("[yellow]warnings:[/]")
        for name, warning in warnings:
            ui.out.print(f"  {ui.escape(name)}: {ui.escape(warning)}", highlight=False)


@app.command()
def info(name: Annotated[str, typer.Argument(help="Translator name, weights (file, registry name), or an image (an imgtrans output: how it was made).")],
         json_output: Annotated[bool, typer.Option("--json", help="Print JSON to stdout.")] = False) -> None:
    """Show a translator's summary, capabilities, options and known weights; for weights,
    which translator they belong to and what loading them found (architecture, scale...);
    for an image, its metadata and, for an imgtrans output, how it was made and the
    command that makes it again."""
    from imgtrans.api import translator_info, translator_names, weights_info

    with ui.exit_on_errors():
        translators = translator_names()
        if name not in translators and _is_image(name):
            from imgtrans.cli.image_info import print_image_info

            print_image_info(name, json_output)
            return
        if name not in translators:
            _print_weights_info(weights_info(name), json_output)
            return
        data = translator_info(name)
    if json_output:
        ui.out.print_json(json.dumps(data, default=str))
        return
    from rich.text import Text

    title = [Text(line) for line in _wrap(f"{data['name']} (plugin {data['plugin']}): {data['summary']}",
                                          "  ", first="")]
    title[0].stylize("bold", 0, len(data["name"]))
    ui.out.print(Text("\n").join(title), soft_wrap=True)
    # batch_invariance may be a sentence: on its own line rather than in the key=value list
    caps = ", ".join(f"{k}={v}" for k, v in data["capabilities"].items()
                     if k != "batch_invariance" and v != "")
    _print_wrapped(f"capabilities: {caps}; requires weights: {data['requires_weights']}")
    if "batch_invariance" in data["capabilities"]:
        _print_wrapped(f"batch invariance: {data['capabilities']['batch_invariance']}")
    fast = {"none": "none (always exact)"}.get(data["autocast_scope"],
                                               data["fast_mode_error"] or "not measured")
    _print_wrapped(f"--precision fast error: {fast}")
    _print_options("options (convert --opt key=value)", data["options"])
    if data["train_options"]:
        _print_options("training options (train --opt key=value)", data["train_options"])
    _print_weights(data["weights"])


def _is_image(name: str) -> bool:
    from pathlib import Path

    from imgtrans.api import IMAGE_EXTENSIONS

    path = Path(name)
    return path.suffix.lower().lstrip(".") in IMAGE_EXTENSIONS and path.is_file()


def _print_weights_info(data: dict, json_output: bool) -> None:
    """Weights: their translator, registry entry, and the facts the loaded model reports."""
    if json_output:
        ui.out.print_json(json.dumps(data, default=str))
        return
    ui.out.print(f"[bold]{ui.escape(data['weights'])}[/]: {data['translator']} weights", highlight=False)
    entry = data.get("registry") or {}
    for key in ("name", "trained_on", "license", "source", "url", "sha256", "description"):
        if entry.get(key):
            _print_fact(key, entry[key])
    if not data.get("loaded"):
        ui.out.print("\n".join(_wrap(f"not downloaded yet (imgtrans weights fetch {entry.get('name')}): "
                                      "fetch them to see what the model is", "      ", first="  ")),
                     highlight=False, markup=False)
        return
    facts = {k: v for k, v in data.items() if k not in ("weights", "registry", "loaded", "options",
                                                         "translator", "weight_name")}
    for key, value in _flat(facts):
        _print_fact(key, value)


def _print_fact(key: str, value: object) -> None:
    """``  key: value``, wrapped at the console's width and continued under the value."""
    ui.out.print("\n".join(_wrap(f"{key}: {value}", "      ", first="  ")), highlight=False,
                 markup=False)


def _flat(facts: dict, prefix: str = "") -> list[tuple[str, object]]:
    """``{"model": {"scale": 4}}`` -> ``[("scale", 4)]``: nested facts on one level."""
    rows: list[tuple[str, object]] = []
    for key, value in facts.items():
        if isinstance(value, dict) and key in ("model", "sr_config"):
            rows += _flat(value, prefix)
        elif isinstance(value, dict):
            rows.append((prefix + key, ", ".join(f"{k} {v}" for k, v in value.items())))
        elif isinstance(value, list):
            rows.append((prefix + key, ", ".join(map(str, value)) or "-"))
        else:
            rows.append((prefix + key, value))
    return rows


def _print_weights(weights: list[dict]) -> None:
    """Known weights as blocks: the name whole (never wrapped or cut, so it can be copied)
    with whether it is the default and where it comes from, then what it was trained on and
    its description, wrapped under it."""
    from rich.text import Text

    if not weights:
        ui.out.print("known weights: none", highlight=False)
        return
    ui.out.print(Text("known weights (--weights NAME)", style="bold"))
    for w in weights:
        origin = "bundled" if w["file"] else "hub" if w["repo"] else "url" if w["url"] else "manual"
        default = ("default, " if w["default"] else
                   "offline default, " if _is_fallback(w["name"], weights) else "")
        head = Text(f"  {w['name']}  ({default}{origin})")
        head.stylize("bold", 2, 2 + len(w["name"]))
        about = f"{w['trained_on']}. {w['description']}" if w.get("trained_on") else w["description"]
        ui.out.print(Text("\n").join([head] + [Text(line) for line in _wrap(about, "      ")]),
                     soft_wrap=True)


def _is_fallback(name: str, weights: list[dict]) -> bool:
    """True for the bundled weights that stand in for the default when it cannot be fetched."""
    return any(w["default"] and w.get("fallback") == name for w in weights)


def _wrap(text: str, indent: str = "", first: str | None = None) -> list[str]:
    """``text`` as lines of the console's width (at most 100), words whole (options and
    paths stay copyable), each line indented by ``indent`` (the first by ``first``)."""
    import textwrap

    width = max(40, min(ui.out.width, 100))
    return textwrap.wrap(text, width, initial_indent=indent if first is None else first,
                         subsequent_indent=indent, break_long_words=False,
                         break_on_hyphens=False) or [indent.rstrip()]


def _print_wrapped(line: str) -> None:
    """``line`` wrapped at the console's width, continued indented."""
    ui.out.print("\n".join(_wrap(line, "  ", first="")), highlight=False, markup=False)


def _print_options(title: str, options: list[dict]) -> None:
    """Options as blocks that read at any width: ``name  type, default D, allowed`` on one
    line, the help wrapped under it (a five-column table left the help 1-3 words a line at
    80 columns)."""
    from rich.text import Text

    ui.out.print(Text(title, style="bold"))
    if not options:
        ui.out.print("  none", highlight=False)
    for o in options:
        allowed = _allowed(o)
        facts = ["path" if o.get("path") else o["type"], f"default {o['default']!r}"]
        if allowed:
            facts.append(f"one of {allowed}" if o["choices"] else allowed)
        lines = [Text(line) for line in _wrap(f"{o['name']}  " + ", ".join(facts), "      ", "  ")]
        lines[0].stylize("bold", 2, 2 + len(o["name"]))
        lines += [Text(line) for line in _wrap(o["help"], "      ") if o["help"]]
        ui.out.print(Text("\n").join(lines), soft_wrap=True)


def _allowed(option: dict) -> str:
    """Choices, or the declared range ("0 to 512"), as ``--opt`` checks them."""
    if option["choices"]:
        return ", ".join(map(str, option["choices"]))
    low, high = option.get("min"), option.get("max")
    if low is not None and high is not None:
        return f"{low} to {high}"
    return f">= {low}" if low is not None else f"<= {high}" if high is not None else ""
