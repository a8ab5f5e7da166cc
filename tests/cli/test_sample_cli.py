"""``gankit sample``: deterministic images from a run, as PNG or NPZ."""

import numpy as np
import pytest
import torch
from PIL import Image

from gankit.cli import main
from gankit.models import load_generator
from gankit.sampling import generate, load_run_generator


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


@pytest.fixture(scope="module")
def cond_run_dir(tmp_path_factory):
    import yaml

    from tests.conftest import tiny_config_dict

    root = tmp_path_factory.mktemp("sample_cond")
    raw = tiny_config_dict()
    raw["model"]["name"] = "mlp_cond"
    raw["data"]["conditional"] = True
    (root / "cond.yaml").write_text(yaml.safe_dump(raw))
    assert main(["train", str(root / "cond.yaml"), "--run-dir", str(root / "run"), "--max-steps", "2", "--no-progress"]) == 0
    return root / "run"


def test_class_and_balanced_choose_the_labels(cond_run_dir, tmp_path):
    from gankit.data import load_dataset

    labels = load_dataset("squares", "train").labels
    shares = torch.bincount(labels, minlength=10) / len(labels)
    for name, extra in (("default", []), ("seven", ["--class", "7"]), ("balanced", ["--balanced"])):
        assert main(["sample", str(cond_run_dir), "--num", "200", "--out", str(tmp_path / f"{name}.npz"), *extra]) == 0
    default, seven, balanced = (np.load(tmp_path / f"{n}.npz")["labels"] for n in ("default", "seven", "balanced"))
    assert (np.abs(np.bincount(default, minlength=10) - 200 * shares.numpy()) < 1).all()  # the training set's shares
    assert (seven == 7).all()
    assert (balanced == np.arange(200) % 10).all()


