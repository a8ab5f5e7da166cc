"""``gankit sample``: deterministic images from a run, as PNG or NPZ."""

import numpy as np
import pytest
import torch
from PIL import Image

from gankit.cli import main
from gankit.models import load_generator
from gankit.sampling import load_run_generator


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    import yaml

    from tests.conftest import tiny_config_dict

    root = tmp_path_factory.mktemp("sample")
    (root / "tiny.yaml").write_text(yaml.safe_dump(tiny_config_dict()))
    assert main(["train", str(root / "tiny.yaml"), "--run-dir", str(root / "run"), "--max-steps", "3", "--no-progress"]) == 0
    return root / "run"


def test_same_seed_same_images(run_dir, tmp_path):
    for name, seed in (("a", 5), ("b", 5), ("c", 6)):
        assert main(["sample", str(run_dir), "--num", "10", "--seed", str(seed), "--out", str(tmp_path / f"{name}.npz")]) == 0
    a, b, c = (np.load(tmp_path / f"{n}.npz")["images"] for n in "abc")
    assert a.dtype == np.uint8 and a.shape == (10, 1, 28, 28)
    assert np.array_equal(a, b) and not np.array_equal(a, c)


def test_png_grid(run_dir, tmp_path):
    assert main(["sample", str(run_dir), "--num", "16", "--out", str(tmp_path / "g.png")]) == 0
    with Image.open(tmp_path / "g.png") as image:
        # 4x4 grid of 28 px images with 2 px padding around each: 4 * 30 + 2
        assert image.size == (122, 122)


def test_export_and_checkpoint_give_the_same_generator(run_dir):
    from_ckpt, spec = load_run_generator(run_dir)
    exported, _ = load_generator(run_dir / "export")
    z = torch.randn(4, spec["latent_dim"])
    with torch.no_grad():
        assert torch.equal(from_ckpt(z), exported(z))


@pytest.mark.parametrize(
    "args, needle",
    [
        (["--out", "x.jpg"], ".jpg"),
        (["--out", "missing_dir/x.png"], "does not exist"),
        (["--num", "0", "--out", "x.png"], "--num"),
        (["--checkpoint", "nope.ckpt", "--out", "x.png"], "not found"),
    ],
)
def test_bad_arguments(run_dir, tmp_path, capsys, monkeypatch, args, needle):
    monkeypatch.chdir(tmp_path)
    assert main(["sample", str(run_dir), *args]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("gankit: error:") and needle in err and len(err.splitlines()) == 1


def test_missing_run_dir(tmp_path, capsys):
    assert main(["sample", str(tmp_path / "none"), "--out", str(tmp_path / "x.png")]) == 2
    assert "not found" in capsys.readouterr().err
