"""The real ``imgtrans`` process: end to end, Ctrl-C, and a killed run."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time

import cv2
import numpy as np

from imgtrans_testenv import subprocess_env


def _images(folder, n, size=(32, 32)):
    folder.mkdir(parents=True)
    rng = np.random.default_rng(0)
    for i in range(n):
        cv2.imwrite(str(folder / f"{i:03d}.png"), rng.integers(0, 256, (*size, 3), dtype=np.uint8))


def _start(args, **env):
    return subprocess.Popen([sys.executable, "-m", "imgtrans", *map(str, args)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env=subprocess_env(IMGTRANS_PLUGINS="imgtrans_sketch,imgtrans_testplugins", **env))


def _wait_for(path, timeout=60):
    deadline = time.time() + timeout
    while not path.exists():
        assert time.time() < deadline, f"{path} never appeared"
        time.sleep(0.05)


def test_end_to_end_subprocess(tmp_path):
    _images(tmp_path / "in", 3)
    proc = _start(["convert", tmp_path / "in", tmp_path / "out", "--plugin", "sketch"])
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 0, err
    assert "Traceback" not in err and "done" in err
    assert len(list((tmp_path / "out").glob("*.png"))) == 3


def test_ctrl_c_finishes_the_batch_writes_the_report_and_exits_130(tmp_path):
    _images(tmp_path / "in", 12)
    marker = tmp_path / "started"
    report = tmp_path / "r.json"
    proc = _start(["convert", tmp_path / "in", tmp_path / "out", "--plugin", "slow", "--opt",
                   "seconds=0.7", "--batch-size", "2", "--report", report],
                  IMGTRANS_TEST_MARKER=str(marker))
    _wait_for(marker)
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    assert "Traceback" not in err
    data = json.loads(report.read_text())
    assert data["interrupted"] is True
    statuses = [i["status"] for i in data["items"]]
    assert statuses.count("done") >= 2 and "interrupted" in statuses
    written = sorted((tmp_path / "out").glob("*.png"))
    assert len(written) == statuses.count("done")
    assert all(cv2.imread(str(p)) is not None for p in written)


def test_killed_run_leaves_only_complete_outputs_and_resumes(tmp_path):
    _images(tmp_path / "in", 10, size=(256, 256))
    marker = tmp_path / "started"
    proc = _start(["convert", tmp_path / "in", tmp_path / "out", "--plugin", "slow", "--opt",
                   "seconds=0.3", "--batch-size", "1"], IMGTRANS_TEST_MARKER=str(marker))
    _wait_for(marker)
    time.sleep(0.5)
    proc.kill()
    proc.communicate(timeout=30)
    visible = [p for p in (tmp_path / "out").glob("*") if not p.name.startswith(".")]
    for path in visible:
        assert np.array_equal(cv2.imread(str(path)), cv2.imread(str(tmp_path / "in" / path.name)))
    proc = _start(["convert", tmp_path / "in", tmp_path / "out", "--plugin", "slow", "--opt", "seconds=0"])
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 0, err
    assert sorted(p.name for p in (tmp_path / "out").glob("*.png")) == [f"{i:03d}.png" for i in range(10)]