@pytest.mark.parametrize("args, needle", [(["--class", "10"], "allowed: 0..9"), (["--class", "-1"], "allowed: 0..9")])
def test_bad_class(cond_run_dir, tmp_path, capsys, args, needle):
    assert main(["sample", str(cond_run_dir), "--out", str(tmp_path / "x.png"), *args]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("gankit: error: --class") and needle in err and len(err.splitlines()) == 1


@pytest.mark.parametrize("flag", [["--class", "1"], ["--balanced"]])
def test_classes_on_an_unconditional_run(run_dir, tmp_path, capsys, flag):
    assert main(["sample", str(run_dir), "--out", str(tmp_path / "x.png"), *flag]) == 2
    assert "unconditional" in capsys.readouterr().err


def test_truncation_cuts_the_noise(run_dir):
    import math

    generator, spec = load_run_generator(run_dir)
    seen = []
    original = generator.forward
    generator.forward = lambda z: seen.append(z) or original(z)
    plain, _ = generate(generator, spec, 2000, seed=3)
    z_plain = torch.cat(seen)
    seen.clear()
    cut, _ = generate(generator, spec, 2000, seed=3, truncation=1.0)
    z_cut = torch.cat(seen)
    assert z_plain.abs().max() > 2.5 and z_cut.abs().max() <= 1.0
    # A standard normal cut to [-1, 1] has variance 1 - 2 phi(1) / (2 Phi(1) - 1) = 0.29112 (closed form).
    phi = math.exp(-0.5) / math.sqrt(2 * math.pi)
    mass = math.erf(1 / math.sqrt(2))
    assert z_cut.var().item() == pytest.approx(1 - 2 * phi / mass, abs=0.01)
    assert z_cut.mean().abs() < 0.01
    again, _ = generate(generator, spec, 2000, seed=3, truncation=1.0)
    assert torch.equal(cut, again) and not torch.equal(cut, plain)


@pytest.mark.parametrize("value", ["0", "-1", "nan", "11"])
def test_bad_truncation(run_dir, tmp_path, capsys, value):
    assert main(["sample", str(run_dir), "--truncation", value, "--out", str(tmp_path / "x.png")]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("gankit: error: --truncation") and len(err.splitlines()) == 1


def test_d_keep_keeps_the_draws_the_run_discriminator_rates_highest(run_dir, tmp_path):
    from gankit.data.base import to_unit_range
    from gankit.sampling import load_run_discriminator

    assert main(["sample", str(run_dir), "--num", "20", "--seed", "4", "--out", str(tmp_path / "all.npz")]) == 0
    assert main(["sample", str(run_dir), "--num", "5", "--seed", "4", "--d-keep", "0.25", "--out", str(tmp_path / "kept.npz")]) == 0
    everything = torch.from_numpy(np.load(tmp_path / "all.npz")["images"])
    kept = np.load(tmp_path / "kept.npz")["images"]
    with torch.no_grad():
        logits = load_run_discriminator(run_dir)(to_unit_range(everything)).logits
    best = sorted(torch.topk(logits, 5).indices.tolist())  # the 5 of the 20 draws D scores highest, as drawn
    assert np.array_equal(kept, everything[best].numpy())


@pytest.mark.parametrize("value", ["0", "1.5", "nan"])
def test_bad_d_keep(run_dir, tmp_path, capsys, value):
    assert main(["sample", str(run_dir), "--d-keep", value, "--out", str(tmp_path / "x.png")]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("gankit: error: --d-keep") and len(err.splitlines()) == 1


def test_d_keep_on_a_conditional_run(cond_run_dir, tmp_path, capsys):
    assert main(["sample", str(cond_run_dir), "--d-keep", "0.5", "--out", str(tmp_path / "x.png")]) == 2
    assert "unconditional runs only" in capsys.readouterr().err
    assert not (tmp_path / "x.png").exists()


# ------------------------------------------------------------------------------------ 2D runs, fixtures of 7757de4
FIXTURES = __import__("pathlib").Path(__file__).parents[1] / "fixtures"


@pytest.fixture
def ring_run(tmp_path):
    """A 2-step mlp2d run on ``ring`` written by gankit 7757de4 (see tests/test_run.py)."""
    import shutil

    shutil.copytree(FIXTURES / "run_v0", tmp_path / "ring")
    return tmp_path / "ring"


def test_a_2d_run_samples_float32_points(ring_run, tmp_path):
    from gankit.models import create_model
    from gankit.run import read_checkpoint_file

    assert main(["sample", str(ring_run), "--num", "2500", "--out", str(tmp_path / "points.npz")]) == 0
    archive = np.load(tmp_path / "points.npz")
    assert archive.files == ["points"]
    points = archive["points"]
    assert points.dtype == np.float32 and points.shape == (2500, 2)
    state = read_checkpoint_file(ring_run / "checkpoints" / "ckpt-000000002.ckpt")
    generator = create_model("mlp2d", (2,), 3, g_hidden=[4], d_hidden=[4]).generator
    generator.load_state_dict(state["generator_ema"])
    with torch.no_grad():
        raw = generator.eval()(torch.randn(2500, 3, generator=torch.Generator().manual_seed(0)))  # (N, 2)
    torch.testing.assert_close(torch.from_numpy(points), raw)


def test_a_2d_run_pictures_its_points_over_the_data(ring_run, tmp_path):
    assert main(["sample", str(ring_run), "--num", "500", "--out", str(tmp_path / "points.png")]) == 0
    with Image.open(tmp_path / "points.png") as picture:
        assert picture.size == (400, 400)  # a 5 x 5 inch scatter plot at 80 dpi, not a grid of 1-pixel images
        pixels = np.asarray(picture.convert("RGB")).reshape(-1, 3)
    assert ((pixels == [0xd6, 0x27, 0x28]).all(axis=1)).sum() > 50  # the generated points, in plot_points' red
    assert ((pixels == [0xbb, 0xbb, 0xbb]).all(axis=1)).sum() > 50  # the real ones, in its gray


def test_a_7757de4_export_samples_as_7757de4_did(tmp_path):
    import shutil

    shutil.copytree(FIXTURES / "export_v0", tmp_path / "run" / "export")
    assert main(["sample", str(tmp_path / "run"), "--num", "10", "--seed", "3", "--out", str(tmp_path / "a.npz")]) == 0
    assert main(["sample", str(tmp_path / "run"), "--num", "10", "--seed", "3", "--truncation", "0.5",
                 "--out", str(tmp_path / "b.npz")]) == 0
    reference = np.load(FIXTURES / "export_v0" / "ref_samples.npz")
    default, truncated = np.load(tmp_path / "a.npz"), np.load(tmp_path / "b.npz")
    assert np.array_equal(default["images"], reference["default_images"])
    assert np.array_equal(default["labels"], reference["default_labels"])
    assert np.array_equal(truncated["images"], reference["truncated_images"])


def test_a_newer_export_is_refused_in_one_line(tmp_path, capsys):
    import json
    import shutil

    shutil.copytree(FIXTURES / "export_v0", tmp_path / "run" / "export")
    spec_path = tmp_path / "run" / "export" / "generator.json"
    spec_path.write_text(json.dumps({**json.loads(spec_path.read_text()), "format": 7, "gankit_version": "3.0.0"}))
    assert main(["sample", str(tmp_path / "run"), "--out", str(tmp_path / "x.png")]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "export format 7 (written by gankit 3.0.0)" in err and "(format 1)" in err
    assert not (tmp_path / "x.png").exists()
