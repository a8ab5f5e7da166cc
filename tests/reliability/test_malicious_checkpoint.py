"""Checkpoints and exported models that carry a pickle payload are refused, and the payload never runs.

The payload creates a file when unpickled; a control shows that plain ``torch.load(weights_only=False)``
does run it, so the test would notice a loading path that executes pickles. Every loading path is
covered: ``.ckpt`` files (with a valid header and checksum, and without), ``train --resume``,
``sample --checkpoint``, ``sample`` from ``export/``, and ``load_generator``. A static audit of the
source makes sure no other unpickling loader exists, and hypothesis throws mangled (but correctly
checksummed) training states at resume and sampling.
"""

from __future__ import annotations

import ast
import hashlib
import io
import pickle
import shutil
from pathlib import Path

import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import gankit
from gankit.cli import main
from gankit.errors import CheckpointError
from gankit.models import load_generator
from gankit.run import MAGIC, atomic_write, encode_checkpoint, read_checkpoint_file
from gankit.training.trainer import Trainer
from tests.reliability.conftest import tiny_config


class CreatesAFile:
    """Unpickling this calls ``open(path, "w")``: a stand-in for arbitrary code."""

    def __init__(self, path: Path) -> None:
        self.path = str(path)

    def __reduce__(self):
        return (open, (self.path, "w"))


def _torch_payload(marker: Path) -> bytes:
    buffer = io.BytesIO()
    torch.save({"step": 1, "generator": CreatesAFile(marker)}, buffer)
    return buffer.getvalue()


def _with_valid_header(payload: bytes) -> bytes:
    return MAGIC + hashlib.sha256(payload).hexdigest().encode() + b"\n" + payload


@pytest.fixture
def marker(tmp_path) -> Path:
    path = tmp_path / "PAYLOAD-RAN"
    yield path
    assert not path.exists(), "the pickle payload ran"


@pytest.fixture(scope="module")
def good_run(tmp_path_factory) -> Path:
    run_dir = tmp_path_factory.mktemp("good") / "run"
    Trainer(tiny_config(max_steps=10), run_dir).train(progress=False)
    return run_dir


def test_the_payload_is_live(tmp_path):
    control = tmp_path / "control"
    torch.load(io.BytesIO(_torch_payload(control)), weights_only=False)
    assert control.exists()
    control.unlink()
    pickle.loads(pickle.dumps(CreatesAFile(control)))
    assert control.exists()


@pytest.mark.parametrize("kind", ["torch_zip", "raw_pickle", "torch_legacy"])
@pytest.mark.parametrize("header", [True, False], ids=["valid_checksum", "no_header"])
def test_checkpoint_file_is_refused(tmp_path, marker, kind, header):
    if kind == "torch_zip":
        payload = _torch_payload(marker)
    elif kind == "raw_pickle":
        payload = pickle.dumps({"step": 1, "x": CreatesAFile(marker)})
    else:
        buffer = io.BytesIO()
        torch.save({"x": CreatesAFile(marker)}, buffer, _use_new_zipfile_serialization=False)
        payload = buffer.getvalue()
    path = tmp_path / "evil.ckpt"
    path.write_bytes(_with_valid_header(payload) if header else payload)
    with pytest.raises(CheckpointError) as caught:
        read_checkpoint_file(path)
    assert "\n" not in str(caught.value) and "evil.ckpt" in str(caught.value)


def test_resume_skips_a_poisoned_newest_checkpoint(tmp_path, marker, good_run, gankit_log):
    run_dir = tmp_path / "run"
    shutil.copytree(good_run, run_dir)
    (run_dir / "checkpoints" / "ckpt-000000011.ckpt").write_bytes(_with_valid_header(_torch_payload(marker)))
    (run_dir / "checkpoints" / "ckpt-000000012.ckpt").write_bytes(_torch_payload(marker))
    assert main(["train", "--resume", str(run_dir), "--max-steps", "12", "--no-progress"]) == 0
    assert sum("ckpt-000000011" in m and "refused" in m for m in gankit_log) == 1, gankit_log
    assert sum("ckpt-000000012" in m and "not a gankit checkpoint" in m for m in gankit_log) == 1, gankit_log
    assert any("from step 10" in m for m in gankit_log)


