"""One evaluation: match outputs with targets (and inputs), score every pair, compare the two
sets, run the requested measures, and collect it all in an :class:`EvalReport`."""

from __future__ import annotations

import logging
from dataclasses import asdict
from pathlib import Path
from typing import Callable, Iterator, Sequence

import torch
from torch import nn

from imgtrans.errors import ImgtransError, NoInputsError, UsageError
from imgtrans.eval import pairs
from imgtrans.eval.paired import score_pair
from imgtrans.eval.report import EvalReport, FileScore
from imgtrans.eval.types import (
    DEFAULT_METRICS, PAIRED_METRICS, SET_METRICS, EvalItem, EvalSettings, Measure, MeasureContext)

log = logging.getLogger(__name__)


def evaluate(outputs: Path | str, targets: Path | str | None = None,
             settings: EvalSettings | None = None, *,
             metrics: Sequence[str] = DEFAULT_METRICS, inputs: Path | str | None = None,
             measures: dict[str, Measure] | None = None, features: nn.Module | None = None,
             feature_weights: Path | None = None, device: str = "cpu",
             on_result: Callable[[FileScore], None] | None = None) -> EvalReport:
    """Evaluate the images in ``outputs`` (a folder or a file) against ``targets``.

    ``metrics``: built-in names (``l1 psnr ssim lpips`` per pair, ``fid kid`` over the sets)
    and names of ``measures`` (plugin measures, by name). ``features``: the network FID/KID
    compare in (uint8 (B, 3, H, W) -> (B, F)); default InceptionV3 from ``feature_weights``
    or the torch hub cache. A pair that cannot be scored gets its ``error`` and the others
    go on; a metric that cannot run is listed in ``report.unavailable``. Raises
    ``NoInputsError`` when no output pairs with a target and ``UsageError`` for impossible
    requests (paired metrics without targets, unknown names).
    """
    settings = settings or EvalSettings()
    measures = measures or {}
    paired = [m for m in metrics if m in PAIRED_METRICS]
    sets = [m for m in metrics if m in SET_METRICS]
    chosen = [measures[m] for m in metrics if m in measures]
    unknown = [m for m in metrics if m not in PAIRED_METRICS + SET_METRICS and m not in measures]
    if unknown:
        raise UsageError(f"unknown metric(s) {', '.join(unknown)}")
    needs_targets = paired or sets or [m.name for m in chosen if m.needs_targets]
    if targets is None and needs_targets:
        raise UsageError(f"{', '.join(paired + sets + [m.name for m in chosen if m.needs_targets])} "
                         "compare with targets: give TARGETS")
    lacking = [m.name for m in chosen if m.needs_inputs and inputs is None]
    if lacking:
        raise UsageError(f"{', '.join(lacking)} need the translator's inputs: give --inputs")

    report = EvalReport(settings={"outputs": str(outputs), "targets": None if targets is None else str(targets),
                                  "inputs": None if inputs is None else str(inputs),
                                  "metrics": list(metrics), **asdict(settings)})
    items = _items(Path(outputs), None if targets is None else Path(targets), settings,
                   bool(paired or [m for m in chosen if m.needs_targets]), report)
    if inputs is not None:
        items = pairs.attach_inputs(items, Path(inputs))

    lpips = None
    if "lpips" in paired:
        from imgtrans.eval.distribution import lpips_network

        try:
            lpips = lpips_network(device)
        except UsageError as exc:
            report.unavailable["lpips"] = str(exc)
            paired.remove("lpips")
    report.paired = paired
    for item in items:
        score = FileScore(name=item.name, output=str(item.output),
                          target=None if item.target is None else str(item.target))
        if paired and item.target is not None:
            try:
                score.values = score_pair(item.output, item.target, settings, paired, lpips)
            except (ImgtransError, ValueError) as exc:
                score.values, score.error = {m: None for m in paired}, str(exc)
        report.files.append(score)
        if on_result is not None:
            on_result(score)

    if sets:
        _set_metrics(report, Path(outputs), Path(targets), settings, sets, features,  # type: ignore[arg-type]
                     feature_weights, device)
    if chosen:
        failed = {f.name for f in report.failed}
        context = MeasureContext([i for i in items if i.name not in failed], settings, device)
        for measure in chosen:
            try:
                report.measures.update(measure.compute(context))
            except (ImgtransError, ValueError) as exc:
                report.unavailable[measure.name] = str(exc)
        by_name = {f.name: f for f in report.files}
        for name, values in context.file_values.items():
            if name in by_name:
                by_name[name].values.update(values)
    return report


def _items(outputs: Path, targets: Path | None, settings: EvalSettings, matched: bool,
           report: EvalReport) -> list[EvalItem]:
    if not matched or targets is None:
        found = pairs.all_outputs(outputs, settings.suffix)
        if not found:
            raise NoInputsError(f"{outputs}: no images")
        return [EvalItem(key, path) for key, path in found]
    matches, unmatched_out, unmatched_tgt, ambiguous = pairs.match_files(outputs, targets, settings.suffix)
    report.unmatched_outputs = [str(p) for p in unmatched_out]
    report.unmatched_targets = [str(p) for p in unmatched_tgt]
    report.ambiguous = [str(p) for p in ambiguous]
    if not matches:
        raise NoInputsError(f"no output in {outputs} matches a target in {targets} "
                            "(files are matched by relative path without extension)")
    return [EvalItem(key, out, tgt) for key, out, tgt in matches]


def _files(root: Path) -> list[Path]:
    if root.is_file():
        return [root]
    if not root.is_dir():
        raise NoInputsError(f"{root}: no such file or folder")
    return pairs.list_files(root)


def _images(paths: list[Path], read: Callable[[Path], torch.Tensor]) -> Iterator[torch.Tensor]:
    from imgtrans.eval.distribution import to_uint8

    for path in paths:
        try:
            yield to_uint8(read(path))
        except (ImgtransError, ValueError) as exc:
            log.warning("%s: left out of the set metrics: %s", path, exc)


def _set_metrics(report: EvalReport, outputs: Path, targets: Path, settings: EvalSettings,
                 names: list[str], features: nn.Module | None, feature_weights: Path | None,
                 device: str) -> None:
    from imgtrans.eval.distribution import inception_features, set_distances

    try:
        network = features if features is not None else inception_features(feature_weights)
        report.sets = set_distances(
            _images(_files(outputs), lambda p: pairs.read_rgb(p)[0]),
            _images(_files(targets), lambda p: pairs.read_target(p, settings)[0]),
            network, names, device)
    except UsageError as exc:
        for name in names:
            report.unavailable[name] = str(exc)
