"""SIGINT/SIGTERM: the run saves a checkpoint at the end of the current step and exits cleanly
within a few seconds; resuming from that checkpoint gives an uninterrupted run's final weights.

The child pauses before a step drawn from a seeded RNG and waits there for the signal, so
the signal lands at a known step without sleeps in the test.
"""

from __future__ import annotations

import random
import signal
import time

import pytest

from tests.reliability.conftest import STEPS, assert_same_training_state, final_checkpoint, gankit, read_payload, write_tiny_config

pytestmark = pytest.mark.slow  # real subprocesses: about 20 s on an idle 2-core machine

CHECKPOINT_WITHIN_S = 5.0  # the checkpoint is written first, right after the current step
EXIT_WITHIN_S = 30.0  # then samples, export and the loss plot (about 2 s on an idle machine)


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_signal_saves_a_checkpoint_and_exits_cleanly(tmp_path, reference_run, signum):
    stop_before = random.Random(int(signum)).randrange(12, STEPS - 5)  # never on a checkpoint_every multiple by luck alone
    config = write_tiny_config(tmp_path)
    marker = tmp_path / "paused"
    child = gankit(
        ["train", str(config), "--run-dir", "run", "--no-progress"], tmp_path,
        fault=f"pause_at_step:{stop_before}", marker=marker, wait=False,
    )
    deadline = time.monotonic() + 120
    while not marker.exists():
        assert child.poll() is None, child.communicate()[1]
        assert time.monotonic() < deadline, "the child never reached the pause"
        time.sleep(0.02)
    saved = tmp_path / "run" / "checkpoints" / f"ckpt-{stop_before:09d}.ckpt"
    sent = time.monotonic()
    child.send_signal(signum)
    while not saved.exists() and child.poll() is None and time.monotonic() - sent < 60:
        time.sleep(0.01)
    checkpoint_seconds = time.monotonic() - sent  # the rename is atomic: once it exists, it is complete
    _, stderr = child.communicate(timeout=60)
    exit_seconds = time.monotonic() - sent

    assert child.returncode == 130, stderr
    assert checkpoint_seconds < CHECKPOINT_WITHIN_S, f"the checkpoint took {checkpoint_seconds:.1f} s"
    assert exit_seconds < EXIT_WITHIN_S, f"took {exit_seconds:.1f} s to exit"
    assert "Traceback" not in stderr
    assert f"stopped at step {stop_before}" in stderr, stderr
    assert read_payload(saved)["step"] == stop_before
    assert (tmp_path / "run" / "export" / "generator.json").is_file()

    resumed = gankit(["train", "--resume", "run", "--no-progress"], tmp_path)
    assert resumed.returncode == 0, resumed.stderr
    assert f"from step {stop_before}" in resumed.stderr
    assert_same_training_state(read_payload(final_checkpoint(tmp_path / "run")), read_payload(final_checkpoint(reference_run.run_dir)))
    print(f"{signal.Signals(signum).name}: checkpoint on disk {checkpoint_seconds:.2f} s, exit {exit_seconds:.2f} s after the signal")
