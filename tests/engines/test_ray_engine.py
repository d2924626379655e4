"""The Ray Data engine against the local one: same outputs, exit codes, reports and progress;
resume, a corrupt input, a translator that cannot load, a stop mid-run; and the private Ray
instance listens on 127.0.0.1 only. One Ray instance (2 CPUs, loopback) serves the module."""

from __future__ import annotations

import importlib.util
import ipaddress
import json
import os
import re
import sys
import threading
from pathlib import Path

import cv2
import numpy as np
import pytest
from typer.testing import CliRunner

import imgtrans
from imgtrans.cli import app


def _ray_installed() -> bool:
    try:  # find_spec, not import: Ray must first be imported by the engine (loopback set-up)
        return importlib.util.find_spec("ray") is not None
    except (ImportError, ValueError):
        return False


pytestmark = pytest.mark.skipif(not _ray_installed(), reason="needs Ray: pip install 'imgtrans[ray]'")
HERE = Path(__file__).resolve().parent


@pytest.fixture(scope="module")
def ray_instance(tmp_path_factory):
    """A private Ray instance whose workers import the test plugins and a throwaway cache."""
    from imgtrans_testenv import IMPORT_PATHS

    from imgtrans.engines import ray as ray_engine

    saved = {name: os.environ.get(name) for name in ("PYTHONPATH", "IMGTRANS_CACHE_DIR")}
    paths = [str(p) for p in IMPORT_PATHS] + [str(HERE)] + [p for p in [saved["PYTHONPATH"]] if p]
    os.environ["PYTHONPATH"] = os.pathsep.join(paths)
    os.environ["IMGTRANS_CACHE_DIR"] = str(tmp_path_factory.mktemp("ray-cache"))
    try:
        assert ray_engine.connect(num_cpus=2)
    finally:
        for name, value in saved.items():
            os.environ.pop(name, None) if value is None else os.environ.__setitem__(name, value)
    yield
    import ray

    ray.shutdown()


def run(*args, timeout: float = 300.0):
    """The CLI in a thread, so that a hang fails the test instead of stalling the suite."""
    outcome = []
    worker = threading.Thread(target=lambda: outcome.append(
        CliRunner().invoke(app, [str(a) for a in args])), daemon=True)
    worker.start()
    worker.join(timeout)
    assert outcome, f"imgtrans {' '.join(map(str, args))} did not finish in {timeout} s"
    return outcome[0]


def _inputs(folder: Path) -> None:
    rng = np.random.default_rng(0)
    (folder / "sub").mkdir(parents=True)
    cv2.imwrite(str(folder / "a.png"), rng.integers(0, 256, (24, 32, 3), dtype=np.uint8))
    cv2.imwrite(str(folder / "b.jpg"), rng.integers(0, 256, (24, 32, 3), dtype=np.uint8))
    cv2.imwrite(str(folder / "sub" / "c.png"), rng.integers(0, 65536, (20, 16, 4), dtype=np.uint16))
    cv2.imwrite(str(folder / "sub" / "d.png"), rng.integers(0, 256, (17, 9), dtype=np.uint8))
    (folder / "sub" / "bad.png").write_bytes(b"\x89PNG\r\n\x1a\n" + b"\x00" * 40)


def _files(folder: Path) -> dict[str, np.ndarray]:
    return {p.relative_to(folder).as_posix(): cv2.imread(str(p), cv2.IMREAD_UNCHANGED)
            for p in sorted(folder.rglob("*")) if p.is_file()}


def _statuses(report: Path) -> dict[str, tuple[str, str | None]]:
    items = json.loads(report.read_text())["items"]
    return {Path(i["input"]).name: (i["status"], i["error"]) for i in items}


