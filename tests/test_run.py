"""The run directory: atomic writes, the typed checkpoint, the versioned export, eval.json and metrics.jsonl.

The fixtures were written by gankit 7757de4 (the commit before the run-directory layer):
``tests/fixtures/run_v0`` is a 2-step ``mlp2d`` run on ``ring`` (config, checkpoint with an EMA
generator, unversioned export), ``tests/fixtures/export_v0`` the unversioned export of a 2-step
``mlp_cond`` run on ``squares``, with ``ref_samples.npz`` from that commit's ``gankit sample``
(10 samples, seed 3: default labels, and ``--truncation 0.5``).
"""

import json
import os
import pickle
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch

import gankit
from gankit.errors import CheckpointError, ConfigError, GankitError
from gankit.models import create_model
from gankit.run import (
    CHECKPOINT_FORMAT, EXPORT_FORMAT, Checkpoint, CheckpointWriteError, RunDir, atomic_path, atomic_write, load_export,
    read_checkpoint_file, remove_stale_temporaries, write_export,
)
from gankit.sampling import draw_samples

FIXTURES = Path(__file__).parent / "fixtures"
RUN_V0 = FIXTURES / "run_v0"
CKPT_V0 = RUN_V0 / "checkpoints" / "ckpt-000000002.ckpt"
EXPORT_V0 = FIXTURES / "export_v0"
# The top-level keys 7757de4 writes, in its order (cluster_labels and class_prior only for runs that have them).
KEYS_V0 = ["format", "gankit_version", "config", "step", "epoch", "elapsed_seconds", "generator", "discriminator",
           "opt_g", "opt_d", "rng", "rollbacks", "img_shape", "num_classes", "generator_ema"]


def _one_line(exc: BaseException, *needles: str) -> None:
    text = str(exc)
    assert "\n" not in text, text
    for needle in needles:
        assert needle in text, text


# ----------------------------------------------------------------------------------------------- atomic writes
def test_atomic_write_replaces_the_file_and_leaves_no_temporary(tmp_path):
    path = tmp_path / "a.txt"
    atomic_write(path, "first")
    atomic_write(path, b"second")
    assert path.read_bytes() == b"second"
    assert [p.name for p in tmp_path.iterdir()] == ["a.txt"]


def test_a_failed_write_leaves_the_old_file(tmp_path, monkeypatch):
    path = tmp_path / "a.txt"
    atomic_write(path, "old")

    def full_disk(fd):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "fsync", full_disk)
    with pytest.raises(OSError):
        atomic_write(path, "new")
    assert path.read_text() == "old" and [p.name for p in tmp_path.iterdir()] == ["a.txt"]


def test_a_writer_that_fails_inside_atomic_path_changes_nothing(tmp_path):
    path = tmp_path / "plot.png"
    atomic_write(path, b"old")
    with pytest.raises(RuntimeError):
        with atomic_path(path) as tmp:
            tmp.write_bytes(b"half")
            raise RuntimeError("the plotting library failed")
    assert path.read_bytes() == b"old" and [p.name for p in tmp_path.iterdir()] == ["plot.png"]


def test_stale_temporaries_of_other_processes_are_removed(tmp_path):
    for name in (".ckpt-000000005.ckpt.tmp-999999999", f".best.ckpt.tmp-{os.getpid()}", "ckpt-000000004.ckpt", ".keep"):
        (tmp_path / name).write_bytes(b"x")
    remove_stale_temporaries(tmp_path)
    assert sorted(p.name for p in tmp_path.iterdir()) == [".best.ckpt.tmp-" + str(os.getpid()), ".keep", "ckpt-000000004.ckpt"]


