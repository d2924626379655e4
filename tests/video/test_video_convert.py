"""Video in, video out: timing, audio and pixels kept (issue 21)."""

from __future__ import annotations

import numpy as np
import pytest

from tests.video.clips import (av, broken_clip, decoded, make_clip, other_packets,
                               video_packets)

import imgtrans


SRGAN = "srgan.synthetic_x4"  # bundled: no download


def _convert(src, dst, plugin="resize", **kw):
    if plugin == "srgan":
        kw.setdefault("weights", SRGAN)
    return imgtrans.convert(str(src), str(dst), plugin=plugin, device="cpu", seed=0, **kw)


@pytest.mark.parametrize("plugin", ["resize", "srgan"])
def test_mp4_keeps_every_timestamp_and_copies_audio(tmp_path, plugin):
    src = tmp_path / "clip.mp4"
    stamps = make_clip(src, frames=12)
    report = _convert(src, tmp_path / "out.mp4", plugin)
    assert [i.status for i in report.items] == ["done"], report.items
    out = tmp_path / "out.mp4"
    got = video_packets(out)
    assert [p[0] for p in got] == stamps
    with av.open(str(src)) as a, av.open(str(out)) as b:
        assert b.streams.video[0].time_base == a.streams.video[0].time_base
        assert b.streams.video[0].frames == 12
        assert b.streams.video[0].duration == a.streams.video[0].duration
    assert other_packets(out) == other_packets(src)
    assert len(decoded(out)) == 12



def test_frame_in_a_video_equals_the_frame_as_an_image(tmp_path):
    """Lossless in and out (FFV1 RGB): the video path gives exactly the image path's pixels."""
    src = tmp_path / "clip.mkv"
    make_clip(src, frames=5, codec="ffv1", pix_fmt="bgr0", audio=None)
    out = tmp_path / "out.mkv"
    report = _convert(src, out, "srgan", video_codec="ffv1")
    assert report.items[0].status == "done", report.items
    assert report.items[0].video["pix_fmt"] == "bgr0"
    model = imgtrans.load("srgan", SRGAN, device="cpu")
    for (_, frame), (_, result) in zip(decoded(src), decoded(out), strict=True):
        assert np.array_equal(result, model(frame))


def test_folder_of_frames_and_a_range(tmp_path):
    src = tmp_path / "clip.mov"
    stamps = make_clip(src, frames=10)
    report = _convert(src, tmp_path / "frames", frames="3:7")
    assert report.items[0].status == "done", report.items
    names = sorted(p.name for p in (tmp_path / "frames").iterdir())
    assert names == ["frame_000003.png", "frame_000004.png", "frame_000005.png",
                     "frame_000006.png", "frames.json"]
    import json

    listed = json.loads((tmp_path / "frames" / "frames.json").read_text())["frames"]
    assert [f["pts"] for f in listed] == stamps[3:7]


def test_range_to_a_video_keeps_timestamps_and_the_audio_of_the_range(tmp_path):
    src = tmp_path / "clip.mp4"
    stamps = make_clip(src, frames=12)
    out = tmp_path / "part.mp4"  # Matroska would round to its 1 ms timestamps
    report = _convert(src, out, frames="2:9")
    assert report.items[0].status == "done", report.items
    with av.open(str(out)) as c:
        tb = c.streams.video[0].time_base
    got = [round(p[0] * tb * 90000) for p in video_packets(out)]
    assert np.diff(got).tolist() == np.diff(stamps[2:9]).tolist()
    with av.open(str(out)) as c:  # the edit list delays the start in the video's time base
        first = next(c.decode(video=0))
    assert first.pts * first.time_base * 90000 == stamps[2]


def test_rotation_and_colour_description_are_carried(tmp_path):
    src = tmp_path / "clip.mp4"
    make_clip(src, frames=4, rotation=90, colour=True, audio="aac")
    out = tmp_path / "out.mp4"
    assert _convert(src, out).items[0].status == "done"
    with av.open(str(out)) as c:
        ctx = c.streams.video[0].codec_context
        assert (ctx.color_primaries, ctx.color_trc, ctx.colorspace, ctx.color_range) == (1, 1, 1, 1)
        frame = next(c.decode(video=0))
        assert frame.rotation == 90


