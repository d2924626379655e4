"""``imgtrans demo``'s video rows: the shipped clip converted as a video, its frames before
and after on the contact sheet, and the output clip timed like the input (checked with
PyAV, independently of imgtrans' decoder); without PyAV the rows are skipped with the
install line, and the demo still succeeds."""

from __future__ import annotations

import json
from fractions import Fraction

import pytest
import torch
from typer.testing import CliRunner

from imgtrans.cli import app
from imgtrans.cli.demo_video import STRIP, VIDEO_TRANSLATOR
from imgtrans_testenv import ROOT


def _timestamps(path) -> list[Fraction]:
    """Each frame's presentation time in seconds, in order, from the first frame's."""
    import av

    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        stamps = sorted(frame.pts * stream.time_base for frame in container.decode(stream))
    return [t - stamps[0] for t in stamps]


def _demo(out, translators=VIDEO_TRANSLATOR):
    torch.set_num_threads(2)
    result = CliRunner().invoke(app, ["demo", "--output", str(out), "--device", "cpu", "--limit", "1",
                                      "--translators", translators])
    assert result.exit_code == 0, result.output
    return result.output, json.loads((out / "demo.json").read_text())


def test_video_rows_show_the_clip_before_and_after(tmp_path):
    pytest.importorskip("av")
    from imgtrans.core.contact_sheet import sheet_size

    _, facts = _demo(tmp_path)
    video = facts["video"]
    clip = ROOT / "samples" / "video" / "street.mp4"
    assert video["status"] == "done" and video["input"] == str(clip)
    converted = tmp_path / "video" / "street.mp4"
    assert video["output"] == str(converted) and converted.is_file()
    before, after = _timestamps(clip), _timestamps(converted)
    assert len(after) == len(before) == video["frames"] == 32
    assert after == before  # every frame kept, with its timestamp
    shown = video["shown"]
    assert [s["index"] for s in shown] == [0, 10, 21, 31] and len(shown) == STRIP
    assert [s["seconds"] for s in shown] == pytest.approx([float(before[s["index"]]) for s in shown])
    # the translator's row, then the input frames and the output frames
    import cv2

    sheet = cv2.imread(str(tmp_path / "contact_sheet.png"))
    smallest, width = sheet_size(3, 4)
    assert sheet.shape[1] == width and smallest <= sheet.shape[0] <= smallest + 3 * 4 * 20


def test_without_pyav_the_video_rows_are_skipped_with_the_install_line(tmp_path, monkeypatch):
    import imgtrans.api

    monkeypatch.setattr(imgtrans.api, "videos_supported", lambda: False)
    output, facts = _demo(tmp_path)
    assert facts["video"] == {"skipped": "pip install 'imgtrans[video]'"}
    assert "pip install 'imgtrans[video]'" in " ".join(output.split())
    assert not (tmp_path / "video").exists()


def test_video_rows_only_with_their_translator(tmp_path):
    _, facts = _demo(tmp_path, "resize")
    assert "video" not in facts