# ---------------------------------------------------------------------------------------- the typed checkpoint
def test_a_checkpoint_of_7757de4_reads_and_writes_back_the_same_state():
    raw = read_checkpoint_file(CKPT_V0)
    checkpoint = Checkpoint.load(CKPT_V0)
    assert checkpoint.format == CHECKPOINT_FORMAT == 1 and checkpoint.step == 2 and checkpoint.img_shape == (2,)
    assert checkpoint.model_name == "mlp2d" and checkpoint.num_classes == 0 and checkpoint.generator_ema is not None
    written = checkpoint.to_dict()
    assert list(written) == list(raw) == KEYS_V0
    for key in KEYS_V0:
        if key in ("generator", "discriminator", "generator_ema"):
            assert written[key].keys() == raw[key].keys()
            assert all(torch.equal(written[key][k], raw[key][k]) for k in raw[key])
        elif key not in ("opt_g", "opt_d", "rng"):
            assert written[key] == raw[key], key
    again = Checkpoint.decode(checkpoint.encode(), "memory")
    assert again.to_dict().keys() == raw.keys() and again.step == 2
    with pytest.raises(CheckpointError, match="memory: checksum mismatch"):
        Checkpoint.decode(checkpoint.encode()[:-1], "memory")


def test_the_sampling_generator_is_the_ema_copy():
    checkpoint = Checkpoint.from_dict(_mangled(generator={k: torch.zeros_like(v) for k, v in read_checkpoint_file(CKPT_V0)["generator"].items()}))
    generator, spec = checkpoint.build_generator()
    assert spec == {"model": "mlp2d", "img_shape": [2], "latent_dim": 3, "num_classes": 0,
                    "options": {"g_hidden": [4], "d_hidden": [4]}}
    loaded = generator.state_dict()
    assert all(torch.equal(loaded[k], checkpoint.generator_ema[k]) for k in loaded)
    assert any(not torch.equal(checkpoint.generator_ema[k], checkpoint.generator[k]) for k in loaded)
    assert not generator.training


def test_training_config_applies_changes_without_touching_the_stored_config():
    checkpoint = Checkpoint.load(CKPT_V0)
    cfg = checkpoint.training_config({"train": {"max_steps": 7}})
    assert cfg.train.max_steps == 7 and cfg.model.name == "mlp2d" and cfg.data.name == "ring"
    assert checkpoint.config["train"]["max_steps"] == 2


def _mangled(**changes):
    state = read_checkpoint_file(CKPT_V0)
    for key, value in changes.items():
        if value is KeyError:
            del state[key]
        else:
            state[key] = value
    return state


@pytest.mark.parametrize("changes, needle", [
    ({"format": 2, "gankit_version": "9.0.0"}, "checkpoint format 2 (written by gankit 9.0.0) is newer than this gankit"),
    ({"format": "1"}, "checkpoint format '1' is not a format number"),
    ({"format": 0}, "checkpoint format 0 is not supported (expected 1)"),
    ({"generator": KeyError}, "not a complete training state (no 'generator')"),
    ({"step": -1}, "step -1 is not a non-negative integer"),
    ({"step": True}, "step True is not a non-negative integer"),
    ({"generator": {"w": [1.0, 2.0]}}, "generator is not a mapping of parameter names to tensors"),
    ({"config": {"model": "mlp2d"}}, "config.model is not a mapping"),
    ({"img_shape": [2, 0]}, "img_shape [2, 0] is not (C, H, W) or (D,)"),
    ({"num_classes": 3, "class_prior": [0.5, 0.5]}, "class_prior must be a list of 3 shares"),
    ({"cluster_labels": torch.zeros(4)}, "cluster_labels is not an int64 vector"),
    ({"elapsed_seconds": float("nan")}, "elapsed_seconds nan is not a finite number"),
])
def test_a_bad_state_gets_one_line_naming_it(changes, needle):
    with pytest.raises(CheckpointError) as caught:
        Checkpoint.from_dict(_mangled(**changes), "x.ckpt")
    _one_line(caught.value, "x.ckpt: ", needle)


