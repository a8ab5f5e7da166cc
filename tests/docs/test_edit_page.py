"""The Figures section of docs/edit.md is generated from docs/results/edit.json, and its verdicts are worked out
from the figures: pytest tests/docs/test_edit_page.py."""

from __future__ import annotations

from tests.docs.helpers import ROOT, load_tool

gen = load_tool("gen_edit")


def test_the_committed_page_matches_the_results_file():
    text = gen.PAGE.read_text()
    assert text.count(gen.BEGIN) == 1 and text.count(gen.END) == 1
    assert gen.page(gen.load(), text) == text, "docs/edit.md is out of date: run python docs/tools/gen_edit.py"


def test_every_table_names_its_command_and_the_evaluator():
    data = gen.load()
    section = gen.section(data)
    assert "benchmarks/edit_targets.py" in section and "```" in section
    for run, seed in gen.columns(data):
        for name, figure in data["results"][run][seed].items():
            assert figure["command"] in section, (run, seed, name)
            assert f"`{figure['evaluator']}`" in section and "the floor of" in section


def _figures(**changes):
    base = {"evaluator": "abc", "evaluator_accuracy": 0.98, "command": "python benchmarks/edit_targets.py --num 5"}
    figures = {
        "known_z": {"num": 5, "steps": 300, "mean_psnr": 30.0, "below_20db": 0, **base},
        "real": {"num": 5, "steps": 300, "read_as_original": 0.95, "mean_psnr": 20.0, "search_num": 10, "search_psnr": 17.0, **base},
        "encoder": {"num": 5, "steps": 300, "steps_to_reach": 100, "factor": 3.0, "one_shot_psnr": 15.0, "default_psnr": 20.0, **base},
        "speed": {"num": 100, "steps": 300, "threads": 1, "wall_s": 29.9, "cpu_s": 29.0, **base},
        "directions": {"base_precision": 0.30, "strengths": {"4": {"read_as_target": 0.80, "precision": 0.25, "mean_code_norm": 11.0}},
                       **base},
    }
    for key, value in changes.items():
        name, field = key.split("__")
        figures[name][field] = value
    return figures


def test_verdicts_follow_the_figures_at_the_targets_edges():
    data = {"recommended_strength": "4", "results": {"mnist_dcgan": {"0": _figures()}}}
    lines = "\n".join(gen.verdicts(data))
    assert "mean PSNR (>= 30 dB): **met**" in lines  # 30.0 is the target itself
    assert "read as the original (>= 95%): **met**" in lines
    assert "(>= +3 dB): **met**" in lines  # 20.0 - 17.0 = 3.0
    assert "(>= 3x fewer): **met**" in lines
    assert "(< 30 s): **met**" in lines
    assert "(>= 80%, within 0.05): **met**" in lines  # 0.25 - 0.30 = -0.05
    assert "inverted on the sphere: read as the new class (>= 95%): not measured" in lines
    worse = {"recommended_strength": "4", "results": {"mnist_dcgan": {"0": _figures(), "1": _figures(
        known_z__mean_psnr=29.99, real__search_psnr=17.01, encoder__factor=2.9, speed__wall_s=30.0, directions__base_precision=0.3001)}}}
    worse["results"]["mnist_dcgan"]["1"]["directions"]["strengths"]["4"]["read_as_target"] = 0.80
    lines = "\n".join(gen.verdicts(worse))
    for target in ("(>= 30 dB)", "(>= +3 dB)", "(>= 3x fewer)", "(< 30 s)", "(>= 80%, within 0.05)"):
        assert f"{target}: **not met** on mnist_dcgan seed 1 (measured on mnist_dcgan seed 0, mnist_dcgan seed 1)" in lines, target


def test_the_readme_links_the_page():
    assert "(docs/edit.md)" in (ROOT / "README.md").read_text()
