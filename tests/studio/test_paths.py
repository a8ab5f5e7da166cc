"""Paths from the browser never leave RUNS_DIR (pytest tests/studio/test_paths.py)."""

from __future__ import annotations

import os

import pytest

from gankit.studio.paths import StudioPathError, list_runs, resolve_run


@pytest.fixture
def tree(tmp_path):
    root = tmp_path / "runs"
    for run in (root / "a", root / "group" / "b", tmp_path / "outside"):
        run.mkdir(parents=True)
        (run / "config.yaml").write_text("data: {name: squares}\n")
    (root / "not_a_run").mkdir()
    os.symlink(tmp_path / "outside", root / "link_out")
    os.symlink(root / "a", root / "link_in")
    return root.resolve(), tmp_path.resolve()


def test_runs_inside_resolve(tree):
    root, _ = tree
    assert resolve_run(root, "a") == root / "a"
    assert resolve_run(root, "group/b") == root / "group" / "b"
    assert resolve_run(root, "group/../a") == root / "a"
    assert resolve_run(root, "link_in") == root / "a"


@pytest.mark.parametrize("name, needle", [
    ("../outside", "outside RUNS_DIR"),
    ("a/../../outside", "outside RUNS_DIR"),
    ("link_out", "outside RUNS_DIR"),
    ("..", "outside RUNS_DIR"),
    (".", "outside RUNS_DIR"),
    ("", "give the name"),
    ("missing", "no such run"),
    ("not_a_run", "not a gankit run directory"),
    ("a\x00b", "give the name"),
])
def test_escapes_and_non_runs_are_refused(tree, name, needle):
    root, _ = tree
    with pytest.raises(StudioPathError, match=needle):
        resolve_run(root, name)


def test_absolute_paths_are_refused_even_inside(tree):
    root, outside = tree
    for name in (str(outside / "outside"), str(root / "a"), "/etc"):
        with pytest.raises(StudioPathError, match="absolute path"):
            resolve_run(root, name)


def test_listing_skips_links_out_and_plain_folders(tree):
    root, _ = tree
    assert list_runs(root) == ["a", "group/b", "link_in"]