def test_a_newer_checkpoint_is_refused_by_gankit_sample(tmp_path, capsys):
    from gankit.cli import main
    from gankit.run import atomic_write, encode_checkpoint

    run = tmp_path / "run"
    shutil.copytree(RUN_V0, run)
    atomic_write(run / "checkpoints" / "ckpt-000000002.ckpt", encode_checkpoint(_mangled(format=CHECKPOINT_FORMAT + 1)))
    assert main(["sample", str(run), "--out", str(tmp_path / "x.npz")]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and f"format {CHECKPOINT_FORMAT + 1}" in err and f"(format {CHECKPOINT_FORMAT})" in err
    assert not (tmp_path / "x.npz").exists()


def test_save_prune_and_latest(tmp_path):
    run = RunDir(tmp_path / "run")
    base = Checkpoint.load(CKPT_V0)
    for step in (1, 2, 3, 4):
        base.step = step
        run.save_checkpoint(base, keep=2)
    run.save_checkpoint(base, name="best.ckpt")
    assert [s for s, _ in run.checkpoints()] == [3, 4] and (run.checkpoint_dir / "best.ckpt").is_file()
    newest = run.checkpoint_dir / "ckpt-000000004.ckpt"
    newest.write_bytes(newest.read_bytes()[:-10])  # torn: skipped
    path, checkpoint = run.latest_checkpoint()
    assert path.name == "ckpt-000000003.ckpt" and isinstance(checkpoint, Checkpoint) and checkpoint.step == 3


def test_a_failed_checkpoint_write_names_the_newest_complete_one(tmp_path, monkeypatch):
    run = RunDir(tmp_path / "run")
    checkpoint = Checkpoint.load(CKPT_V0)
    good = run.save_checkpoint(checkpoint)
    checkpoint.step = 3

    def full_disk(fd):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "fsync", full_disk)
    with pytest.raises(CheckpointWriteError) as caught:
        run.save_checkpoint(checkpoint)
    _one_line(caught.value, "No space left on device", "at step 3", f"the newest complete checkpoint is {good}")
    assert [p.name for p in run.checkpoint_dir.iterdir()] == ["ckpt-000000002.ckpt"]


# ------------------------------------------------------------------------------------------------- the export
def test_an_unversioned_export_is_migrated_and_samples_as_7757de4_did():
    raw = json.loads((EXPORT_V0 / "generator.json").read_text())
    assert "format" not in raw
    generator, spec = load_export(EXPORT_V0)
    assert spec == {"format": 1, "gankit_version": "unknown", **raw}
    reference = np.load(EXPORT_V0 / "ref_samples.npz")
    labels = torch.from_numpy(reference["default_labels"])
    images = draw_samples(generator, spec, 10, seed=3, batch_size=256)
    assert np.array_equal(images.numpy(), reference["default_images"])
    truncated = draw_samples(generator, spec, 10, seed=3, labels=labels, truncation=0.5, batch_size=256)
    assert np.array_equal(truncated.numpy(), reference["truncated_images"])


def test_an_export_now_carries_its_format_and_round_trips(tmp_path):
    generator, spec = load_export(EXPORT_V0)
    write_export(tmp_path, generator, {k: v for k, v in spec.items() if k not in ("format", "gankit_version")})
    written = json.loads((tmp_path / "generator.json").read_text())
    assert list(written)[:2] == ["format", "gankit_version"]
    assert written["format"] == EXPORT_FORMAT == 1 and written["gankit_version"] == gankit.__version__
    again, again_spec = load_export(tmp_path)
    assert again_spec == written
    z, labels = torch.randn(5, 4), torch.arange(5)
    with torch.no_grad():
        assert torch.equal(again(z, labels), generator(z, labels))


def _export_copy(tmp_path) -> Path:
    directory = tmp_path / "export"
    shutil.copytree(EXPORT_V0, directory)
    return directory


