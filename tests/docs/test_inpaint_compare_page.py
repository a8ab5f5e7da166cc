"""docs/edit.md's comparison of masked inversion with the restoration models is generated from
docs/results/inpaint_compare.json, inside the "Masked inversion" section, and survives gen_edit.py:
pytest tests/docs/test_inpaint_compare_page.py."""

from __future__ import annotations

from tests.docs.helpers import ROOT, load_tool

gen = load_tool("gen_inpaint_compare")


def test_the_committed_region_matches_the_results_file():
    text = gen.PAGE.read_text()
    assert gen.page(gen.load(), text) == text, "docs/edit.md is out of date: run python docs/tools/gen_inpaint_compare.py"


def test_the_region_sits_in_the_masked_inversion_section_and_gen_edit_leaves_it_alone():
    text = gen.PAGE.read_text()
    assert text.count(gen.START) == 1 and text.count(gen.END) == 1
    section = text.split("## Masked inversion", 1)[1].split("\n## ", 1)[0]
    assert gen.START in section and gen.END in section
    edit = load_tool("gen_edit")
    regenerated = edit.page(edit.load(), text)
    ours = text[text.index(gen.START):text.index(gen.END)]
    assert ours in regenerated


def _main(scores):
    runs = {"L1": {"path": "r/x_l1", "step": 10}, "GAN": {"path": "r/x_gan", "step": 10},
            "inversion (g)": {"path": "r/g", "step": 5, "max_steps": 5, "finished": True, "conditional": False}}
    return {"scores": scores, "runs": runs, "settings": {"prior_weight": 0.01}}


def test_the_winners_follow_the_figures():
    scores = {"mean_fill": {"masked_psnr": 5.0, "fid": 700.0, "class_match": 0.3},
              "L1": {"masked_psnr": 12.0, "fid": 90.0, "class_match": 0.80},
              "GAN": {"masked_psnr": 11.0, "fid": 45.0, "class_match": 0.82},
              "inversion (g)": {"masked_psnr": 10.0, "fid": 30.0, "class_match": 0.82}}
    assert gen.winners(scores) == {"masked_psnr": ["L1"], "fid": ["inversion (g)"], "class_match": ["GAN", "inversion (g)"]}
    assert gen.verdicts(_main(scores)) == [
        "- masked PSNR (dB): **the pix2pix models win** (inversion of `g` 10.00, pix2pix L1 12.00).",
        "- FID: **masked inversion wins** (inversion of `g` 30.00, pix2pix GAN 45.00).",
        "- class match: **a tie** (inversion of `g` 82.0%, pix2pix GAN 82.0%).",
    ]


def test_the_readme_says_which_wins_and_names_the_page():
    paragraphs = [" ".join(p.split()) for p in (ROOT / "README.md").read_text().split("\n\n")]
    paragraphs = [p for p in paragraphs if "masked inversion" in p.lower()]
    assert any("docs/edit.md" in p and "pix2pix" in p for p in paragraphs)


def test_the_picture_the_region_shows_exists():
    figure = gen.load().get("figure")
    if figure:
        assert (gen.PAGE.parent / figure["path"]).is_file(), figure["path"]
