"""A run written by gankit 7757de4 (``tests/fixtures/run_7757de4``, made by ``tests/fixtures/make_fixtures.py``)
resumes, samples the images that commit sampled, and its export loads."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch
import yaml
from safetensors.torch import load_file

from gankit.cli import main
from gankit.models import load_generator
from tests.equivalence.runner import final_checkpoint

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
RUN = FIXTURES / "run_7757de4"
EXPECTED = FIXTURES / "expected"
STEPS = 4  # the fixture run's length


@pytest.fixture
def old_run(tmp_path: Path) -> Path:
    copy = tmp_path / "run"
    shutil.copytree(RUN, copy)
    return copy


def _npz(path: Path) -> dict[str, np.ndarray]:
    with np.load(path) as archive:
        return {key: archive[key] for key in archive.files}


def _assert_same_samples(got: Path, expected: Path) -> None:
    mine, theirs = _npz(got), _npz(expected)
    assert set(theirs) <= set(mine), f"keys {sorted(mine)}, 7757de4 wrote {sorted(theirs)}"
    for key, array in theirs.items():
        assert mine[key].dtype == array.dtype and mine[key].shape == array.shape, key
        differ = mine[key] != array
        assert not differ.any(), (
            f"{key}: {int(differ.sum())} of {array.size} values differ from 7757de4's "
            f"(largest by {int(np.abs(mine[key].astype(np.int64) - array.astype(np.int64)).max())})")


def test_fixture_is_what_the_tests_expect():
    assert yaml.safe_load((RUN / "config.yaml").read_text())["train"]["max_steps"] == STEPS
    assert [p.name for p in (RUN / "checkpoints").iterdir()] == [f"ckpt-{STEPS:09d}.ckpt"]
    size = sum(p.stat().st_size for p in FIXTURES.rglob("*") if p.is_file())
    assert size < 512 * 1024, f"fixtures hold {size} bytes; keep them small"


def test_old_checkpoint_resumes_and_trains_on(old_run):
    before = final_checkpoint(old_run)
    assert main(["train", "--resume", str(old_run), "--max-steps", str(STEPS + 2), "--no-progress"]) == 0
    after = final_checkpoint(old_run)
    assert before["step"] == STEPS and after["step"] == STEPS + 2
    for network in ("generator", "discriminator", "generator_ema"):
        assert after[network].keys() == before[network].keys()
        assert any(not torch.equal(after[network][k], before[network][k]) for k in before[network]), f"{network} did not train"
    records = [json.loads(line) for line in (old_run / "metrics.jsonl").read_text().splitlines()]
    assert [r["step"] for r in records] == list(range(1, STEPS + 3))  # the old records kept, two new ones appended
    assert (old_run / "export" / "generator.safetensors").is_file()


@pytest.mark.parametrize("name, flags", [
    ("sample-checkpoint", ["--num", "16", "--seed", "3"]),
    ("sample-balanced", ["--num", "10", "--seed", "1", "--balanced"]),
])
def test_old_run_samples_the_images_7757de4_sampled(old_run, tmp_path, name, flags):
    out = tmp_path / f"{name}.npz"
    assert main(["sample", str(old_run), *flags, "--out", str(out)]) == 0
    _assert_same_samples(out, EXPECTED / f"{name}.npz")


def test_old_export_loads_and_samples_the_images_7757de4_sampled(tmp_path):
    generator, spec = load_generator(RUN / "export")
    saved = load_file(str(RUN / "export" / "generator.safetensors"))
    assert generator.state_dict().keys() == saved.keys()
    for key, tensor in saved.items():
        assert torch.equal(generator.state_dict()[key], tensor), key
    old_spec = json.loads((RUN / "export" / "generator.json").read_text())
    for key in ("model", "img_shape", "latent_dim", "num_classes", "class_prior"):
        assert spec[key] == old_spec[key], key
    assert {k: v for k, v in spec["options"].items() if k in old_spec["options"]} == old_spec["options"]
    assert not generator.training

    export_only = tmp_path / "export_only"
    shutil.copytree(RUN / "export", export_only / "export")
    out = tmp_path / "export.npz"
    assert main(["sample", str(export_only), "--num", "16", "--seed", "3", "--out", str(out)]) == 0
    _assert_same_samples(out, EXPECTED / "sample-export.npz")
