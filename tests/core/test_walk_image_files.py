"""The one image-folder walk shared by convert, training data and the demo."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from imgtrans.core.discover import discover_inputs
from imgtrans.core.walk import walk_image_files
from imgtrans.training.datasets import list_images


def _touch(path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"x")
    return path


def _rels(folder: Path, **kwargs) -> list[str]:
    return [rel for _, rel in walk_image_files(folder, **kwargs)]


def test_hidden_files_and_folders_are_skipped(tmp_path):
    for name in ("a.png", ".a.png", ".cache/b.png", "sub/.c.png", "sub/c.png", "sub/.git/d.png"):
        _touch(tmp_path / name)
    assert _rels(tmp_path) == ["a.png", "sub/c.png"]


def test_order_is_files_by_name_then_each_subfolder(tmp_path):
    for name in ("b/z.png", "a/y.png", "m.png", "a/x/w.png", "c.png"):
        _touch(tmp_path / name)
    assert _rels(tmp_path) == ["c.png", "m.png", "a/y.png", "a/x/w.png", "b/z.png"]


def test_extensions_any_case_with_or_without_dot(tmp_path):
    for name in ("a.PNG", "b.Jpg", "c.json", "d.txt", "png", "e.png.tmp"):
        _touch(tmp_path / name)
    assert _rels(tmp_path) == ["a.PNG", "b.Jpg"]
    assert _rels(tmp_path, extensions={".JSON"}) == ["c.json"]
    assert _rels(tmp_path, extensions=["json", "txt"]) == ["c.json", "d.txt"]


def test_unicode_names_and_paths(tmp_path):
    for name in ("façade/日本.JPG", "ünï/çödé.png", "plain.png"):
        _touch(tmp_path / name)
    found = list(walk_image_files(tmp_path))
    assert [rel for _, rel in found] == ["plain.png", "façade/日本.JPG", "ünï/çödé.png"]
    assert all(path.is_file() and path == tmp_path / rel for path, rel in found)


def test_not_recursive_lists_the_folder_only(tmp_path):
    for name in ("a.png", "sub/b.png"):
        _touch(tmp_path / name)
    assert _rels(tmp_path, recursive=False) == ["a.png"]


@pytest.mark.skipif(not hasattr(os, "symlink"), reason="no symlinks")
def test_symlinked_files_listed_symlinked_folders_not_entered(tmp_path):
    outside = tmp_path / "outside"
    _touch(outside / "o.png")
    root = tmp_path / "root"
    _touch(root / "real" / "r.png")
    (root / "link.png").symlink_to(outside / "o.png")
    (root / "broken.png").symlink_to(tmp_path / "missing.png")
    (root / "linked_dir").symlink_to(outside, target_is_directory=True)
    (root / "real" / "loop").symlink_to(root, target_is_directory=True)
    # broken links are listed: they fail when read, with their reason, like convert's inputs
    assert _rels(root) == ["broken.png", "link.png", "real/r.png"]


def test_convert_and_training_see_the_same_files(tmp_path):
    for name in ("a.png", ".h/b.png", "sub/c.JPG", "sub/.d.png", "e.txt"):
        _touch(tmp_path / "in" / name)
    (tmp_path / "in" / "sub" / "up").symlink_to(tmp_path / "in", target_is_directory=True)
    plan = discover_inputs(tmp_path / "in", tmp_path / "out")
    assert [i.source for i in plan.todo] == list_images(tmp_path / "in")
    assert [i.name for i in plan.todo] == ["a.png", "sub/c.JPG"]


def test_missing_folder_lists_nothing(tmp_path):
    assert _rels(tmp_path / "nope") == []