def test_ten_bit_goes_through_the_16_bit_path(tmp_path):
    src = tmp_path / "deep.mkv"
    make_clip(src, frames=3, codec="libx264", pix_fmt="yuv420p10le", audio=None, vfr=False)
    out = tmp_path / "out.mkv"
    report = _convert(src, out)
    assert report.items[0].status == "done", report.items
    assert report.items[0].video["pix_fmt"] == "yuv420p10le"


def test_odd_result_size_with_420(tmp_path):
    src = tmp_path / "odd.mkv"
    make_clip(src, frames=3, width=17, height=13, codec="ffv1", audio=None)
    out = tmp_path / "out.mp4"
    report = _convert(src, out, options={"scale": 3})
    assert report.items[0].status == "done", report.items
    assert report.items[0].video["pix_fmt"] == "yuv444p"  # H.264 4:2:0 needs even sizes
    assert decoded(out)[0][1].shape == (39, 51, 3)


def test_bad_videos_fail_alone_naming_the_problem(tmp_path):
    (tmp_path / "in").mkdir()
    make_clip(tmp_path / "in" / "good.mp4", frames=3)
    (tmp_path / "in" / "text.mp4").write_text("not a video at all\n" * 20)
    data = (tmp_path / "in" / "good.mp4").read_bytes()
    (tmp_path / "in" / "truncated.mp4").write_bytes(data[: len(data) // 3])
    out = av.open(str(tmp_path / "in" / "sound.mkv"), "w")
    stream = out.add_stream("pcm_s16le", rate=8000)
    stream.layout = "mono"
    frame = av.AudioFrame.from_ndarray(np.zeros((1, 800), np.int16), format="s16", layout="mono")
    frame.sample_rate = 8000
    for packet in stream.encode(frame):
        out.mux(packet)
    out.close()
    import cv2

    cv2.imwrite(str(tmp_path / "in" / "still.png"), np.zeros((8, 8, 3), np.uint8))
    report = _convert(tmp_path / "in", tmp_path / "out")
    status = {i.input.rsplit("/", 1)[-1]: (i.status, i.error) for i in report.items}
    assert status["good.mp4"][0] == "done"
    assert status["still.png"][0] == "done"
    assert status["text.mp4"][0] == "failed" and "not a video" in status["text.mp4"][1]
    assert status["sound.mkv"][0] == "failed" and "no video stream" in status["sound.mkv"][1]
    assert status["truncated.mp4"][0] == "failed", status
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["good.mp4", "still.png"]


def _animated_gif(path, count=4):
    from PIL import Image

    from tests.video.clips import frame_pixels

    frames = [Image.fromarray(frame_pixels(i, 12, 16)).quantize(64) for i in range(count)]
    durations = [40, 120, 40, 200][:count]
    frames[0].save(path, save_all=True, append_images=frames[1:], duration=durations, loop=0)
    return durations


def test_animated_gif_keeps_its_frame_durations(tmp_path):
    from PIL import Image

    (tmp_path / "in").mkdir()
    durations = _animated_gif(tmp_path / "in" / "anim.gif")
    report = _convert(tmp_path / "in", tmp_path / "out", options={"scale": 2})
    assert report.items[0].status == "done", report.items
    with Image.open(tmp_path / "out" / "anim.gif") as im:
        assert im.n_frames == 4 and im.size == (32, 24)
        got = []
        for k in range(im.n_frames):
            im.seek(k)
            got.append(im.info["duration"])
    assert got == durations


def test_animated_gif_to_mp4_keeps_timing(tmp_path):
    durations = _animated_gif(tmp_path / "anim.gif")
    report = _convert(tmp_path / "anim.gif", tmp_path / "anim.mp4", options={"scale": 2})
    assert report.items[0].status == "done", report.items
    with av.open(str(tmp_path / "anim.mp4")) as c:
        tb = c.streams.video[0].time_base
    starts = [float(p[0] * tb) for p in video_packets(tmp_path / "anim.mp4")]
    assert np.allclose(np.diff(starts), np.array(durations[:-1]) / 1000)


def test_without_pyav_a_video_fails_alone_with_the_install_hint(tmp_path, monkeypatch):
    import sys

    import cv2

    (tmp_path / "in").mkdir()
    make_clip(tmp_path / "in" / "clip.mp4", frames=2)
    cv2.imwrite(str(tmp_path / "in" / "still.png"), np.zeros((8, 8, 3), np.uint8))
    monkeypatch.setitem(sys.modules, "av", None)  # import av raises ImportError
    report = _convert(tmp_path / "in", tmp_path / "out")
    status = {i.input.rsplit("/", 1)[-1]: (i.status, i.error) for i in report.items}
    assert status["still.png"][0] == "done"
    assert status["clip.mp4"][0] == "failed"
    assert "pip install 'imgtrans[video]'" in status["clip.mp4"][1]


_KILLED_RUN = """
import os, sys
sys.path[:0] = [{root!r}]
import imgtrans
from imgtrans.core.video import encode, segments
segments.SEGMENT_FRAMES = 4
finish, done = encode.SegmentWriter.finish, []
def finish_then_die(self):
    finish(self)
    done.append(self.path)
    if len(done) == 2:
        os.kill(os.getpid(), 9)  # killed after two finished segments
encode.SegmentWriter.finish = finish_then_die
imgtrans.convert({src!r}, {dst!r}, plugin="resize", device="cpu", seed=0)
"""


def test_kill_then_resume_gives_the_uninterrupted_file(tmp_path, monkeypatch):
    import subprocess
    import sys
    from pathlib import Path

    from imgtrans.core.video import segments, work_folder

    src = tmp_path / "clip.mp4"
    make_clip(src, frames=20, gop=4)
    monkeypatch.setattr(segments, "SEGMENT_FRAMES", 4)
    whole = tmp_path / "whole.mp4"
    report = _convert(src, whole)
    assert report.items[0].video["segments"] == 5
    resumed = tmp_path / "resumed.mp4"
    root = str(Path(__file__).resolve().parents[2])
    code = _KILLED_RUN.format(root=root, src=str(src), dst=str(resumed))
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, timeout=300)
    assert run.returncode == -9, run.stderr.decode()[-2000:]
    assert not resumed.exists()  # nothing at the output path
    assert len(list(work_folder(resumed).glob("segment_*.nut"))) == 2
    report = _convert(src, resumed)
    assert report.items[0].status == "done", report.items
    assert resumed.read_bytes() == whole.read_bytes()
    assert not work_folder(resumed).exists()


def test_ray_engine_converts_segments_on_actors_as_the_local_engine_does(tmp_path, monkeypatch):
    """Keyframe segments spread over two actors, joined on the driver: the local engine's
    file byte for byte; frames progress per segment; an image beside them still converts."""
    import importlib.util

    import cv2

    if importlib.util.find_spec("ray") is None:  # not imported here: the engine starts it
        pytest.skip("ray is not installed")
    from imgtrans.core.video import segments
    from imgtrans.engines import ray as ray_engine

    monkeypatch.setattr(segments, "SEGMENT_FRAMES", 4)
    monkeypatch.setattr(ray_engine, "_placement", lambda ray, device, reserve=1: ("cpu", 0, 0.5, 2))

    (tmp_path / "in").mkdir()
    make_clip(tmp_path / "in" / "clip.mp4", frames=20, gop=4)
    cv2.imwrite(str(tmp_path / "in" / "still.png"), np.zeros((8, 8, 3), np.uint8))
    broken_clip(tmp_path / "in" / "broken.mkv")  # fails in its segment, on an actor
    local = _convert(tmp_path / "in", tmp_path / "local")
    local_video = next(i.video for i in local.items if i.input.endswith("clip.mp4"))
    assert local_video["segments"] == 5
    frames = []
    ray = imgtrans.convert(str(tmp_path / "in"), str(tmp_path / "ray"), plugin="resize",
                           device="cpu", seed=0, engine="ray",
                           on_frames=lambda name, done, total: frames.append((name, done, total)))
    assert [(i.status, i.error) for i in ray.items] == [(i.status, i.error) for i in local.items]
    assert sorted(i.status for i in ray.items) == ["done", "done", "failed"], ray.items
    assert (tmp_path / "ray" / "clip.mp4").read_bytes() == (tmp_path / "local" / "clip.mp4").read_bytes()
    assert next(i.video for i in ray.items if i.input.endswith("clip.mp4")) == local_video
    clip = str(tmp_path / "in" / "clip.mp4")
    assert sorted(done for name, done, _ in frames if name == clip) == [4, 8, 12, 16, 20]
    assert {total for name, _, total in frames if name == clip} == {20}
    assert not (tmp_path / "ray" / ".imgtrans-work-clip.mp4").exists()
