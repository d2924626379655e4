"""Planning never loses data: unique output names (whatever the discovery order), format
fallbacks decided from headers, outputs never read back, discovery that cannot hang."""

from __future__ import annotations

import os
import random
import time
from pathlib import Path

import cv2
import numpy as np
import pytest

from imgtrans.core import discover
from imgtrans.core.discover import discover_inputs
from imgtrans.errors import NoInputsError, UsageError


def png(path: Path, channels: int = 3, value: int = 100) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    shape = (4, 5) if channels == 1 else (4, 5, channels)
    assert cv2.imwrite(str(path), np.full(shape, value, np.uint8))
    return path


def outputs(plan) -> dict[str, str]:
    return {i.name: i.output.name for i in plan.todo + plan.skipped}


def test_case_variants_never_share_an_output(tmp_path):
    png(tmp_path / "in" / "a.png", value=1)
    png(tmp_path / "in" / "a.PNG", value=2)
    names = outputs(discover_inputs(tmp_path / "in", tmp_path / "out"))
    assert len({n.casefold() for n in names.values()}) == 2
    assert all(n.startswith("a_png-") and n.endswith(".png") for n in names.values())


def test_renamed_collision_does_not_take_a_real_name(tmp_path):
    for name in ("a.png", "a.jpg", "a_png.png"):
        png(tmp_path / "in" / name)
    names = outputs(discover_inputs(tmp_path / "in", tmp_path / "out", output_format="png"))
    assert names["a_png.png"] == "a_png.png"  # an input's own name is never taken from it
    assert names["a.jpg"] == "a_jpg.png"
    assert names["a.png"].startswith("a_png-") and names["a.png"] != "a_png.png"


def test_folders_differing_in_case_collide_too(tmp_path):
    png(tmp_path / "in" / "Sub" / "x.png")
    png(tmp_path / "in" / "sub" / "x.png")
    plan = discover_inputs(tmp_path / "in", tmp_path / "out")
    keys = {str(i.output.relative_to(tmp_path / "out")).casefold() for i in plan.todo}
    assert len(keys) == 2


def test_naming_does_not_depend_on_discovery_order(tmp_path, monkeypatch):
    for name in ("a.png", "a.PNG", "a.jpg", "a_png.png", "a.bmp", "b.tif", "b.tiff"):
        png(tmp_path / "in" / name, channels=4 if name == "a.bmp" else 3)
    reference = outputs(discover_inputs(tmp_path / "in", tmp_path / "out", output_format="png"))
    walk = discover.walk_files

    def shuffled(*args):
        found = list(walk(*args))
        random.Random(len(found)).shuffle(found)
        return iter(found)

    monkeypatch.setattr(discover, "walk_files", shuffled)
    for _ in range(3):
        assert outputs(discover_inputs(tmp_path / "in", tmp_path / "out", output_format="png")) == reference
    assert len({n.casefold() for n in reference.values()}) == len(reference)


def test_alpha_bmp_falls_back_to_png_at_planning_and_resumes(tmp_path):
    png(tmp_path / "in" / "a.png")
    png(tmp_path / "in" / "a.bmp", channels=4)
    png(tmp_path / "in" / "b.bmp", channels=4)
    png(tmp_path / "in" / "c.bmp")
    plan = discover_inputs(tmp_path / "in", tmp_path / "out")
    assert outputs(plan) == {"a.bmp": "a_bmp.png", "a.png": "a_png.png", "b.bmp": "b.png",
                             "c.bmp": "c.bmp"}
    for item in plan.todo:  # pretend the run wrote them
        png(item.output)
    again = discover_inputs(tmp_path / "in", tmp_path / "out")
    assert again.todo == [] and len(again.skipped) == 4


def test_16_bit_content_in_an_8_bit_format_plans_png(tmp_path):
    path = tmp_path / "in" / "deep.jpg"
    path.parent.mkdir()
    path.write_bytes(cv2.imencode(".png", np.full((4, 4), 40000, np.uint16))[1].tobytes())
    assert outputs(discover_inputs(tmp_path / "in", tmp_path / "out")) == {"deep.jpg": "deep.png"}


def test_samples_are_part_of_the_collision_check(tmp_path):
    png(tmp_path / "in" / "a.png")
    png(tmp_path / "in" / "a.jpg")
    plan = discover_inputs(tmp_path / "in", tmp_path / "out", output_format="png", samples=2)
    names = sorted(o.name for i in plan.todo for o in i.outputs)
    assert names == ["a_jpg_s0.png", "a_jpg_s1.png", "a_png_s0.png", "a_png_s1.png"]


def test_glob_that_matches_the_output_folder_does_not_read_it(tmp_path):
    png(tmp_path / "in" / "a.png")
    png(tmp_path / "in" / "sub" / "b.png")
    png(tmp_path / "in" / "out" / "a.png")  # an earlier run's result
    png(tmp_path / "in" / "out" / "out" / "a.png")
    plan = discover_inputs(f"{tmp_path}/in/**/*.png", tmp_path / "in" / "out")
    assert sorted(i.name for i in plan.todo + plan.skipped) == ["a.png", "sub/b.png"]


