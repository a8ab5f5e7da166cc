"""docs/results.md and BENCHMARKS.md are generated from docs/results/*.json and cannot drift from them."""

from __future__ import annotations

import copy
import json
import re
from decimal import Decimal

import pytest

from tests.docs.helpers import ROOT, load_tool

gen = load_tool("gen_results")


def test_committed_pages_match_the_results_files():
    for path, text in gen.pages().items():
        assert path.read_text() == text, f"{path.relative_to(ROOT)} is out of date: run python docs/tools/gen_results.py"


def test_every_preset_has_results_and_every_result_is_a_preset():
    presets = {p["preset"] for p in json.loads(gen.PRESETS.read_text())["presets"]}
    configs = {path.stem for path in (ROOT / "configs").glob("*.yaml")}
    assert presets == configs


def test_every_command_names_files_that_exist():
    texts = gen.PRESETS.read_text() + gen.BENCHMARKS.read_text()
    paths = set(re.findall(r"\b((?:configs|benchmarks)/[\w./-]+\.(?:yaml|py))", texts))
    assert paths, "no command names a config or a benchmark script"
    missing = sorted(p for p in paths if not (ROOT / p).exists())
    assert not missing


def test_every_quality_figure_names_its_evaluator_and_floor():
    data = gen.load(gen.PRESETS)
    gen.check_presets(data)  # raises on a missing evaluator, floor or value
    for preset in data["presets"]:
        if preset["figures"]:
            evaluator = data["evaluators"][preset["evaluator"]]
            assert evaluator["current"] or evaluator.get("note"), f"{preset['preset']}: an older evaluator needs a note"


def test_a_figure_without_a_value_per_seed_is_refused():
    data = json.loads(gen.PRESETS.read_text())
    broken = copy.deepcopy(data)
    dcgan = next(p for p in broken["presets"] if p["preset"] == "mnist_dcgan")
    dcgan["figures"][0]["values"] = [18.8]  # two seeds, one value
    with pytest.raises(gen.ResultsError, match=r"mnist_dcgan, figure 'FID': 1 values for 2 seeds"):
        gen.check_presets(broken)
    unknown = copy.deepcopy(data)
    next(p for p in unknown["presets"] if p["preset"] == "mnist_dcgan")["evaluator"] = "mnist-0000"
    with pytest.raises(gen.ResultsError, match=r"evaluator 'mnist-0000' is not one of"):
        gen.check_presets(unknown)


@pytest.mark.parametrize("value, text", [
    (1092, "1,092"), (1377.5, "1,377.5"), (148.0, "148.0"), (0.815, "0.815"), (12.2, "12.2"), ("10/10", "10/10"),
    (None, "-"), (62480, "62,480"), (1000.0, "1,000"),
    (Decimal("0.810"), "0.810"), (Decimal("1377.5"), "1,377.5"), (Decimal("0.0440"), "0.0440"),
])
def test_figures_print_as_written(value, text):
    assert gen.fmt(value) == text


def test_a_preset_renders_as_one_table_with_floor_cost_and_commands():
    evaluators = {"e": {"name": "MNIST `abc`", "current": True, "floor": "FID 1.0"}}
    preset = {
        "preset": "toy", "what": "A toy.", "evaluator": "e", "train": "gankit train configs/toy.yaml",
        "measure": ["gankit eval runs/toy --num 2000"], "seeds": [0, 1], "cost": {"steps": 1200, "cpu_s": [1500, 1600]},
        "figures": [{"name": "FID", "values": [2.5, 3.0], "floor": 1.0}],
        "speed": {"precision": "fp32", "batch": 64, "ms_per_step": 10.0, "img_per_s": 6400, "fp32_peak_pct": 50, "bf16_peak_pct": 20},
        "targets": [{"target": "FID <= 4", "status": "met"}],
    }
    assert gen.render_preset(preset, evaluators) == [
        "## `toy`", "", "A toy.", "",
        "| figure | seed 0 | seed 1 | floor |",
        "| --- | --- | --- | --- |",
        "| FID | 2.5 | 3.0 | 1.0 |",
        "| cost | 1,500 CPU-s | 1,600 CPU-s |  |",
        "",
        "- Steps: 1,200.",
        "- Evaluator: MNIST `abc` (floor: FID 1.0).",
        "- Train: `gankit train configs/toy.yaml`",
        "- Measure: `gankit eval runs/toy --num 2000`",
        "- Speed: fp32, batch 64: 10.0 ms a step, 6,400 images/s, 20% of the bf16 matmul peak (50% of the fp32 one).",
        "- Target: FID <= 4: **met**.",
        "",
    ]


def test_check_reports_a_stale_page(tmp_path, monkeypatch, capsys):
    stale = tmp_path / "results.md"
    stale.write_text("# Results\n\nFID 1.0\n")
    monkeypatch.setattr(gen, "RESULTS_PAGE", stale)
    monkeypatch.setattr(gen, "BENCHMARKS_PAGE", tmp_path / "BENCHMARKS.md")  # missing: stale too
    monkeypatch.setattr(gen, "ROOT", tmp_path)
    assert gen.main(["--check"]) == 1
    err = capsys.readouterr().err
    assert "results.md is out of date" in err and "BENCHMARKS.md is out of date" in err
    assert stale.read_text() == "# Results\n\nFID 1.0\n"  # --check writes nothing
    assert gen.main([]) == 0
    assert gen.main(["--check"]) == 0


def test_a_config_keeps_its_description_and_body_and_gets_its_score_lines():
    text = "# What the preset is.\n# Scores (old): FID 9.\n#   more old figures\n# Train: old\ndata:\n  name: mnist  # a key comment\n"
    assert gen.render_config(text, ["# Scores: FID 1.", "# Train: new"]) == (
        "# What the preset is.\n# Scores: FID 1.\n# Train: new\ndata:\n  name: mnist  # a key comment\n"
    )
    # a config without score lines gets them after its description
    assert gen.render_config("# A preset.\ndata: {}\n", ["# Scores: -"]) == "# A preset.\n# Scores: -\ndata: {}\n"


def test_generated_config_comments_leave_every_value_as_it_is():
    import yaml

    for path, text in gen.pages().items():
        if path.suffix == ".yaml":
            assert yaml.safe_load(text) == yaml.safe_load(path.read_text())
            body = [line for line in text.splitlines() if not line.startswith("#")]
            assert body == [line for line in path.read_text().splitlines() if not line.startswith("#")]