def test_sample_refuses_a_poisoned_checkpoint(tmp_path, marker, good_run, capsys):
    evil = tmp_path / "evil.ckpt"
    evil.write_bytes(_with_valid_header(_torch_payload(marker)))
    assert main(["sample", str(good_run), "--checkpoint", str(evil), "--out", str(tmp_path / "x.png")]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("gankit: error:") and len(err.splitlines()) == 1 and "refused" in err
    assert not (tmp_path / "x.png").exists()


@pytest.mark.parametrize("kind", ["torch_zip", "raw_pickle"])
def test_poisoned_export_is_refused(tmp_path, marker, good_run, capsys, kind):
    run_dir = tmp_path / "run"
    shutil.copytree(good_run / "export", run_dir / "export")  # no checkpoints: sampling reads export/
    payload = _torch_payload(marker) if kind == "torch_zip" else pickle.dumps(CreatesAFile(marker))
    (run_dir / "export" / "generator.safetensors").write_bytes(payload)
    with pytest.raises(CheckpointError):
        load_generator(run_dir / "export")
    assert main(["sample", str(run_dir), "--out", str(tmp_path / "x.png")]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("gankit: error:") and len(err.splitlines()) == 1 and "export" in err


def test_hostile_export_spec_is_refused(tmp_path, good_run, capsys):
    run_dir = tmp_path / "run"
    shutil.copytree(good_run / "export", run_dir / "export")
    for spec in ('["not", "a", "mapping"]', '{"model": "mlp", "img_shape": "x", "latent_dim": 8, "num_classes": 0, "options": []}'):
        (run_dir / "export" / "generator.json").write_text(spec)
        assert main(["sample", str(run_dir), "--out", str(tmp_path / "x.png")]) == 2
        err = capsys.readouterr().err.strip()
        assert err.startswith("gankit: error:") and len(err.splitlines()) == 1, err


# ----------------------------------------------------------------------------- static audit
UNSAFE_CALLS = {
    ("pickle", "load"), ("pickle", "loads"), ("pickle", "Unpickler"), ("marshal", "load"), ("marshal", "loads"),
    ("yaml", "load"), ("yaml", "unsafe_load"), ("yaml", "full_load"), ("yaml", "load_all"), ("yaml", "unsafe_load_all"),
    ("shelve", "open"), ("dill", "load"), ("dill", "loads"), ("joblib", "load"), ("cloudpickle", "load"), ("cloudpickle", "loads"),
}


def _keyword(call: ast.Call, name: str):
    for keyword in call.keywords:
        if keyword.arg == name:
            return keyword.value
    return None


def test_no_loading_path_can_unpickle():
    """Every loader in src/ is safetensors, JSON/YAML-safe, ``torch.load(weights_only=True)`` or ``np.load`` without pickles."""
    problems = []
    for path in sorted(Path(gankit.__file__).parent.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if not isinstance(node, ast.Call):
                continue
            func = node.func
            where = f"{path.name}:{node.lineno}"
            if isinstance(func, ast.Attribute) and isinstance(func.value, ast.Name):
                pair = (func.value.id, func.attr)
                if pair in UNSAFE_CALLS:
                    problems.append(f"{where}: {pair[0]}.{pair[1]}")
                if pair == ("torch", "load"):
                    value = _keyword(node, "weights_only")
                    if not (isinstance(value, ast.Constant) and value.value is True):
                        problems.append(f"{where}: torch.load without weights_only=True")
                if pair in (("np", "load"), ("numpy", "load")):
                    value = _keyword(node, "allow_pickle")
                    if value is not None and not (isinstance(value, ast.Constant) and value.value is False):
                        problems.append(f"{where}: np.load with allow_pickle")
            if isinstance(func, ast.Name) and func.id in ("eval", "exec", "__import__"):
                problems.append(f"{where}: {func.id}")
    assert problems == []


# ----------------------------------------------------------------- mangled training states
def _junk():
    tensors = st.sampled_from([torch.zeros(0), torch.ones(3, 3), torch.tensor(float("nan")), torch.zeros(2, dtype=torch.uint8)])
    scalars = st.one_of(st.none(), st.booleans(), st.integers(-2**70, 2**70), st.floats(allow_nan=True), st.text(max_size=8), tensors)
    return st.recursive(scalars, lambda inner: st.one_of(st.lists(inner, max_size=3), st.dictionaries(st.text(max_size=5), inner, max_size=3)), max_leaves=6)


def _paths(state, prefix=()):
    yield prefix
    if isinstance(state, dict):
        for key, value in state.items():
            yield from _paths(value, (*prefix, key))


@settings(max_examples=20, deadline=None, derandomize=True, database=None, suppress_health_check=list(HealthCheck))
@given(data=st.data())
def test_mangled_states_give_one_line(tmp_path_factory, data):
    base = tmp_path_factory.getbasetemp() / "mangled-source"
    if not (base / "checkpoints").exists():
        Trainer(tiny_config(max_steps=2, checkpoint_every=1), base).train(progress=False)
    state = read_checkpoint_file(base / "checkpoints" / "ckpt-000000002.ckpt")
    paths = [p for p in _paths(state) if p]
    for _ in range(data.draw(st.integers(1, 3))):
        where = data.draw(st.sampled_from(paths))
        node = state
        for key in where[:-1]:
            node = node.get(key) if isinstance(node, dict) else None
        if isinstance(node, dict):
            if data.draw(st.booleans()):
                node[where[-1]] = data.draw(_junk())
            else:
                node.pop(where[-1], None)
    run_dir = tmp_path_factory.mktemp("mangled")
    (run_dir / "checkpoints").mkdir()
    shutil.copy(base / "config.yaml", run_dir / "config.yaml")
    atomic_write(run_dir / "checkpoints" / "ckpt-000000002.ckpt", encode_checkpoint(state))
    for argv in (
        ["sample", str(run_dir), "--num", "2", "--out", str(run_dir / "x.png")],
        ["train", "--resume", str(run_dir), "--max-steps", "3", "--no-progress"],
    ):
        try:
            code = main(argv)
        except SystemExit as exc:  # argparse only
            code = exc.code
        assert code in (0, 2), argv
