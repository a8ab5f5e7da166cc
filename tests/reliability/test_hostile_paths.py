"""Output paths never come from data or checkpoint contents.

A checkpoint with a valid checksum can still be hostile: its config may name a data root
(where datasets download and cache files), extra path-like keys, or a step that is not a
number. A Python audit hook records every file the process opens for writing, renames,
creates or deletes, so the tests see writes anywhere, not only where they look.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

import gankit.data
from gankit.cli import main
from gankit.run import atomic_write, encode_checkpoint, read_checkpoint_file
from gankit.training.trainer import Trainer
from tests.reliability.conftest import tiny_config

_WRITES: list[str] = []
_ACTIVE = [False]
_WRITE_FLAGS = os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_APPEND | os.O_TRUNC


def _audit(event: str, args: tuple) -> None:
    if not _ACTIVE[0]:
        return
    path = None
    if event == "open" and not isinstance(args[0], int):
        mode, flags = args[1], args[2]
        if (isinstance(mode, str) and any(c in mode for c in "wax+")) or (mode is None and isinstance(flags, int) and flags & _WRITE_FLAGS):
            path = args[0]
    elif event == "os.rename":
        path = args[1]
    elif event in ("os.mkdir", "os.remove", "os.rmdir", "shutil.rmtree", "os.truncate"):
        path = args[0]
    if path is not None and not isinstance(path, int):
        _WRITES.append(os.path.abspath(os.fsdecode(path)))


sys.addaudithook(_audit)  # audit hooks cannot be removed; this one does nothing outside `recorded_writes`


@pytest.fixture
def recorded_writes():
    _WRITES.clear()
    _ACTIVE[0] = True
    yield _WRITES
    _ACTIVE[0] = False


def _under(path: str, folder: Path) -> bool:
    return Path(path).resolve().is_relative_to(folder.resolve())


@pytest.fixture
def hostile_run(tmp_path, monkeypatch):
    """A run whose newest checkpoint names a data root outside everything the user chose."""
    monkeypatch.setenv("GANKIT_DATA", str(tmp_path / "default-data"))
    run_dir = tmp_path / "run"
    Trainer(tiny_config(max_steps=5, checkpoint_every=5), run_dir).train(progress=False)
    path = run_dir / "checkpoints" / "ckpt-000000005.ckpt"
    state = read_checkpoint_file(path)
    state["config"]["data"]["dir"] = str(tmp_path / "hostile" / "data")
    atomic_write(path, encode_checkpoint(state))
    return run_dir, path, state


def _one_error_line(err: str) -> str:
    assert "Traceback" not in err
    errors = [line for line in err.splitlines() if line.startswith("gankit: error:")]
    assert len(errors) == 1, err
    return errors[0]


def test_resume_does_not_adopt_a_data_root_from_the_checkpoint(tmp_path, hostile_run, recorded_writes, capsys):
    run_dir, _, _ = hostile_run
    assert main(["train", "--resume", str(run_dir), "--max-steps", "7", "--no-progress"]) == 2
    line = _one_error_line(capsys.readouterr().err)
    assert "data.dir" in line and "--data-dir" in line
    assert [w for w in recorded_writes if _under(w, tmp_path)] == []
    assert not (tmp_path / "hostile").exists()


def test_resume_with_the_users_data_root_writes_only_into_the_run(tmp_path, hostile_run, recorded_writes):
    run_dir, _, _ = hostile_run
    mine = tmp_path / "my-data"
    assert main(["train", "--resume", str(run_dir), "--max-steps", "7", "--data-dir", str(mine), "--no-progress"]) == 0
    outside = [w for w in recorded_writes if _under(w, tmp_path) and not (_under(w, run_dir) or _under(w, mine))]
    assert outside == []
    assert any(_under(w, run_dir / "checkpoints") for w in recorded_writes)  # the hook does see the run's writes
    assert not (tmp_path / "hostile").exists()
    assert f"dir: {mine}" in (run_dir / "config.yaml").read_text()


def test_the_default_data_root_needs_no_confirmation(tmp_path, hostile_run):
    run_dir, path, state = hostile_run
    state["config"]["data"]["dir"] = str(tmp_path / "default-data")  # == $GANKIT_DATA
    atomic_write(path, encode_checkpoint(state))
    assert main(["train", "--resume", str(run_dir), "--max-steps", "6", "--no-progress"]) == 0


def test_sampling_an_old_checkpoint_never_loads_data_from_its_paths(tmp_path, hostile_run, recorded_writes, monkeypatch):
    run_dir, path, state = hostile_run
    del state["img_shape"]  # older checkpoints: the shape comes from the dataset
    evil = tmp_path / "legacy.ckpt"
    atomic_write(evil, encode_checkpoint(state))
    roots = []
    original = gankit.data.load_dataset

    def spy(name, split="train", data_dir=None, **options):
        roots.append(data_dir)
        return original(name, split, data_dir, **options)

    monkeypatch.setattr(gankit.data, "load_dataset", spy)
    recorded_writes.clear()
    out = tmp_path / "grid.png"
    assert main(["sample", str(run_dir), "--checkpoint", str(evil), "--num", "4", "--out", str(out)]) == 0
    assert roots and all(root is None for root in roots)
    written = {w for w in recorded_writes if _under(w, tmp_path)}
    assert written == {str(out), str(out.parent / f".{out.name}.tmp-{os.getpid()}")}  # --out and its temporary only


@pytest.mark.parametrize(
    "mangle",
    [
        lambda s, bad: s["config"]["train"].__setitem__("run_dir", str(bad)),
        lambda s, bad: s["config"].__setitem__("output", {"dir": str(bad)}),
        lambda s, bad: s.__setitem__("step", f"../../{bad.name}"),
        lambda s, bad: s.__setitem__("step", -3),
        lambda s, bad: s.__setitem__("step", 2.5),
    ],
    ids=["train.run_dir", "output.dir", "step_path", "step_negative", "step_float"],
)
def test_path_like_contents_are_refused_before_any_write(tmp_path, hostile_run, recorded_writes, capsys, mangle):
    run_dir, path, state = hostile_run
    state["config"]["data"]["dir"] = None
    mangle(state, tmp_path / "hostile")
    atomic_write(path, encode_checkpoint(state))
    before = sorted(p.relative_to(run_dir) for p in run_dir.rglob("*"))
    recorded_writes.clear()
    assert main(["train", "--resume", str(run_dir), "--max-steps", "9", "--no-progress"]) == 2
    _one_error_line(capsys.readouterr().err)
    assert [w for w in recorded_writes if _under(w, tmp_path)] == []
    assert sorted(p.relative_to(run_dir) for p in run_dir.rglob("*")) == before
    assert not (tmp_path / "hostile").exists()
