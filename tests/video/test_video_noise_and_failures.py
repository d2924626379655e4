"""Videos (issue 21): a stochastic translator's noise per frame (seed, video name, frame
index; --same-noise), frames progress through the API and the CLI, and videos that fail
alone with a clear reason: zero frames, a stream that stops decoding part-way."""

from __future__ import annotations

import numpy as np

from tests.video.clips import av, broken_clip, make_clip

import imgtrans

SDEDIT = {"strength": 0.5, "steps": 8}


def _still_clip(path, frames=3, size=32):
    """A lossless clip (FFV1 RGB) whose frames are all the same picture."""
    from tests.video.clips import frame_pixels

    out = av.open(str(path), "w")
    stream = out.add_stream("ffv1")
    stream.width, stream.height, stream.pix_fmt = size, size, "bgr0"
    picture = frame_pixels(0, size, size)
    for i in range(frames):
        frame = av.VideoFrame.from_ndarray(picture, format="rgb24")
        frame.pts = i
        for packet in stream.encode(frame):
            out.mux(packet)
    for packet in stream.encode():
        out.mux(packet)
    out.close()
    return picture


def _frames(folder):
    import cv2

    return [cv2.imread(str(p))[..., ::-1] for p in sorted(folder.glob("frame_*.png"))]


def test_stochastic_noise_is_per_frame_and_reproducible_or_the_same_with_same_noise(tmp_path):
    """SDEdit's bundled model on three identical frames: each frame draws its own noise
    from the seed, the video's name and the frame index (so the results differ, equal the
    image path under the frame's name, and a re-run gives them again); --same-noise gives
    every frame the video's own noise."""
    picture = _still_clip(tmp_path / "clip.mkv")

    def run(out, **kw):
        report = imgtrans.convert(str(tmp_path / "clip.mkv"), str(out), plugin="sdedit",
                                  weights="sdedit.facades_synth",
                                  options=SDEDIT, device="cpu", seed=7, **kw)
        assert [i.status for i in report.items] == ["done"], report.items
        return _frames(out)

    per_frame = run(tmp_path / "a")
    assert len(per_frame) == 3
    assert not np.array_equal(per_frame[0], per_frame[1])
    assert not np.array_equal(per_frame[1], per_frame[2])
    model = imgtrans.load("sdedit", "sdedit.facades_synth", options=SDEDIT, device="cpu", seed=7)
    assert model.weight_spec.name == "sdedit.facades_synth"
    expected = model([picture] * 3, names=[f"clip.mkv#frame{k}" for k in range(3)])
    for got, want in zip(per_frame, expected, strict=True):
        assert _levels(got, want) <= 1  # the batching contract: within one 8-bit level
    again = run(tmp_path / "b")
    assert all(np.array_equal(x, y) for x, y in zip(per_frame, again, strict=True))

    same = run(tmp_path / "c", same_noise=True)
    assert all(np.array_equal(same[0], other) for other in same[1:])
    # the frames ran as one batch, the reference alone: equal within the batching contract
    assert _levels(same[0], model([picture], names=["clip.mkv"])[0]) <= 1


def test_frames_progress_reaches_the_api_and_the_cli(tmp_path):
    from typer.testing import CliRunner

    from imgtrans.cli import app

    make_clip(tmp_path / "clip.mp4", frames=12)
    seen = []
    report = imgtrans.convert(str(tmp_path / "clip.mp4"), str(tmp_path / "out.mp4"),
                              plugin="resize", device="cpu", seed=0, batch_size=4,
                              on_frames=lambda *args: seen.append(args))
    assert report.items[0].status == "done"
    assert seen == [(str(tmp_path / "clip.mp4"), done, 12) for done in (4, 8, 12)]

    result = CliRunner().invoke(app, ["convert", str(tmp_path / "clip.mp4"),
                                      str(tmp_path / "cli.mp4"), "--plugin", "resize",
                                      "--device", "cpu", "--progress", "plain"])
    assert result.exit_code == 0, result.output
    assert "12/12 frames" in result.output


def test_zero_frames_and_a_stream_failing_part_way_fail_alone(tmp_path):
    import cv2

    (tmp_path / "in").mkdir()
    make_clip(tmp_path / "in" / "good.mkv", frames=4, codec="ffv1", audio=None)
    cv2.imwrite(str(tmp_path / "in" / "still.png"), np.zeros((8, 8, 3), np.uint8))
    for name, codec in (("empty.mkv", "ffv1"), ("empty.mp4", "libx264")):  # no frames
        out = av.open(str(tmp_path / "in" / name), "w")
        stream = out.add_stream(codec)
        stream.width, stream.height, stream.pix_fmt = 16, 16, "yuv420p"
        out.start_encoding()
        out.close()
    broken_clip(tmp_path / "in" / "broken.mkv")

    report = imgtrans.convert(str(tmp_path / "in"), str(tmp_path / "out"), plugin="resize",
                              device="cpu", seed=0)
    status = {i.input.rsplit("/", 1)[-1]: (i.status, i.error) for i in report.items}
    assert status["good.mkv"][0] == "done" and status["still.png"][0] == "done"
    for name in ("empty.mkv", "empty.mp4"):
        assert status[name][0] == "failed" and status[name][1].startswith("no video frames"), status
    assert status["broken.mkv"][0] == "failed"
    assert "cannot decode" in status["broken.mkv"][1] and "frame" in status["broken.mkv"][1]
    assert sorted(p.name for p in (tmp_path / "out").iterdir() if not p.name.startswith(".")) \
        == ["good.mkv", "still.png"]

    from typer.testing import CliRunner

    from imgtrans.cli import app

    result = CliRunner().invoke(app, ["convert", str(tmp_path / "in" / "broken.mkv"),
                                      str(tmp_path / "b.mkv"), "--plugin", "resize",
                                      "--device", "cpu", "--progress", "plain"])
    assert result.exit_code != 0
    failed = [line for line in result.output.splitlines() if line.startswith("failed:")]
    assert len(failed) == 1 and "broken.mkv" in failed[0] and "cannot decode" in failed[0]
    assert not (tmp_path / "b.mkv").exists()


def _levels(a: np.ndarray, b: np.ndarray) -> int:
    """The largest difference between two 8-bit images, in levels."""
    return int(np.abs(a.astype(np.int16) - b.astype(np.int16)).max())
