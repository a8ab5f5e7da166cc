"""Truncated or corrupted checkpoints: the checksum catches the damage, one clear line reports it,
and the run resumes from the previous good checkpoint with nothing else lost."""

from __future__ import annotations

import shutil

import pytest

from gankit.cli import main
from gankit.run import latest_checkpoint_file
from gankit.training.trainer import Trainer
from tests.reliability.conftest import assert_same_training_state, read_payload, tiny_config

STOP, FINAL = 30, 40  # checkpoints every 10 steps: 10, 20, 30


@pytest.fixture(scope="module")
def stopped_run(tmp_path_factory):
    run_dir = tmp_path_factory.mktemp("stopped") / "run"
    Trainer(tiny_config(max_steps=STOP), run_dir).train(progress=False)
    return run_dir


@pytest.fixture(scope="module")
def straight_run(tmp_path_factory):
    run_dir = tmp_path_factory.mktemp("straight") / "run"
    Trainer(tiny_config(max_steps=FINAL), run_dir).train(progress=False)
    return run_dir


def _damage(path, how: str) -> None:
    data = bytearray(path.read_bytes())
    if how == "truncated":
        data = data[: len(data) * 2 // 3]
    elif how == "payload_bit_flip":
        data[len(data) // 2] ^= 0x10
    elif how == "digest_bit_flip":
        data[20] ^= 0x01  # inside the hex digest line
    elif how == "magic_changed":
        data[0:6] = b"XANKIT"
    elif how == "empty":
        data = bytearray()
    elif how == "bytes_appended":
        data += b"\x00" * 16
    path.write_bytes(bytes(data))


def _checkpoint(run_dir, step):
    return run_dir / "checkpoints" / f"ckpt-{step:09d}.ckpt"


@pytest.mark.parametrize("how", ["truncated", "payload_bit_flip", "digest_bit_flip", "magic_changed", "empty", "bytes_appended"])
def test_damage_is_reported_in_one_line_and_the_previous_checkpoint_is_used(tmp_path, stopped_run, gankit_log, how):
    run_dir = tmp_path / "run"
    shutil.copytree(stopped_run / "checkpoints", run_dir / "checkpoints")
    _damage(_checkpoint(run_dir, STOP), how)
    path, state = latest_checkpoint_file(run_dir / "checkpoints")
    assert path == _checkpoint(run_dir, 20) and state["step"] == 20
    assert len(gankit_log) == 1 and "\n" not in gankit_log[0] and "ckpt-000000030" in gankit_log[0], gankit_log
    assert "truncated or corrupted" in gankit_log[0] or "not a gankit checkpoint" in gankit_log[0]


def test_resume_after_damage_loses_only_the_damaged_interval(tmp_path, stopped_run, straight_run, gankit_log, capsys):
    run_dir = tmp_path / "run"
    shutil.copytree(stopped_run, run_dir)
    _damage(_checkpoint(run_dir, STOP), "payload_bit_flip")

    assert main(["train", "--resume", str(run_dir), "--max-steps", str(FINAL), "--no-progress"]) == 0
    assert sum("ckpt-000000030" in m for m in gankit_log) == 1, gankit_log
    assert any("from step 20" in m for m in gankit_log), gankit_log
    assert "Traceback" not in capsys.readouterr().err
    assert_same_training_state(read_payload(_checkpoint(run_dir, FINAL)), read_payload(_checkpoint(straight_run, FINAL)))


def test_every_checkpoint_damaged_is_one_clear_error(tmp_path, stopped_run, capsys):
    run_dir = tmp_path / "run"
    shutil.copytree(stopped_run, run_dir)
    for step in (10, 20, 30):
        _damage(_checkpoint(run_dir, step), "payload_bit_flip")
    assert main(["train", "--resume", str(run_dir), "--no-progress"]) == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err
    errors = [line for line in err.splitlines() if line.startswith("gankit: error:")]
    assert len(errors) == 1 and "no valid checkpoint" in errors[0]
    for step in (10, 20, 30):  # nothing was overwritten or deleted
        assert _checkpoint(run_dir, step).exists()


def test_sampling_skips_a_damaged_checkpoint(tmp_path, stopped_run, gankit_log):
    run_dir = tmp_path / "run"
    shutil.copytree(stopped_run, run_dir)
    _damage(_checkpoint(run_dir, STOP), "truncated")
    assert main(["sample", str(run_dir), "--num", "4", "--out", str(tmp_path / "grid.png")]) == 0
    assert sum("ckpt-000000030" in m for m in gankit_log) == 1
    assert (tmp_path / "grid.png").stat().st_size > 0