def test_same_outputs_report_and_exit_code_as_local_then_resume(ray_instance, test_translators, tmp_path):
    import torch

    from imgtrans.weights import save_state_dict

    weights = tmp_path / "gain.safetensors"
    save_state_dict({"gain": torch.tensor(0.6)}, weights)
    _inputs(tmp_path / "in")
    common = ["--plugin", "gain", "--weights", weights, "--progress", "plain", "--seed", "3"]
    local = run("convert", tmp_path / "in", tmp_path / "local", *common, "--report", tmp_path / "l.json")
    on_ray = run("convert", tmp_path / "in", tmp_path / "ray", *common, "--engine", "ray",
                 "--report", tmp_path / "r.json")
    assert local.exit_code == on_ray.exit_code == 3, on_ray.output
    assert "bad.png" in on_ray.output and "Traceback" not in on_ray.output
    assert "[4/5]" in on_ray.output and "on Ray" in on_ray.output
    expected, got = _files(tmp_path / "local"), _files(tmp_path / "ray")
    assert sorted(got) == sorted(expected) == ["a.png", "b.jpg", "sub/c.png", "sub/d.png"]
    for name in expected:
        assert got[name].shape == expected[name].shape and got[name].dtype == expected[name].dtype
        assert np.abs(got[name].astype(int) - expected[name].astype(int)).max() <= 1, name
    assert _statuses(tmp_path / "r.json") == _statuses(tmp_path / "l.json")
    assert _statuses(tmp_path / "r.json")["bad.png"][0] == "failed"
    settings = json.loads((tmp_path / "r.json").read_text())["settings"]
    assert settings["translator"]["engine"] == "ray" and settings["translator"]["weights"] == str(weights)

    (tmp_path / "ray" / "a.png").unlink()
    again = run("convert", tmp_path / "in", tmp_path / "ray", *common, "--engine", "ray",
                "--report", tmp_path / "r2.json")
    assert again.exit_code == 3, again.output
    statuses = _statuses(tmp_path / "r2.json")
    assert statuses["a.png"][0] == "done" and statuses["bad.png"][0] == "failed"
    assert [s for s, _ in statuses.values()].count("skipped") == 3


def test_layout_inputs_are_parsed_by_the_actors(ray_instance, test_translators, tmp_path):
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "red.json").write_text('{"color": [255, 0, 0], "size": [8, 12]}')
    (tmp_path / "in" / "odd.json").write_text('{"colour": "blue"}')
    result = run("convert", tmp_path / "in", tmp_path / "out", "--plugin", "flat", "--engine", "ray")
    assert result.exit_code == 3, result.output
    assert "odd.json: not a flat-colour description" in result.output
    red = cv2.imread(str(tmp_path / "out" / "red.png"))
    assert red.shape == (8, 12, 3) and (red[..., 2] == 255).all() and (red[..., :2] == 0).all()


def test_a_translator_that_cannot_load_exits_5(ray_instance, host, register_plugin, tmp_path):
    import engine_translators

    register_plugin(engine_translators, "engine_translators")
    _inputs(tmp_path / "in")
    result = run("convert", tmp_path / "in", tmp_path / "out", "--plugin", "broken", "--engine", "ray")
    assert result.exit_code == 5, result.output
    assert "translator 'broken' failed to load" in result.output and "network definition" in result.output
    assert not (tmp_path / "out").exists() or not any((tmp_path / "out").rglob("*.*"))


def test_a_stop_finishes_the_batch_in_flight_and_leaves_nothing_half_written(
        ray_instance, host, register_plugin, tmp_path):
    import engine_translators

    register_plugin(engine_translators, "engine_translators")
    (tmp_path / "in").mkdir()
    for i in range(8):
        cv2.imwrite(str(tmp_path / "in" / f"{i}.png"), np.full((16, 16, 3), 10 * i, np.uint8))
    stop = threading.Event()

    def on_result(result):
        if result.status == "done":
            stop.set()

    report = imgtrans.convert(tmp_path / "in", tmp_path / "out", plugin="delay", engine="ray",
                              options={"seconds": 0.5}, on_result=on_result, stop=stop)
    assert report.interrupted
    done = [i for i in report.items if i.status == "done"]
    stopped = [i for i in report.items if i.status == "interrupted"]
    assert done and stopped and len(done) + len(stopped) == 8
    for item in done:
        assert cv2.imread(item.output) is not None
    assert not any(Path(i.output).exists() for i in stopped)
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == sorted(Path(i.output).name for i in done)

    resumed = imgtrans.convert(tmp_path / "in", tmp_path / "out", plugin="delay", engine="ray",
                               options={"seconds": 0.0})
    assert resumed.count("done") == len(stopped) and resumed.count("skipped") == len(done)


def test_a_successful_run_prints_nothing_that_looks_like_an_error(ray_instance, host, tmp_path, capfd):
    """Ray's core worker wrote "core_worker.cc: ... max_restarts > 0 ..." (an E line) to the
    driver's stderr on every run: its actors are no longer restartable (engines/ray.py)."""
    _inputs(tmp_path / "in")
    (tmp_path / "in" / "sub" / "bad.png").unlink()
    capfd.readouterr()
    result = run("convert", tmp_path / "in", tmp_path / "out", "--plugin", "resize", "--engine", "ray",
                 "--progress", "plain")
    assert result.exit_code == 0, result.output
    written = capfd.readouterr()  # the file descriptors: what Ray's C++ side printed too
    for text in (written.err, written.out, result.output):
        assert "max_restarts" not in text and "core_worker" not in text, text
        assert not re.search(r"^\[[\d\- :,]+ E \d+ \d+\]|Error|Traceback|Warning", text, re.M), text


