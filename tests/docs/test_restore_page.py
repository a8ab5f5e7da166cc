"""docs/restore.md is generated from docs/results/restore.json, and its targets are worked out from the figures:
pytest tests/docs/test_restore_page.py."""

from __future__ import annotations

import json

from tests.docs.helpers import ROOT, load_tool

gen = load_tool("gen_restore")


def test_the_committed_page_matches_the_results_file():
    assert gen.PAGE.read_text() == gen.page(gen.load()), "docs/restore.md is out of date: run python docs/tools/gen_restore.py"


def test_every_figure_file_the_page_shows_exists():
    for entry in gen.load()["entries"] + gen.load().get("feature_loss", {}).get("entries", []):
        if entry.get("figure"):
            assert (gen.PAGE.parent / entry["figure"]).is_file(), entry["figure"]


def test_target_statuses_follow_the_figures():
    entry = {"preset": "fashion_sr2", "task": "super_resolution", "scale": 2, "scores": {
        "bicubic": {"psnr": 19.4}, "L1": {"psnr": 22.5, "fid": 10.0}, "GAN": {"psnr": 19.9, "fid": 5.0}}}
    statuses = dict(gen.targets(entry))
    assert statuses["L1 PSNR at least 3 dB above bicubic"].startswith("**met** (+3.10 dB)")
    assert statuses["GAN FID at most half the L1 model's"].startswith("**met**")
    assert statuses["GAN PSNR at most 2.5 dB below L1"].startswith("**not met** (-2.60 dB)")
    entry["scores"]["GAN"]["fid"] = 5.01
    assert dict(gen.targets(entry))["GAN FID at most half the L1 model's"].startswith("**not met**")


def test_the_readme_links_the_page():
    assert "(docs/restore.md)" in (ROOT / "README.md").read_text()
    assert json.loads((ROOT / "docs" / "results" / "restore.json").read_text())["intro"]


def test_feature_loss_rows_get_the_presets_targets_and_name_both_evaluators():
    entry = {"preset": "mnist_inpaint", "seed": 0, "task": "inpaint", "num": 10, "what": "MNIST.", "evaluator_seed": 1,
             "evaluator": "evaluator-b (seed 1)", "feature_loss": {"GAN + evaluator features": {"weight": 10, "evaluator_seed": 0}},
             "commands": ["gankit eval RUN"], "floors": {}, "scores": {
                 "mean_fill": {"masked_psnr": 6.0}, "L1": {"masked_psnr": 8.5, "fid": 90.0, "class_match": 0.8},
                 "GAN + evaluator features": {"masked_psnr": 7.9, "fid": 45.0, "class_match": 0.9}}}
    statuses = dict(gen.feature_targets(entry))
    assert statuses["GAN + evaluator features: masked PSNR at least 2 dB above mean fill"].startswith("**not met** (+1.90 dB)")
    assert statuses["GAN + evaluator features: at least 90% of completions read as the original digit"].startswith("**met** (90.0%)")
    assert statuses["GAN + evaluator features: FID at most half the L1 model's"].startswith("**met** (45 vs 90)")
    assert statuses["L1: masked PSNR at least 2 dB above mean fill"].startswith("**met**")
    text = "\n".join(gen.feature_loss_section({"about": ["About."], "entries": [entry]}))
    assert "(GAN + evaluator features: restore.feature_weight=10). Every row is scored by the evaluator of seed 1: evaluator-b (seed 1)." in text
