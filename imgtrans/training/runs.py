"""The run folder's record, ``run.json``, and what ``--resume`` takes from it.

``run.json`` is the checkpoint description (:func:`imgtrans.checkpoints.describe`: translator,
networks, options) plus ``settings`` (data folder, limits, batch size per process, seed, ...)
and ``world_size`` (processes). It is written with the first checkpoint, so a folder is a run
exactly when it holds both; a start that fails earlier leaves no run behind, and trying again
just works.

A resumed run continues as it was started: data, batch, seed and options come from the
record. Giving one again with the same value is fine; another value is an error that names
the recorded one. Limits (``epochs``, ``max_steps``) and ``save_every`` may change and are
logged. The batch a step trains on is kept when the number of processes changes: a 2 x 4 run
resumes on one process with batch 8.
"""

from __future__ import annotations

import json
import logging
from dataclasses import asdict
from pathlib import Path
from typing import Any, Mapping

from imgtrans import checkpoints
from imgtrans.core.writers import write_atomic
from imgtrans.errors import DataError, UsageError
from imgtrans.training.task import TrainSettings

log = logging.getLogger(__name__)

RUN_FILE = "run.json"
KEPT = {"seed": "--seed", "on_bad_data": "--on-bad-data"}
"""Settings a resumed run keeps (besides data, batch size and options), with their flags."""
ADJUSTABLE = {"epochs": "--epochs", "max_steps": "--max-steps", "save_every": "--save-every"}
"""Settings a resumed run may change."""
_DEFAULTS = asdict(TrainSettings(data=Path(), out=Path()))


def read_record(out: Path) -> dict[str, Any] | None:
    """The record of the run in ``out``, or None when ``out`` holds no run (no run.json, or
    no checkpoint yet: a start that failed)."""
    path = Path(out) / RUN_FILE
    if not path.is_file() or checkpoints.find_checkpoint(Path(out) / "checkpoints" / "latest") is None:
        return None
    try:
        record = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise UsageError(f"{path}: unreadable run record: {exc}") from None
    if not isinstance(record, dict) or not isinstance(record.get("translator"), str):
        raise UsageError(f"{path}: not an imgtrans run record")
    return record


def write_record(out: Path, translator: str, networks: Mapping[str, Mapping[str, Any]],
                 options: Mapping[str, Any], extra: Mapping[str, Any], settings: TrainSettings,
                 world_size: int) -> None:
    saved = {k: v for k, v in asdict(settings).items() if k not in ("out", "resume")}
    saved["data"] = str(Path(settings.data).resolve())
    record = {**checkpoints.describe(translator, networks, options=options, extra=extra),
              "settings": saved, "world_size": world_size}
    write_atomic(Path(out) / RUN_FILE, (json.dumps(record, indent=2, default=str) + "\n").encode())


def fresh_settings(record: dict[str, Any] | None, data: Path | None, out: Path,
                   given: Mapping[str, Any]) -> TrainSettings:
    """Settings of a new run in ``out``; refuses a folder that holds a run."""
    if record is not None:
        raise UsageError(f"{out} already holds a {record['translator']} run; continue it with "
                         f"--resume or choose another --out")
    if data is None:
        raise UsageError("name the training data (DATA)")
    if not Path(data).exists():
        raise DataError(f"{data}: no such file or folder")
    return TrainSettings(data=Path(data), out=Path(out), **given)


