"""Every registered lesson runs at --tiny size through the CLI and writes readable figures and its numbers.

pytest run: PYTHONPATH=src python -m pytest tests/lessons
"""

from __future__ import annotations

import pytest
from PIL import Image

from gankit.cli import main
from gankit.lessons import lesson_names

DOC_NAMES = {
    "the-game": "01-the-game.md", "the-loop": "02-the-loop.md", "mnist": "03-mnist.md",
    "vanishing-gradients": "04-vanishing-gradients.md", "mode-collapse": "05-mode-collapse.md",
    "instability": "06-instability.md", "gan-or-vae": "07-gan-or-vae.md", "measuring": "08-measuring.md",
}


@pytest.mark.parametrize("name", lesson_names())
def test_every_lesson_writes_its_figures_and_numbers(tiny_lesson, name):
    out, record = tiny_lesson(name)
    assert record["lesson"] == name and record["tiny"] is True
    assert record["command"] == f"gankit lesson {name} --out {out} --tiny"
    figures = sorted(p for p in out.iterdir() if p.suffix in (".png", ".gif"))
    assert figures, f"lesson {name} wrote no figure"
    for path in figures:
        with Image.open(path) as image:
            image.verify()
    assert not [p for p in out.iterdir() if ".tmp-" in p.name]  # no half-written file left behind


@pytest.mark.parametrize("name", lesson_names())
def test_every_lesson_has_its_page_naming_its_command(name):
    from pathlib import Path

    page = Path(__file__).parents[2] / "docs" / "lessons" / DOC_NAMES[name]
    assert page.is_file(), f"lesson {name} has no page {page}"
    assert f"gankit lesson {name} --out docs/lessons/figures" in page.read_text()


def test_unknown_lesson_is_one_line_naming_the_lessons(tmp_path, capsys):
    assert main(["lesson", "the-gam", "--out", str(tmp_path)]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "unknown lesson 'the-gam'" in err and "the-game" in err


def test_out_that_is_a_file_is_refused(tmp_path, capsys):
    target = tmp_path / "file"
    target.write_text("x")
    assert main(["lesson", "the-game", "--out", str(target), "--tiny"]) == 2
    assert "is not a folder" in capsys.readouterr().err


def test_pages_hold_the_numbers_of_the_committed_figures():
    """Every numbers block equals the summary in figures/NAME.json, and every embedded figure exists."""
    import importlib.util
    import re
    from pathlib import Path

    lessons = Path(__file__).parents[2] / "docs" / "lessons"
    spec = importlib.util.spec_from_file_location("lesson_sync", lessons / "sync.py")
    sync = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(sync)
    for page in sorted(lessons.glob("*.md")):
        text = page.read_text()
        assert sync.synced(text) == text, f"{page.name} is out of date: run python docs/lessons/sync.py"
        for name in re.findall(r"<!-- numbers: ([a-z0-9-]+) -->", text):
            assert (lessons / "figures" / f"{name}.json").is_file(), f"{page.name} shows the numbers of {name}, never made"
        for figure in re.findall(r"\]\((figures/[^)]+)\)", text):
            assert (lessons / figure).is_file(), f"{page.name} embeds {figure}, which does not exist"


def test_run_is_refused_by_lessons_that_read_none_and_must_exist(tmp_path, capsys):
    assert main(["lesson", "the-game", "--out", str(tmp_path), "--tiny", "--run", str(tmp_path)]) == 2
    assert "lesson 'the-game' reads no run; the lessons that do: mode-collapse" in capsys.readouterr().err
    assert main(["lesson", "mode-collapse", "--out", str(tmp_path), "--tiny", "--run", str(tmp_path / "missing")]) == 2
    assert "is not a run directory" in capsys.readouterr().err


def test_mode_collapse_reads_only_a_stacked_mnist_run(tmp_path, capsys):
    run = tmp_path / "ring"
    assert main(["train", "ring2d", "--run-dir", str(run), "--max-steps", "2", "--set", "train.num_samples=16"]) == 0
    capsys.readouterr()
    assert main(["lesson", "mode-collapse", "--out", str(tmp_path / "out"), "--tiny", "--run", str(run)]) == 2
    err = capsys.readouterr().err
    assert "trained on 'ring'" in err and "configs/stacked_mnist.yaml" in err
