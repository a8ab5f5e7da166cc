"""SIGKILL at random points of training, mid-checkpoint-write included: resume loses at most one
checkpoint interval and the final weights equal an uninterrupted run's, bit for bit (CPU).

One run is killed five times in a row, each time by a different fault; the kill step of the
first is drawn from a seeded RNG, so the test is random in where it strikes but reproducible.
"""

from __future__ import annotations

import random
import re
import signal

import pytest

from tests.reliability.conftest import (
    CHECKPOINT_EVERY,
    STEPS,
    assert_same_training_state,
    final_checkpoint,
    gankit,
    read_payload,
    write_tiny_config,
)

pytestmark = pytest.mark.slow  # real subprocesses: about 20 s on an idle 2-core machine


def _checkpoint_steps(run_dir) -> list[int]:
    return sorted(int(p.name[5:14]) for p in (run_dir / "checkpoints").glob("ckpt-*.ckpt"))


def _resumed_from(stderr: str) -> int:
    match = re.search(r"resuming .* from step (\d+)", stderr)
    assert match, stderr
    return int(match.group(1))


def test_killed_five_times_then_identical_to_an_uninterrupted_run(tmp_path, reference_run):
    rng = random.Random(20240611)
    config = write_tiny_config(tmp_path)
    run_dir = tmp_path / "run"
    resume = ["train", "--resume", "run", "--no-progress"]

    # 1. A random optimiser step in the first half (odd: between the D and the G update of a step).
    kill_at = rng.randrange(2 * CHECKPOINT_EVERY + 1, STEPS)  # optimiser steps: 2 per training step
    killed = gankit(["train", str(config), "--run-dir", "run", "--no-progress"], tmp_path, fault=f"kill_at_optimizer_step:{kill_at}")
    assert killed.returncode == -signal.SIGKILL, killed.stderr
    completed_steps = (kill_at - 1) // 2
    assert _checkpoint_steps(run_dir)[-1] == completed_steps // CHECKPOINT_EVERY * CHECKPOINT_EVERY

    # 2. Half of the next checkpoint's bytes are on disk when the process dies.
    before = _checkpoint_steps(run_dir)
    killed = gankit(resume, tmp_path, fault="kill_in_checkpoint_write:1")
    assert killed.returncode == -signal.SIGKILL, killed.stderr
    assert _resumed_from(killed.stderr) == before[-1]
    assert _checkpoint_steps(run_dir) == before  # the torn file never got a checkpoint's name
    assert list((run_dir / "checkpoints").glob(".ckpt-*.tmp-*")), "the torn temporary file should be left behind"

    # 3. The next checkpoint is complete under its temporary name but never renamed.
    killed = gankit(resume, tmp_path, fault="kill_before_rename:1")
    assert killed.returncode == -signal.SIGKILL, killed.stderr
    assert _resumed_from(killed.stderr) == before[-1]
    assert _checkpoint_steps(run_dir) == before
    assert not any("skipping" in line for line in killed.stderr.splitlines()), killed.stderr

    # 4. Train to the end; die while exporting, after the final checkpoint.
    killed = gankit(resume, tmp_path, fault="kill_in_export:1")
    assert killed.returncode == -signal.SIGKILL, killed.stderr
    assert _checkpoint_steps(run_dir)[-1] == STEPS
    assert not (run_dir / "export" / "generator.json").exists()

    # 5. Resume once more: nothing to train, the missing outputs are written.
    done = gankit(resume, tmp_path)
    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stderr
    assert (run_dir / "export" / "generator.json").is_file() and (run_dir / "samples" / "final.png").is_file()
    assert not list((run_dir / "checkpoints").glob(".ckpt-*.tmp-*")), "stale temporaries should be cleaned up"

    reference = reference_run.run_dir
    assert_same_training_state(read_payload(final_checkpoint(run_dir)), read_payload(final_checkpoint(reference)))
    assert (run_dir / "export" / "generator.safetensors").read_bytes() == (reference / "export" / "generator.safetensors").read_bytes()