def test_a_tiled_image_reports_its_tiles_to_the_driver(ray_instance, host, register_plugin, tmp_path):
    """An actor's tile progress reaches ``on_frames`` on the calling thread, before the
    image's result, ending at all tiles done; the output is the whole image."""
    import engine_translators

    register_plugin(engine_translators, "engine_translators")
    (tmp_path / "in").mkdir()
    image = np.random.default_rng(1).integers(0, 256, (48, 48, 3), dtype=np.uint8)
    cv2.imwrite(str(tmp_path / "in" / "big.png"), image)
    heard: list[tuple] = []
    caller = threading.get_ident()

    def on_frames(source, done, total):
        heard.append(("tiles", Path(source).name, done, total, threading.get_ident() == caller))

    report = imgtrans.convert(tmp_path / "in", tmp_path / "out", plugin="delay_tiles", engine="ray",
                              tile=16, tile_pad=0, options={"seconds": 0.15}, on_frames=on_frames,
                              on_result=lambda r: heard.append(("result", r.status)))
    assert report.count("done") == 1, report.items
    tiles = [event[1:] for event in heard if event[0] == "tiles"]
    assert heard[-1] == ("result", "done") and tiles and len(tiles) == len(heard) - 1
    assert all(name == "big.png" and total == 9 and on_caller for name, _, total, on_caller in tiles)
    done = [d for _, d, _, _ in tiles]
    assert done == sorted(done) and done[-1] == 9 and len(done) >= 2, done  # some tiles along the way
    assert (cv2.imread(str(tmp_path / "out" / "big.png")) == image).all()


@pytest.mark.skipif(sys.platform != "linux", reason="reads /proc")
def test_the_private_instance_listens_on_loopback_only(ray_instance):
    addresses = _listening_addresses(_descendants(os.getpid()) | {os.getpid()})
    assert addresses, "found no Ray server sockets to check"
    assert all(address.is_loopback for address in addresses), addresses


def _descendants(root: int) -> set[int]:
    children: dict[int, set[int]] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                stat = Path(f"/proc/{entry}/stat").read_text()
            except OSError:
                continue
            parent = int(stat.rsplit(")", 1)[1].split()[1])
            children.setdefault(parent, set()).add(int(entry))
    found, todo = set(), [root]
    while todo:
        for child in children.get(todo.pop(), ()):
            if child not in found:
                found.add(child)
                todo.append(child)
    return found


def _listening_addresses(pids: set[int]) -> list[ipaddress.IPv4Address | ipaddress.IPv6Address]:
    """Local addresses of the TCP sockets in LISTEN state held by ``pids``."""
    inodes = set()
    for pid in pids:
        try:
            for fd in os.listdir(f"/proc/{pid}/fd"):
                target = os.readlink(f"/proc/{pid}/fd/{fd}")
                if target.startswith("socket:["):
                    inodes.add(target[8:-1])
        except OSError:
            continue
    addresses = []
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            fields = line.split()
            if fields[3] != "0A" or fields[9] not in inodes:  # 0A: LISTEN
                continue
            raw = bytes.fromhex(fields[1].split(":")[0])
            raw = b"".join(raw[i:i + 4][::-1] for i in range(0, len(raw), 4))  # host order words
            address = ipaddress.ip_address(raw)
            mapped = getattr(address, "ipv4_mapped", None)
            addresses.append(mapped or address)
    return addresses


def test_cpu_actors_leave_a_cpu_for_image_tasks_but_video_actors_take_the_node():
    """Images' decode and write tasks need a CPU beside the translating actor; a video's actor
    decodes and encodes itself, and with one CPU fewer (one torch thread) its frames were slower
    than the local engine's and differed from them in the last bits (bench/video.py --compare ray)."""
    from imgtrans.engines.ray import _placement

    class FakeRay:
        def cluster_resources(self):
            return {"CPU": 6.0}

        def nodes(self):
            return [{"Alive": True, "Resources": {"CPU": cpus}} for cpus in (4.0, 2.0)]

    assert _placement(FakeRay(), "cpu") == ("cpu", 0, 1, 2)
    assert _placement(FakeRay(), "cpu", reserve=0) == ("cpu", 0, 2, 2)
    assert _placement(FakeRay(), "auto", reserve=0) == ("cpu", 0, 2, 2)
