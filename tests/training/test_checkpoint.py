"""Checkpoint files: round trip, checksum, atomic replacement, newest-valid selection."""

import hashlib
import os

import pytest
import torch

from gankit.errors import CheckpointError
from gankit.run import (
    MAGIC, atomic_write, checkpoint_name, decode_checkpoint, encode_checkpoint, latest_checkpoint_file, list_checkpoints,
    prune_checkpoints, read_checkpoint_file,
)


def _state(value: float = 1.0) -> dict:
    return {"step": 3, "weights": {"w": torch.full((4, 4), value)}, "nested": [1, 2.5, "x", (3, None)]}


def test_round_trip(tmp_path):
    path = tmp_path / "a.ckpt"
    atomic_write(path, encode_checkpoint(_state(2.0)))
    loaded = read_checkpoint_file(path)
    assert loaded["step"] == 3 and torch.equal(loaded["weights"]["w"], torch.full((4, 4), 2.0))
    assert loaded["nested"] == [1, 2.5, "x", (3, None)]


def test_header_holds_the_sha256_of_the_payload(tmp_path):
    path = tmp_path / "a.ckpt"
    atomic_write(path, encode_checkpoint(_state()))
    data = path.read_bytes()
    assert data.startswith(MAGIC)
    digest = data[len(MAGIC):len(MAGIC) + 64].decode()
    assert digest == hashlib.sha256(data[len(MAGIC) + 65:]).hexdigest()


@pytest.mark.parametrize("damage", ["truncate", "flip", "empty"])
def test_damage_is_detected(tmp_path, damage):
    path = tmp_path / "a.ckpt"
    atomic_write(path, encode_checkpoint(_state()))
    data = bytearray(path.read_bytes())
    if damage == "truncate":
        data = data[: len(data) // 2]
    elif damage == "flip":
        data[-100] ^= 0x01
    else:
        data = bytearray()
    path.write_bytes(bytes(data))
    with pytest.raises(CheckpointError, match="a.ckpt"):
        read_checkpoint_file(path)


def test_failed_write_leaves_the_old_file_and_no_temporary(tmp_path, monkeypatch):
    path = tmp_path / "a.ckpt"
    atomic_write(path, encode_checkpoint(_state(1.0)))
    before = path.read_bytes()

    def full_disk(fd):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "fsync", full_disk)
    with pytest.raises(OSError):
        atomic_write(path, encode_checkpoint(_state(5.0)))
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["a.ckpt"]


def test_latest_valid_skips_a_corrupt_newest(tmp_path):
    for step in (10, 20, 30):
        atomic_write(tmp_path / checkpoint_name(step), encode_checkpoint({"step": step}))
    newest = tmp_path / checkpoint_name(30)
    newest.write_bytes(newest.read_bytes()[:-10])
    path, state = latest_checkpoint_file(tmp_path)
    assert path.name == checkpoint_name(20) and state["step"] == 20


def test_prune_keeps_the_newest(tmp_path):
    for step in (1, 2, 3, 4):
        atomic_write(tmp_path / checkpoint_name(step), encode_checkpoint({"step": step}))
    prune_checkpoints(tmp_path, keep=2)
    assert [s for s, _ in list_checkpoints(tmp_path)] == [3, 4]


def test_pickled_objects_are_refused(tmp_path):
    import argparse
    import io

    buffer = io.BytesIO()
    torch.save({"x": argparse.Namespace(a=1)}, buffer)  # an arbitrary class: not allowed by weights_only
    payload = buffer.getvalue()
    data = MAGIC + hashlib.sha256(payload).hexdigest().encode() + b"\n" + payload
    with pytest.raises(CheckpointError, match="refused"):
        decode_checkpoint(data, "evil.ckpt")


def test_a_checkpoint_of_7757de4_resumes(tmp_path):
    """The 2-step ring run of tests/fixtures/run_v0 (written by 7757de4) continues, and writes the same layout."""
    import shutil
    from pathlib import Path

    from gankit.cli import main

    fixture = Path(__file__).parents[1] / "fixtures" / "run_v0"
    run_dir = tmp_path / "run"
    shutil.copytree(fixture, run_dir)
    assert main(["train", "--resume", str(run_dir), "--max-steps", "3", "--no-progress"]) == 0
    old = read_checkpoint_file(fixture / "checkpoints" / "ckpt-000000002.ckpt")
    new = read_checkpoint_file(run_dir / "checkpoints" / "ckpt-000000003.ckpt")
    assert list(new) == list(old) and new["format"] == old["format"] == 1 and new["step"] == 3
    from gankit.training.config import Config, config_to_dict

    expected, defaults = {**old["config"], "train": {**old["config"]["train"], "max_steps": 3}}, config_to_dict(Config())
    for section, values in expected.items():  # every old key keeps its value; keys added since take their defaults
        assert {k: new["config"][section][k] for k in values} == values
        assert all(new["config"][section][k] == defaults[section][k] for k in set(new["config"][section]) - set(values))
    assert all(new["config"][s] == defaults[s] for s in set(new["config"]) - set(expected))
    assert any(not torch.equal(new["generator"][k], old["generator"][k]) for k in old["generator"])  # it trained


def test_a_checkpoint_of_a_newer_format_is_refused_naming_both(tmp_path):
    from gankit.run import CHECKPOINT_FORMAT, Checkpoint

    path = tmp_path / "future.ckpt"
    atomic_write(path, encode_checkpoint({"format": CHECKPOINT_FORMAT + 1, "gankit_version": "5.0.0", "step": 3}))
    with pytest.raises(CheckpointError) as caught:
        Checkpoint.load(path)
    message = str(caught.value)
    assert "\n" not in message and str(path) in message
    assert f"checkpoint format {CHECKPOINT_FORMAT + 1} (written by gankit 5.0.0)" in message and f"(format {CHECKPOINT_FORMAT})" in message
