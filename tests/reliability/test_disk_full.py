"""A full disk or an unwritable run directory: one clear line, the previous checkpoint intact,
no temporary left behind, and the run resumes once there is room again.

Injections: the kernel's own EFBIG through ``RLIMIT_FSIZE`` (a real failed write; chmod would not
stop root), ENOSPC raised by the checkpoint writer's ``open``, and EACCES on the metrics log.
"""

from __future__ import annotations

import errno
import resource
import shutil

import pytest

from gankit.cli import main
import gankit.run.files as run_files
from gankit.run import CheckpointWriteError
from gankit.training.trainer import Trainer
from tests.reliability.conftest import assert_same_training_state, read_payload, tiny_config, write_tiny_config

GOOD, FINAL = 10, 20


def _checkpoint(run_dir, step):
    return run_dir / "checkpoints" / f"ckpt-{step:09d}.ckpt"


@pytest.fixture(scope="module")
def good_run(tmp_path_factory):
    run_dir = tmp_path_factory.mktemp("good") / "run"
    Trainer(tiny_config(max_steps=GOOD), run_dir).train(progress=False)
    return run_dir


def test_file_size_limit_from_the_kernel(tmp_path, good_run):
    run_dir = tmp_path / "run"
    shutil.copytree(good_run, run_dir)
    before = _checkpoint(run_dir, GOOD).read_bytes()
    trainer = Trainer(tiny_config(max_steps=FINAL), run_dir)
    assert trainer.resume() is not None

    soft, hard = resource.getrlimit(resource.RLIMIT_FSIZE)
    resource.setrlimit(resource.RLIMIT_FSIZE, (len(before) // 2, hard))  # Python ignores SIGXFSZ: write() fails with EFBIG
    try:
        with pytest.raises(CheckpointWriteError) as caught:
            trainer.train(progress=False)
    finally:
        resource.setrlimit(resource.RLIMIT_FSIZE, (soft, hard))

    message = str(caught.value)
    assert "\n" not in message and "File too large" in message and str(_checkpoint(run_dir, GOOD)) in message
    assert _checkpoint(run_dir, GOOD).read_bytes() == before
    assert not _checkpoint(run_dir, FINAL).exists()
    assert not list((run_dir / "checkpoints").glob(".*tmp*"))

    # Room again: the run continues and ends exactly where an uninterrupted one does.
    resumed = Trainer(tiny_config(max_steps=FINAL), run_dir)
    assert resumed.resume() is not None and resumed.step == GOOD
    resumed.train(progress=False)
    straight = Trainer(tiny_config(max_steps=FINAL), tmp_path / "straight")
    straight.train(progress=False)
    assert_same_training_state(read_payload(_checkpoint(run_dir, FINAL)), read_payload(_checkpoint(tmp_path / "straight", FINAL)))


def test_no_space_left_through_the_cli(tmp_path, monkeypatch, capsys):
    real_open = open
    writes = {"n": 0}

    def open_with_full_disk(file, mode="r", *args, **kwargs):
        if "w" in mode and ".ckpt.tmp" in str(file):
            writes["n"] += 1
            if writes["n"] > 1:  # the first checkpoint fits, the second does not
                f = real_open(file, mode, *args, **kwargs)
                f.write(b"partial")
                f.close()
                raise OSError(errno.ENOSPC, "No space left on device", str(file))
        return real_open(file, mode, *args, **kwargs)

    monkeypatch.setattr(run_files, "open", open_with_full_disk, raising=False)
    config = write_tiny_config(tmp_path, max_steps=FINAL + 10)
    run_dir = tmp_path / "run"
    assert main(["train", str(config), "--run-dir", str(run_dir), "--no-progress"]) == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err
    errors = [line for line in err.splitlines() if line.startswith("gankit: error:")]
    assert len(errors) == 1, err
    assert "No space left on device" in errors[0] and "ckpt-000000010.ckpt" in errors[0] and "--resume" in errors[0]
    assert read_payload(_checkpoint(run_dir, GOOD))["step"] == GOOD
    assert [p.name for p in (run_dir / "checkpoints").iterdir()] == ["ckpt-000000010.ckpt"]


def test_unwritable_metrics_log_through_the_cli(tmp_path, monkeypatch, capsys, good_run):
    run_dir = tmp_path / "run"
    shutil.copytree(good_run, run_dir)
    before = _checkpoint(run_dir, GOOD).read_bytes()
    real_open = open

    def read_only_log(file, mode="r", *args, **kwargs):
        if "a" in mode and str(file).endswith("metrics.jsonl"):
            raise PermissionError(errno.EACCES, "Permission denied", str(file))
        return real_open(file, mode, *args, **kwargs)

    monkeypatch.setattr(run_files, "open", read_only_log, raising=False)
    assert main(["train", "--resume", str(run_dir), "--max-steps", str(FINAL), "--no-progress"]) == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err
    errors = [line for line in err.splitlines() if line.startswith("gankit: error:")]
    assert len(errors) == 1 and "metrics.jsonl" in errors[0] and "Permission denied" in errors[0], err
    assert "ckpt-000000010.ckpt" in errors[0]
    assert _checkpoint(run_dir, GOOD).read_bytes() == before


def test_run_dir_that_cannot_be_created(tmp_path, capsys):
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    config = write_tiny_config(tmp_path)
    assert main(["train", str(config), "--run-dir", str(blocker / "run"), "--no-progress"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("gankit: error:") and len(err.splitlines()) == 1 and "cannot create" in err