def resumed(record: dict[str, Any] | None, translator: str, options_cls: type,
            data: Path | None, out: Path, given: Mapping[str, Any], options: Mapping[str, Any],
            world_size: int) -> tuple[TrainSettings, dict[str, Any]]:
    """The recorded settings and options of the run in ``out`` with the changes ``given``
    may make (``given`` and ``options`` hold only what the caller set); one ``UsageError``
    listing every conflict."""
    if record is None:
        failed = (Path(out) / RUN_FILE).is_file()
        raise UsageError(f"{out}: nothing to resume: " + (
            "its start failed before the first checkpoint; start it again without --resume"
            if failed else "no run here; start one without --resume"))
    if record["translator"] != translator:
        raise UsageError(f"{out} is a {record['translator']} run, not {translator}: "
                         f"resume it with `imgtrans train {record['translator']} ... --resume`")
    stored = {**_DEFAULTS, **(record.get("settings") or {})}
    problems: list[str] = []
    settings = {key: stored[key] for key in (*KEPT, *ADJUSTABLE)}
    settings["data"] = _data_folder(Path(stored["data"]), data, problems)
    settings["batch_size"] = _batch_size(int(stored["batch_size"]), int(record.get("world_size") or 1),
                                         given.get("batch_size"), world_size, problems)
    for key, flag in KEPT.items():
        if given.get(key) is not None and given[key] != stored[key]:
            problems.append(f"{flag} {given[key]}: this run was started with {flag} {stored[key]}, "
                            f"and a resumed run keeps it")
    run_options = _options(record, options, options_cls, translator, problems)
    if problems:
        raise UsageError("\n".join(problems))
    for key, flag in ADJUSTABLE.items():
        if given.get(key) is not None and given[key] != stored[key]:
            log.info("resuming with %s %s (the run had %s)", flag, given[key],
                     "the default" if stored[key] is None else stored[key])
            settings[key] = given[key]
    return (TrainSettings(out=Path(out), device=given.get("device", "auto"), resume=True, **settings),
            run_options)


def _options(record: dict[str, Any], given: Mapping[str, Any], options_cls: type,
             translator: str, problems: list[str]) -> dict[str, Any]:
    """The run's options; ``given`` ones must say the same (compared once parsed, so
    ``crop_size=32`` from the command line equals a recorded 32)."""
    from imgtrans.translators.options import build_options

    stored = dict(record.get("options") or record.get("train_options") or {})
    if not given:
        return stored
    before = asdict(build_options(options_cls, stored, translator=translator))
    after = asdict(build_options(options_cls, {**stored, **given}, translator=translator))
    problems += [f"--opt {key}={given[key]}: this run was started with {key}={before.get(key)}, "
                 f"and a resumed run keeps its options (start a new run to change them)"
                 for key in given if after.get(key) != before.get(key)]
    return stored


def _data_folder(recorded: Path, given: Path | None, problems: list[str]) -> Path:
    """The recorded data folder; another one only when the recorded one is gone (moved)."""
    if given is None:
        if not recorded.exists():
            problems.append(f"the run's data folder {recorded} no longer exists; give its new "
                            f"place as DATA")
        return recorded
    if Path(given).resolve() == recorded.resolve():
        return recorded
    if recorded.exists():
        problems.append(f"DATA {given}: this run trains on {recorded}; leave DATA out (or give "
                        f"that folder) to resume")
        return recorded
    log.warning("the run's data folder %s no longer exists; resuming with %s", recorded, given)
    return Path(given)


def _batch_size(recorded: int, recorded_world: int, given: int | None, world: int,
                 problems: list[str]) -> int:
    """The batch per process that keeps the run's items per step on ``world`` processes."""
    step = recorded * recorded_world
    if given is not None:
        if given * world == step:
            return given
        if world == recorded_world == 1:
            problems.append(f"--batch-size {given}: this run was started with --batch-size "
                            f"{recorded}, and a resumed run keeps it")
        else:
            problems.append(f"--batch-size {given}: this run trains on {step} items a step "
                            f"({recorded} on each of {recorded_world} processes); on {world} "
                            f"process(es) that is --batch-size {step / world:g}: leave "
                            f"--batch-size out to resume")
        return given
    if step % world:
        problems.append(f"this run trains on {step} items a step ({recorded} on each of "
                        f"{recorded_world} processes), which {world} processes cannot share evenly")
        return recorded
    if world != recorded_world:
        log.info("%d process(es) with batch size %d keep the run's %d items a step",
                 world, step // world, step)
    return step // world