@pytest.mark.parametrize("damage, needle", [
    ("newer", "export format 2 (written by gankit 9.0.0) is newer than this gankit"),
    ("not_json", "cannot read generator.json"),
    ("not_a_mapping", "generator.json is not a mapping of keys"),
    ("truncated_weights", "cannot rebuild the exported generator"),
    ("pickle_weights", "cannot rebuild the exported generator"),
    ("missing_weights", "generator.safetensors: missing"),
    ("wrong_shapes", "cannot rebuild the exported generator"),
])
def test_a_bad_export_gets_one_line(tmp_path, damage, needle):
    directory = _export_copy(tmp_path)
    spec_path, weights = directory / "generator.json", directory / "generator.safetensors"
    spec = json.loads(spec_path.read_text())
    if damage == "newer":
        spec_path.write_text(json.dumps({**spec, "format": 2, "gankit_version": "9.0.0"}))
    elif damage == "not_json":
        spec_path.write_text('{"model": "mlp_cond", ')
    elif damage == "not_a_mapping":
        spec_path.write_text("[1, 2]")
    elif damage == "truncated_weights":
        weights.write_bytes(weights.read_bytes()[:100])
    elif damage == "pickle_weights":
        weights.write_bytes(pickle.dumps({"w": [1.0]}))
    elif damage == "missing_weights":
        weights.unlink()
    else:
        spec_path.write_text(json.dumps({**spec, "latent_dim": 5}))
    with pytest.raises(CheckpointError) as caught:
        load_export(directory)
    _one_line(caught.value, needle)


def test_export_step_reads_the_step_of_a_complete_export(tmp_path):
    run = RunDir(tmp_path / "run")
    shutil.copytree(RUN_V0, run.path)
    assert run.export_step() == 2
    (run.export_dir / "generator.safetensors").unlink()
    assert run.export_step() is None


# ------------------------------------------------------------------------------------------- samples, records
def test_samples_are_a_grid_of_images_or_a_scatter_of_points(tmp_path):
    from PIL import Image

    run = RunDir(tmp_path / "run")
    images = torch.randint(0, 256, (10, 1, 28, 28), dtype=torch.uint8)
    grid = run.write_samples("epoch-0001", images)
    with Image.open(grid) as picture:
        assert picture.size == (4 * 30 + 2, 3 * 30 + 2)  # 4 columns, 3 rows of 28 px with 2 px borders
        cell = np.asarray(picture)[2:30, 2:30]  # (28, 28, 3): the gray image in each channel
    assert all(np.array_equal(cell[:, :, c], images[0, 0].numpy()) for c in range(3))
    points = torch.randn(50, 2)
    scatter = run.write_samples("final", points, reference=torch.randn(100, 2))
    with Image.open(scatter) as picture:
        assert picture.format == "PNG" and picture.size == (400, 400)  # plot_points: 5 x 5 inches at 80 dpi
    with pytest.raises(ConfigError, match="needs the real data"):
        run.write_samples("x", points)


def test_metrics_append_and_truncate(tmp_path):
    run = RunDir(tmp_path)
    for step in (2, 4, 6, 8):
        run.append_metrics({"step": step, "d_loss": step / 10})
    with open(run.metrics_path, "a") as f:
        f.write('{"step": 10, "d_lo')  # a line cut by a crash
    run.truncate_metrics(4)
    assert run.metrics_path.read_text() == '{"step": 2, "d_loss": 0.2}\n{"step": 4, "d_loss": 0.4}\n'


def test_eval_round_trip(tmp_path):
    run = RunDir(tmp_path / "run")
    assert run.read_eval() is None
    record = {"version": 1, "gankit_version": gankit.__version__, "extractor": "evaluator-00ff00ff00ff00ff",
              "metrics": {"fid": 3.25, "kid": None}, "floor": {"fid": 0.5}, "num": 10000, "seed": 0}
    assert run.write_eval(record) == run.eval_path
    assert run.read_eval() == record
    assert run.eval_path.read_text() == json.dumps(record, indent=2) + "\n"
    assert [p.name for p in run.path.iterdir()] == ["eval.json"]  # written through a temporary file, none left