def test_same_folder_format_png_does_not_take_its_outputs_for_inputs(tmp_path):
    png(tmp_path / "in" / "a.bmp")
    png(tmp_path / "in" / "b.jpg")
    first = discover_inputs(tmp_path / "in", tmp_path / "in", output_format="png")
    assert outputs(first) == {"a.bmp": "a.png", "b.jpg": "b.png"}
    for item in first.todo:
        png(item.output)
    second = discover_inputs(tmp_path / "in", tmp_path / "in", output_format="png")
    assert second.todo == [] and [i.name for i in second.skipped] == ["a.bmp", "b.jpg"]
    assert sorted(p.name for p in second.excluded) == ["a.png", "b.png"]


def test_same_folder_with_a_suffix_does_not_nest_suffixes(tmp_path):
    png(tmp_path / "in" / "a.png")
    png(tmp_path / "in" / "b.jpg")
    for _ in range(3):
        plan = discover_inputs(tmp_path / "in", tmp_path / "in", output_format="png", suffix="_x")
        for item in plan.todo:
            png(item.output)
    assert sorted(i.output.name for i in plan.skipped) == ["a_x.png", "b_x.png"] and not plan.todo
    assert sorted(p.name for p in (tmp_path / "in").iterdir()) == ["a.png", "a_x.png", "b.jpg", "b_x.png"]


def test_a_real_input_as_its_own_output_is_still_refused(tmp_path):
    png(tmp_path / "in" / "a.png")
    with pytest.raises(UsageError, match="overwrite the input"):
        discover_inputs(tmp_path / "in", tmp_path / "in", output_format="png")


@pytest.mark.skipif(os.name != "posix", reason="symlinks and FIFOs")
def test_loops_fifos_and_devices_are_planned_to_fail_alone(tmp_path):
    src = tmp_path / "in"
    png(src / "good.png")
    (src / "loop.png").symlink_to(src / "loop.png")
    (src / "zero.png").symlink_to("/dev/zero")
    (src / "gone.png").symlink_to(src / "missing.png")
    os.mkfifo(src / "pipe.png")
    (src / "sub").mkdir()
    (src / "sub" / "up").symlink_to(src)  # folder loop: never followed
    (src / "sub" / "again").symlink_to(src / "sub")
    start = time.monotonic()
    plan = discover_inputs(src, tmp_path / "out")
    globbed = discover_inputs(f"{src}/**/*.png", tmp_path / "out2")
    assert time.monotonic() - start < 10
    expected = ["gone.png", "good.png", "loop.png", "pipe.png", "zero.png"]
    assert [i.name for i in plan.todo] == expected
    assert [i.name for i in globbed.todo] == expected
    assert discover_inputs(src / "loop.png", tmp_path / "o.png").todo[0].name == "loop.png"


@pytest.mark.skipif(os.name != "posix", reason="symlinks")
def test_glob_follows_symlinked_folders_once(tmp_path):
    png(tmp_path / "elsewhere" / "x.png")
    png(tmp_path / "in" / "a.png")
    (tmp_path / "in" / "linked").symlink_to(tmp_path / "elsewhere")
    (tmp_path / "elsewhere" / "back").symlink_to(tmp_path / "in")
    (tmp_path / "in" / "twice").symlink_to(tmp_path / "elsewhere")
    names = [i.name for i in discover_inputs(f"{tmp_path}/in/**/*.png", tmp_path / "o").todo]
    assert names == ["a.png", "linked/x.png"]
    assert [i.name for i in discover_inputs(tmp_path / "in", tmp_path / "o").todo] == ["a.png"]


def test_long_and_non_utf8_names_are_planned(tmp_path):
    long_name = "x" * 246 + ".png"  # 250 bytes
    png(tmp_path / "in" / long_name)
    if os.name == "posix" and os.uname().sysname == "Linux":
        raw = os.path.join(os.fsencode(tmp_path / "in"), b"caf\xe9.png")
        with open(raw, "wb") as handle:
            handle.write(cv2.imencode(".png", np.zeros((4, 4, 3), np.uint8))[1].tobytes())
    plan = discover_inputs(tmp_path / "in", tmp_path / "out")
    names = [i.output.name for i in plan.todo]
    assert long_name in names
    assert all(len(os.fsencode(n)) <= 255 for n in names)


def test_glob_matching(tmp_path):
    for name in ("a1.png", "b.png", "c.jpg", "sub/d2.png", "sub/deep/e.png", ".hidden/f.png"):
        png(tmp_path / "in" / name)
    def names(pattern):
        return [i.name for i in discover_inputs(f"{tmp_path}/in/{pattern}", tmp_path / "o").todo]
    assert names("*.png") == ["a1.png", "b.png"]
    assert names("*/*.png") == ["sub/d2.png"]
    assert names("**/*.png") == ["a1.png", "b.png", "sub/d2.png", "sub/deep/e.png"]
    assert names("[ab]?.png") == ["a1.png"]
    assert names("[!a]*") == ["b.png", "c.jpg"]
    with pytest.raises(NoInputsError):
        names("*.gif")


def test_planning_two_thousand_files_is_fast(tmp_path):
    data = cv2.imencode(".png", np.zeros((8, 8, 3), np.uint8))[1].tobytes()
    src = tmp_path / "in"
    for i in range(20):
        (src / f"d{i}").mkdir(parents=True)
        for j in range(100):
            (src / f"d{i}" / f"{j}.{'jpg' if j % 2 else 'png'}").write_bytes(data)
    start = time.perf_counter()
    plan = discover_inputs(src, tmp_path / "out")
    assert len(plan.todo) == 2000
    assert time.perf_counter() - start < 10  # measured ~0.3 s; generous for a shared machine
