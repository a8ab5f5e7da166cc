"""``gankit train``: a run from a preset, resume, and one clear line for every bad argument."""

import subprocess
import sys

import pytest

from gankit.cli import main


def _train(tiny_config_file, run_dir, *extra):
    return main(["train", str(tiny_config_file), "--run-dir", str(run_dir), "--no-progress", *extra])


def test_train_then_resume(tiny_config_file, tmp_path):
    run_dir = tmp_path / "run"
    assert _train(tiny_config_file, run_dir, "--max-steps", "4") == 0
    assert (run_dir / "checkpoints" / "ckpt-000000004.ckpt").is_file()
    assert main(["train", "--resume", str(run_dir), "--max-steps", "7", "--no-progress"]) == 0
    assert (run_dir / "checkpoints" / "ckpt-000000007.ckpt").is_file()
    assert "max_steps: 7" in (run_dir / "config.yaml").read_text()


def test_existing_run_dir_is_refused_unless_overwrite(tiny_config_file, tmp_path, capsys):
    run_dir = tmp_path / "run"
    assert _train(tiny_config_file, run_dir, "--max-steps", "2") == 0
    capsys.readouterr()
    assert _train(tiny_config_file, run_dir, "--max-steps", "2") == 2
    err = capsys.readouterr().err
    assert "already exists" in err and "--resume" in err and "--overwrite" in err
    assert _train(tiny_config_file, run_dir, "--max-steps", "3", "--overwrite") == 0
    assert (run_dir / "checkpoints" / "ckpt-000000003.ckpt").is_file()
    assert not (run_dir / "checkpoints" / "ckpt-000000002.ckpt").exists()


def test_overwrite_never_deletes_a_folder_that_is_not_a_run(tiny_config_file, tmp_path, capsys):
    precious = tmp_path / "photos"
    precious.mkdir()
    (precious / "me.jpg").write_bytes(b"x")
    assert _train(tiny_config_file, precious, "--overwrite") == 2
    assert (precious / "me.jpg").exists()
    assert "refusing" in capsys.readouterr().err


@pytest.mark.parametrize(
    "args, needle",
    [
        (["--set", "train.batch_size=0"], "train.batch_size"),
        (["--set", "optim.lr=1"], "optim"),
        (["--set", "nonsense"], "KEY=VALUE"),
        (["--max-steps", "0"], "--max-steps"),
        (["--max-minutes", "-1"], "--max-minutes"),
        (["--set", "train.batch_size=100000"], "train.batch_size"),
    ],
)
def test_bad_arguments_give_one_line_and_exit_2(tiny_config_file, tmp_path, capsys, args, needle):
    assert _train(tiny_config_file, tmp_path / "run", *args) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("gankit: error:") and needle in err
    assert len(err.splitlines()) == 1
    assert not (tmp_path / "run" / "checkpoints").exists()


def test_missing_config_and_bad_resume(tmp_path, capsys):
    assert main(["train", str(tmp_path / "nope.yaml")]) == 2
    assert "not found" in capsys.readouterr().err
    assert main(["train", "--resume", str(tmp_path)]) == 2
    assert "not a gankit run" in capsys.readouterr().err
    assert main(["train"]) == 2


def test_batch_larger_than_dataset(tiny_config_file, tmp_path, capsys):
    assert _train(tiny_config_file, tmp_path / "run", "--set", "train.batch_size=5000") == 2
    assert "fewer than one batch" in capsys.readouterr().err


def test_console_entry_point_runs_without_traceback(tmp_path):
    result = subprocess.run(
        [sys.executable, "-m", "gankit", "train", str(tmp_path / "missing.yaml")], capture_output=True, text=True
    )
    assert result.returncode == 2
    assert "Traceback" not in result.stderr and "config file not found" in result.stderr
