"""Short video clips in the web app (issue 21): an upload is probed (frame count, size, first
frame as its preview) and refused past the server's frame limit; a job converts it with
``imgtrans.convert`` as the CLI does, shows its frames' progress and offers the result."""

from __future__ import annotations

from pathlib import Path

import pytest

pytest.importorskip("starlette", reason="the web extra is not installed (pip install 'imgtrans[web]')")
pytest.importorskip("httpx", reason="Starlette's TestClient needs httpx (the test extra)")
av = pytest.importorskip("av", reason="PyAV is not installed (the video extra)")

from test_web_api import make_client, submit, upload  # noqa: E402,F401 (a fixture and helpers)
from webapp_support import decode_png, wait_job  # noqa: E402


def clip(path: Path, frames: int, width: int = 32, height: int = 24) -> bytes:
    """An H.264 MP4 of ``frames`` textured frames, no audio; its bytes."""
    from tests.video.clips import make_clip

    make_clip(path, frames=frames, width=width, height=height, audio=None, vfr=False)
    return path.read_bytes()


def test_a_clip_is_converted_with_frame_progress(make_client, tmp_path, monkeypatch):  # noqa: F811
    import imgtrans.web.work as work

    client, _, sid = make_client()
    assert client.get("/api/catalog").json()["limits"]["max_video_frames"] > 0
    reply = upload(client, sid, clip(tmp_path / "c.mp4", 6), name="walk.mp4")
    assert reply.status_code == 201, reply.text
    up = reply.json()
    assert (up["frames"], up["width"], up["height"]) == (6, 32, 24)
    assert decode_png(client.get(up["url"]).content).shape == (24, 32, 3)  # the first frame

    seen: list[tuple[int, int]] = []  # the frames progress the job reports
    real_update = work.Job.update

    def spy(self, **changes):
        if "frames" in changes.get("extra", {}):
            seen.append(tuple(changes["extra"]["frames"]))
        real_update(self, **changes)

    monkeypatch.setattr(work.Job, "update", spy)
    job = wait_job(client, sid, submit(client, sid, translator="resize", options={"scale": "2"},
                                       inputs=[up["id"]]).json()["id"])
    assert job["state"] == "done", job
    (result,) = job["results"]
    (out,) = result["outputs"]
    assert out["video"] and (out["width"], out["height"]) == (64, 48) and out["name"] == "walk.mp4"
    assert result["bicubic"] is None
    assert seen and seen[-1] == (6, 6)
    reply = client.get(out["url"])
    assert reply.headers["content-type"] == "video/mp4"
    (tmp_path / "out.mp4").write_bytes(reply.content)
    with av.open(str(tmp_path / "out.mp4")) as container:
        assert sum(1 for _ in container.decode(video=0)) == 6


def test_long_clips_and_unnamed_videos_are_refused(make_client, tmp_path):  # noqa: F811
    client, _, sid = make_client(max_video_frames=4)
    data = clip(tmp_path / "c.mp4", 6)
    long = upload(client, sid, data, name="long.mp4")
    assert long.status_code == 400 and "at most 4 frames" in long.json()["error"]
    nameless = upload(client, sid, data, name="clip")
    assert nameless.status_code == 400 and "extension" in nameless.json()["error"]
    client, _, sid = make_client(max_video_frames=0)
    assert "not accepted" in upload(client, sid, data, name="a.mp4").json()["error"]


def test_serve_sets_the_frame_limit(monkeypatch):
    import uvicorn
    from typer.testing import CliRunner

    import imgtrans.web.server as server
    from imgtrans.cli import app

    made = []
    real = server.create_app
    monkeypatch.setattr(server, "create_app", lambda settings, **kw: made.append(settings) or real(settings, **kw))
    monkeypatch.setattr(uvicorn.Server, "run", lambda self, sockets=None: None)
    # --allow-downloads: without it serve makes the whole process offline, for later tests too
    result = CliRunner().invoke(app, ["serve", "--port", "0", "--allow-downloads", "--max-video-frames", "7"])
    assert result.exit_code == 0, result.output
    assert made.pop().max_video_frames == 7