@pytest.mark.parametrize("text, needle", [
    ('{"version": 2, "gankit_version": "9.0.0", "metrics": {}}', "format 2 (written by gankit 9.0.0) is newer"),
    ('{"version": "one", "metrics": {}}', "is not a format number"),
    ('{"version": 1, "metrics": {}', "cannot read"),
    ('{"version": 1, "extractor": "x"}', "needs metrics"),
    ("[]", "not a mapping"),
])
def test_a_bad_eval_json_gets_one_line(tmp_path, text, needle):
    run = RunDir(tmp_path)
    run.eval_path.write_text(text)
    with pytest.raises(GankitError) as caught:
        run.read_eval()
    _one_line(caught.value, "eval.json", needle)


@pytest.mark.parametrize("record", [{"metrics": {}}, {"version": 2, "metrics": {}}, [("version", 1)]])
def test_write_eval_writes_only_the_current_version(tmp_path, record):
    with pytest.raises(ValueError, match="version"):
        RunDir(tmp_path).write_eval(record)
    assert not (tmp_path / "eval.json").exists()


def test_a_non_finite_figure_is_refused_and_the_previous_eval_json_kept(tmp_path):
    run = RunDir(tmp_path)
    run.write_eval({"version": 1, "metrics": {"fid": 1.5}})
    before = run.eval_path.read_bytes()
    for bad in (float("nan"), float("inf")):
        with pytest.raises(GankitError, match="not written, a figure is not a finite number"):
            run.write_eval({"version": 1, "metrics": {"fid": 1.0, "kid": bad}})
    assert run.eval_path.read_bytes() == before and [p.name for p in tmp_path.iterdir()] == ["eval.json"]


def test_the_generator_of_a_run_comes_from_its_checkpoint_else_its_export(tmp_path):
    run = RunDir(tmp_path / "run")
    shutil.copytree(RUN_V0, run.path)
    from_checkpoint, _ = run.load_generator()
    shutil.rmtree(run.checkpoint_dir)
    from_export, spec = run.load_generator()
    assert spec["format"] == 1 and spec["step"] == 2
    z = torch.randn(6, 3)
    with torch.no_grad():
        assert torch.equal(from_checkpoint(z), from_export(z))
    pair = create_model("mlp2d", (2,), 3, g_hidden=[4], d_hidden=[4])
    assert from_export.state_dict().keys() == pair.generator.state_dict().keys()


@pytest.mark.parametrize("model, data", [("mlp", {}), ("mlp_cond", {"conditional": True})])
def test_a_trainers_state_written_through_the_typed_checkpoint_is_the_same_file(tmp_path, model, data):
    from gankit.run import encode_checkpoint
    from gankit.training.config import config_from_dict
    from gankit.training.trainer import Trainer
    from tests.conftest import tiny_config_dict

    raw = tiny_config_dict(max_steps=1)
    raw["model"]["name"] = model
    raw["data"].update(data)
    raw["ema"] = {"half_life_kimg": 1.0}
    trainer = Trainer(config_from_dict(raw), tmp_path)
    state = trainer.state_dict()
    typed = Checkpoint(**state)
    assert list(typed.to_dict()) == list(state)
    assert typed.encode() == encode_checkpoint(state)
    assert Checkpoint.from_dict(state).encode() == encode_checkpoint(state)


def test_best_and_metrics_are_read_as_untrusted_data(tmp_path):
    run = RunDir(tmp_path)
    assert run.read_best() is None and run.read_metrics() == []
    run.best_path.write_text('{"step": 3, "fid": "low"}')
    assert run.read_best() is None  # a FID that is not a number is no record
    run.write_best(7, 2.5, "checkpoints/best.ckpt")
    assert run.read_best() == {"step": 7, "fid": 2.5, "checkpoint": "checkpoints/best.ckpt"}
    run.metrics_path.write_text('{"step": 1, "d_loss": 0.5}\n{"step": 2, "d_lo')  # the last line cut by a crash
    assert run.read_metrics() == [{"step": 1, "d_loss": 0.5}]
