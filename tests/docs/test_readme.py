"""The README is short, its links resolve, and its examples of extending gankit run."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import textwrap

from tests.docs.helpers import ROOT

README = ROOT / "README.md"


def test_readme_is_short_and_starts_with_the_two_setup_commands():
    text = README.read_text()
    assert len(text.splitlines()) < 200
    quick = text.split("## Quick start", 1)[1]
    block = quick.split("```bash\n", 1)[1].split("```", 1)[0].splitlines()
    assert [line.split("#")[0].strip() for line in block] == ["make demo", "make test"]
    makefile = (ROOT / "Makefile").read_text()
    assert re.search(r"^demo:", makefile, re.M) and re.search(r"^test:", makefile, re.M)


def test_local_links_and_images_resolve():
    pages = [README, ROOT / "BENCHMARKS.md", *sorted((ROOT / "docs").glob("*.md"))]
    for page in pages:
        for target in re.findall(r"\]\(([^)\s]+)\)", page.read_text()):
            if re.match(r"[a-z]+://", target) or target.startswith("#"):
                continue
            path = (page.parent / target.split("#", 1)[0]).resolve()
            assert path.exists(), f"{page.relative_to(ROOT)} links to {target}, which does not exist"


def test_the_first_run_picture_is_a_small_png():
    image = ROOT / "docs" / "images" / "first-run.png"
    assert image.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert image.stat().st_size < 100_000


def _python_blocks(text: str) -> list[str]:
    return re.findall(r"```python\n(.*?)```", text, re.S)


def test_the_extension_examples_train_and_score(tmp_path):
    blocks = _python_blocks(README.read_text())
    assert len(blocks) >= 5, "the README shows the Python API, and how to add a model, a loss, a metric and a loss term"
    check = textwrap.dedent(f'''
        import math
        import torch
        from gankit.training.config import config_from_dict
        from gankit.training.trainer import Trainer
        from gankit.models import load_generator
        from gankit.metrics import Features, compute_metrics

        # the Python API example: samples of the trained G, the same again from the Hugging Face layout
        assert images.dtype == torch.uint8 and images.shape == (16, 1, 8, 8)
        assert torch.equal(g.sample(16, seed=0), images) and g.spec["step"] == 100

        raw = {{
            "data": {{"name": "squares"}},
            "model": {{"name": "tiny_mlp", "latent_dim": 8, "options": {{"hidden": 16}}}},
            "loss": {{"name": "smoothed"}},
            "train": {{"batch_size": 16, "max_steps": 3, "log_every": 1, "checkpoint_every": 3, "num_samples": 4}},
        }}
        trainer = Trainer(config_from_dict(raw), {str(tmp_path / "run")!r})
        trainer.train(progress=False)
        assert trainer.step == 3
        import json
        logged = [json.loads(line) for line in open({str(tmp_path / "run" / "metrics.jsonl")!r})]
        assert len(logged) == 3 and all(r["drift"] > 0 for r in logged), logged
        g, _ = load_generator({str(tmp_path / "run" / "export")!r})
        images = g(torch.zeros(2, 8))
        assert images.shape == (2, 1, 28, 28) and images.abs().max() <= 1

        # the loss by hand: BCE(l, 0.9) = softplus(-l) * 0.9 + softplus(l) * 0.1
        real, fake = torch.tensor([2.0, -1.0]), torch.tensor([0.5, 0.0])
        from gankit.losses import create_loss
        soft = torch.nn.functional.softplus
        expected = 0.5 * ((0.9 * soft(-real) + 0.1 * soft(real)).mean() + soft(fake).mean())
        assert torch.allclose(create_loss("smoothed").discriminator(real, fake), expected)

        gap = compute_metrics(["mean_gap"], Features(torch.zeros(4, 3)), Features(torch.ones(4, 3)))
        assert math.isclose(gap["mean_gap"], math.sqrt(3), rel_tol=1e-6), gap
        print("ok")
    ''')
    script = tmp_path / "readme_examples.py"
    script.write_text("\n\n".join(blocks) + "\n\n" + check)
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src"), "OMP_NUM_THREADS": "1"}
    done = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, env=env, timeout=300, cwd=tmp_path)
    assert done.returncode == 0 and done.stdout.strip().endswith("ok"), done.stderr[-3000:]
