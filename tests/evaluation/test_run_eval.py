"""gankit eval RUN writes RUN/eval.json (versioned, atomic); the report says why a run has no FID curve."""

import datetime
import json
import shutil

import pytest
import yaml

from gankit.cli import main
from gankit.errors import GankitError
from gankit.evaluation.report import build_report, no_fid_note
from gankit.metrics.evaluate import evaluate_samples
from gankit.metrics.evaluator import load_evaluator
from gankit.sampling import draw_samples
from gankit.run import RunDir
from gankit.sampling import load_run_generator
from tests.metrics.helpers import train_tiny_squares_evaluator

SCHEMA_KEYS = {"version", "gankit_version", "created", "checkpoint", "dataset", "extractor", "evaluator", "num", "seed", "d_keep",
               "metrics", "floor", "floor_num", "modes", "modes_floor", "by_class", "notes"}

TINY_SQUARES = {
    "data": {"name": "squares"},
    "model": {"name": "mlp", "latent_dim": 8, "options": {"g_hidden": [16], "d_hidden": [16]}},
    "train": {"batch_size": 32, "max_steps": 4, "log_every": 1, "checkpoint_every": 4, "num_samples": 16, "fid_every": 2, "fid_samples": 50},
}
TINY_RING = {
    "data": {"name": "ring"},
    "model": {"name": "mlp2d", "latent_dim": 4, "options": {"g_hidden": [16], "d_hidden": [16]}},
    "train": {"batch_size": 64, "max_steps": 4, "log_every": 2, "checkpoint_every": 4, "num_samples": 64},
}


def train_run(root, name, raw):
    config = root / f"{name}.yaml"
    config.write_text(yaml.safe_dump(raw))
    assert main(["train", str(config), "--run-dir", str(root / name), "--no-progress"]) == 0
    return root / name


@pytest.fixture(scope="module")
def squares_run(tmp_path_factory):
    """A squares run with train.fid_every, trained while no squares evaluator was cached (so without FID)."""
    root = tmp_path_factory.mktemp("squares")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("GANKIT_CACHE", str(root / "cache"))
        run = train_run(root, "run", TINY_SQUARES)
        yield run, root / "cache", mp


def test_the_report_says_why_a_run_that_sets_fid_every_has_no_fid_curve(squares_run, tmp_path):
    run, _, _ = squares_run
    records = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
    assert not any("fid" in r for r in records) and max(r["step"] for r in records) == 4
    page = build_report(run, num=50)
    assert "the in-training FID was off, as dataset 'squares' has no domain evaluator" in page
    assert "set <code>train.fid_every</code>" not in page

    def with_train(**changes):
        copy = tmp_path / f"run-{len(list(tmp_path.iterdir()))}"
        copy.mkdir()
        raw = yaml.safe_load((run / "config.yaml").read_text())
        raw["train"].update(changes)
        (copy / "config.yaml").write_text(yaml.safe_dump(raw))
        return copy

    assert no_fid_note(with_train(fid_every=None), records) == "No FID measured: set <code>train.fid_every</code> to log one."
    assert no_fid_note(with_train(fid_every=100), records) == "No FID yet: <code>train.fid_every</code> is 100, and the run has logged 4 steps."


def test_eval_trains_nothing_when_the_evaluator_is_cached_and_writes_eval_json(squares_run, capsys):
    run, cache, mp = squares_run
    evaluator = train_tiny_squares_evaluator(mp, cache)  # now cached: the report's note changes
    assert "It can be scored now: <code>gankit eval RUN</code>" in no_fid_note(run, [{"step": 4}])

    assert main(["eval", str(run), "--num", "100", "--metrics", "fid,pr", "--seed", "3", "--json"]) == 0
    printed = json.loads(capsys.readouterr().out)
    record = RunDir(run).read_eval()
    assert set(record) == SCHEMA_KEYS and record["version"] == 1
    assert sorted(p.name for p in run.iterdir() if "eval" in p.name) == ["eval.json"]  # no temporary file left
    datetime.datetime.strptime(record["created"], "%Y-%m-%dT%H:%M:%SZ")
    cached = load_evaluator("squares")
    assert record["extractor"] == cached.id == evaluator.id
    assert record["evaluator"] == {"id": evaluator.id, "dataset": "squares", "key": evaluator.meta["key"],
                                   "test_accuracy": evaluator.accuracy, "arch_version": 1}
    assert (record["num"], record["seed"], record["d_keep"], record["checkpoint"], record["floor_num"]) == (100, 3, None, None, 100)
    assert {k: record[k] for k in printed} == printed  # the file holds what was printed
    # The same samples scored through the library directly give the same figures and floors.
    generator, spec = load_run_generator(run)
    direct = evaluate_samples(draw_samples(generator, spec, 100, 3), "squares", "fid,pr", extractor=cached, seed=3)
    assert record["metrics"] == direct.metrics and record["floor"] == direct.floor
    assert set(record["metrics"]) == {"fid", "precision", "recall"}


def test_a_2d_run_records_its_modes_and_no_evaluator(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("GANKIT_CACHE", str(tmp_path / "cache"))
    run = train_run(tmp_path, "ring", TINY_RING)
    assert main(["eval", str(run), "--metrics", "fid", "--no-floor"]) == 0
    assert "samples (2500)" in capsys.readouterr().out
    record = RunDir(run).read_eval()
    assert (record["extractor"], record["evaluator"], record["num"], record["floor"], record["floor_num"]) == ("identity", None, 2500, None, 0)
    assert record["modes"]["num_modes"] == 8 and record["modes"]["num_samples"] == 2500


def test_eval_json_errors_are_one_clear_line_and_a_failed_write_keeps_the_old_file(tmp_path):
    run = RunDir(tmp_path)
    assert run.read_eval() is None  # not evaluated yet
    run.write_eval({"version": 1, "metrics": {"fid": 2.5}})
    before = run.eval_path.read_text()
    assert json.loads(before) == {"version": 1, "metrics": {"fid": 2.5}}
    with pytest.raises(GankitError, match="not written, a figure is not a finite number"):
        run.write_eval({"version": 1, "metrics": {"fid": float("nan")}})
    assert run.eval_path.read_text() == before and [p.name for p in tmp_path.iterdir()] == ["eval.json"]
    with pytest.raises(ValueError, match='"version": 1'):  # no other layout can be written
        run.write_eval({"format": 1, "metrics": {}})
    run.eval_path.write_text(json.dumps({"version": 99, "gankit_version": "9.0.0", "metrics": {}}))
    with pytest.raises(GankitError, match=r"eval.json format 99 \(written by gankit 9.0.0\) is newer than this gankit"):
        run.read_eval()
    run.eval_path.write_text("{cut")
    with pytest.raises(GankitError, match="cannot read .*; measure the run again with: gankit eval"):
        run.read_eval()
    shutil.rmtree(tmp_path)
