"""Shared pieces of the fault-injection tests: a tiny run, subprocess launches, state comparison.

Every subprocess is a real ``python -m gankit train``; faults are injected by
``faults/sitecustomize.py`` (selected with ``GANKIT_FAULT``), never by changing gankit.
The reference run is uninterrupted and computed once per pytest run.
"""

from __future__ import annotations

import hashlib
import io
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch
import yaml

FAULTS_DIR = Path(__file__).parent / "faults"
STEPS = 60
CHECKPOINT_EVERY = 10

TINY = {
    "data": {"name": "squares"},
    "model": {"name": "mlp", "latent_dim": 8, "options": {"g_hidden": [32], "d_hidden": [32]}},
    "train": {
        "seed": 3, "batch_size": 32, "max_steps": STEPS, "device": "cpu", "log_every": 5,
        "checkpoint_every": CHECKPOINT_EVERY, "keep_checkpoints": 3, "sample_every_epochs": 100, "num_samples": 4,
    },
}


def write_tiny_config(directory: Path, **train) -> Path:
    raw = {section: dict(values) for section, values in TINY.items()}
    raw["train"].update(train)
    path = directory / "tiny.yaml"
    path.write_text(yaml.safe_dump(raw))
    return path


def gankit(args: list[str], cwd: Path, fault: str | None = None, marker: Path | None = None, wait: bool = True, timeout: float = 120):
    """Run ``python -m gankit ARGS`` in a fresh process, optionally with an injected fault."""
    env = dict(os.environ)
    env.update(OMP_NUM_THREADS="1", GANKIT_OFFLINE="1", GANKIT_DATA=str(cwd / "data-root"), PYTHONHASHSEED="0")
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(FAULTS_DIR), env.get("PYTHONPATH", "")) if p)
    env.pop("GANKIT_FAULT", None)
    if fault:
        env["GANKIT_FAULT"] = fault
    if marker is not None:
        env["GANKIT_FAULT_MARKER"] = str(marker)
    cmd = [sys.executable, "-m", "gankit", *args]
    if not wait:
        return subprocess.Popen(cmd, cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    return subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)


def read_payload(path: Path) -> dict:
    """A checkpoint's state read without gankit: check the SHA-256 line by hand, then ``torch.load`` the rest."""
    data = path.read_bytes()
    magic, digest, payload = data.split(b"\n", 2)
    assert magic == b"GANKIT-CKPT 1", path
    assert hashlib.sha256(payload).hexdigest() == digest.decode(), f"{path}: checksum"
    return torch.load(io.BytesIO(payload), weights_only=True)


def assert_same_training_state(a: dict, b: dict) -> None:
    """Bit-identical networks, optimiser states, step and noise generator."""
    assert a["step"] == b["step"]
    for key in ("generator", "discriminator"):
        assert a[key].keys() == b[key].keys()
        for name in a[key]:
            assert torch.equal(a[key][name], b[key][name]), f"{key}.{name}"
    for key in ("opt_g", "opt_d"):
        assert a[key]["param_groups"] == b[key]["param_groups"], key
        for index, state in a[key]["state"].items():
            for name, value in state.items():
                assert torch.equal(value, b[key]["state"][index][name]), f"{key}.{index}.{name}"
    assert torch.equal(a["rng"]["noise"], b["rng"]["noise"])


def final_checkpoint(run_dir: Path) -> Path:
    return run_dir / "checkpoints" / f"ckpt-{STEPS:09d}.ckpt"


class ReferenceRun:
    """An uninterrupted ``gankit train`` of the tiny config, started at once and awaited on first use."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self._process = gankit(["train", str(write_tiny_config(root)), "--run-dir", "run", "--no-progress"], cwd=root, wait=False)

    @property
    def run_dir(self) -> Path:
        if self._process.returncode is None:
            _, stderr = self._process.communicate(timeout=300)
            assert self._process.returncode == 0, stderr
        return self.root / "run"


@pytest.fixture(scope="session")
def reference_run(tmp_path_factory) -> ReferenceRun:
    """The same tiny run, never interrupted, with the same process settings as the faulted runs."""
    return ReferenceRun(tmp_path_factory.mktemp("reference"))


def tiny_config(**train):
    """The tiny run as a validated :class:`Config` for in-process trainers."""
    from gankit.training.config import config_from_dict

    raw = {section: dict(values) for section, values in TINY.items()}
    raw["train"].update(train)
    return config_from_dict(raw)


@pytest.fixture
def gankit_log():
    """Messages of the ``gankit`` logger during the test (the CLI's handler may hold an older stderr)."""
    import logging

    class ListHandler(logging.Handler):
        def __init__(self):
            super().__init__(logging.DEBUG)
            self.messages: list[str] = []

        def emit(self, record):
            self.messages.append(record.getMessage())

    logger = logging.getLogger("gankit")
    # The CLI's stderr handler keeps the stream of the test that first called main(); drop it so
    # that main() binds a new one to this test's stderr.
    for old in [h for h in logger.handlers if getattr(h, "_gankit", False)]:
        logger.removeHandler(old)
    handler, level = ListHandler(), logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    yield handler.messages
    logger.removeHandler(handler)
    for old in [h for h in logger.handlers if getattr(h, "_gankit", False)]:
        logger.removeHandler(old)
    logger.setLevel(level)


@pytest.fixture(autouse=True)
def _fresh_cli_log_handler():
    """main() binds its stderr handler once per process; rebind it to each test's captured stderr."""
    import logging

    logger = logging.getLogger("gankit")

    def drop():
        for handler in [h for h in logger.handlers if getattr(h, "_gankit", False)]:
            logger.removeHandler(handler)

    drop()
    yield
    drop()
