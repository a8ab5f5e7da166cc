"""gankit project / interpolate / edit and gankit train --objective encoder at tiny size (pytest run).

Every output is checked against values computed here: the reconstruction against G of the saved code, the PSNR
against 10 log10(255^2 / MSE) of the written files, the interpolation frames against G of the great-circle codes,
the class change against G of the projected code with the new class. Bad input is one line and writes nothing.
"""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
import torch
from PIL import Image
from safetensors.torch import load_file

from gankit.cli import main
from gankit.data.synthetic import draw_squares
from gankit.edit import runs as edit_runs
from gankit.edit.runs import load_generator_run
from gankit.metrics import Features
from gankit.training.config import config_from_dict
from gankit.training.trainer import Trainer

LATENT = 8


def _train(path, model: dict, conditional: bool = False):
    raw = {"data": {"name": "squares", "conditional": conditional}, "model": {"latent_dim": LATENT, **model},
           "train": {"batch_size": 16, "max_steps": 2, "num_samples": 4, "checkpoint_every": 2}, "ema": {"half_life_kimg": 0.01}}
    Trainer(config_from_dict(raw), path).train(progress=False)
    return path


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    root = tmp_path_factory.mktemp("edit")
    unconditional = _train(root / "dcgan", {"name": "dcgan", "options": {"g_width": 8, "d_width": 8, "g_dense": 32, "d_dense": 32}})
    conditional = _train(root / "cond", {"name": "mlp_cond", "options": {"g_hidden": [16], "d_hidden": [16]}}, conditional=True)
    images, _ = draw_squares(3, seed=5)
    inputs = root / "inputs"
    inputs.mkdir()
    for i, image in enumerate(images):
        Image.fromarray(image[0].numpy(), "L").save(inputs / f"sq{i}.png")
    return {"uncond": unconditional, "cond": conditional, "inputs": inputs, "images": images}


class BrightnessReader:
    """A stand-in for the domain evaluator: class k = the k-th tenth of the batch by mean brightness."""

    def __call__(self, images: torch.Tensor) -> Features:
        brightness = images.double().flatten(1).mean(1)
        rank = brightness.argsort().argsort()
        labels = (rank * 10 // len(images)).clamp(max=9)
        return Features(torch.zeros(len(images), 1, dtype=torch.float64), torch.nn.functional.one_hot(labels, 10).double())


@pytest.fixture(autouse=True)
def reader(monkeypatch):
    monkeypatch.setattr(edit_runs, "domain_evaluator", lambda run, train_if_missing=True: BrightnessReader())


def _png(path) -> np.ndarray:
    with Image.open(path) as image:
        return np.asarray(image)


def one_line_error(capsys, argv) -> str:
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    lines = [line for line in err.splitlines() if line.startswith("gankit: error:")]
    assert len(lines) == 1, err
    return lines[0]


def test_project_writes_reconstructions_codes_and_their_psnr(runs, tmp_path):
    out = tmp_path / "proj"
    assert main(["project", str(runs["uncond"]), "--input", str(runs["inputs"]), "--out", str(out), "--steps", "20"]) == 0
    record = json.loads((out / "project.json").read_text())
    assert [r["output"] for r in record["images"]] == ["sq0.png", "sq1.png", "sq2.png"]
    latents = load_file(str(out / "latents.safetensors"))
    assert latents["z"].shape == (3, LATENT)
    run = load_generator_run(runs["uncond"])
    redrawn = run.generate(latents["z"])
    for i, entry in enumerate(record["images"]):
        written = _png(out / entry["output"])
        assert np.array_equal(written, redrawn[i, 0].numpy())  # the PNG is G of the saved code
        mse = ((written.astype(np.float64) - runs["images"][i, 0].numpy()) ** 2).mean()
        assert math.isclose(entry["psnr_db"], 10 * math.log10(255 ** 2 / mse), rel_tol=1e-9)


def test_masked_projection_keeps_the_known_pixels(runs, tmp_path):
    mask = np.zeros((28, 28), dtype=np.uint8)
    mask[8:20, 8:20] = 255
    Image.fromarray(mask, "L").save(tmp_path / "hole.png")
    out = tmp_path / "filled"
    argv = ["project", str(runs["uncond"]), "--input", str(runs["inputs"] / "sq1.png"), "--mask", str(tmp_path / "hole.png"),
            "--out", str(out), "--steps", "10"]
    assert main(argv) == 0
    written, original = _png(out / "sq1.png"), runs["images"][1, 0].numpy()
    known = mask == 0
    assert np.array_equal(written[known], original[known])
    record = json.loads((out / "project.json").read_text())["images"][0]
    drawn = load_generator_run(runs["uncond"]).generate(load_file(str(out / "latents.safetensors"))["z"])[0, 0].numpy()
    assert np.array_equal(written[~known], drawn[~known])  # the hole is G's
    mse = ((drawn[known].astype(np.float64) - original[known]) ** 2).mean()  # G's fit to the known pixels
    assert math.isclose(record["psnr_db"], 10 * math.log10(255 ** 2 / mse), rel_tol=1e-9)


def _slerp(a: torch.Tensor, b: torch.Tensor, t: float) -> torch.Tensor:
    omega = torch.arccos((a @ b) / (a.norm() * b.norm()))
    return (torch.sin((1 - t) * omega) * a / a.norm() + torch.sin(t * omega) * b / b.norm()) / torch.sin(omega) * (a.norm() + t * (b.norm() - a.norm()))


def test_interpolate_strip_is_g_along_the_great_circle(runs, tmp_path):
    out = tmp_path / "walk.png"
    assert main(["interpolate", str(runs["uncond"]), "--seeds", "1,2", "--frames", "4", "--out", str(out)]) == 0
    strip = _png(out)
    assert strip.shape == (28, 5 * 28)
    a, b = (torch.randn(1, LATENT, generator=torch.Generator().manual_seed(s))[0].double() for s in (1, 2))
    run = load_generator_run(runs["uncond"])
    for k in range(5):
        expected = run.generate(_slerp(a, b, k / 4).float()[None])[0, 0].numpy().astype(int)
        assert np.abs(strip[:, 28 * k:28 * (k + 1)].astype(int) - expected).max() <= 1


def test_interpolate_gif_between_inverted_images_and_conditional_classes(runs, tmp_path):
    from PIL import ImageSequence

    gif = tmp_path / "between.gif"
    files = f"{runs['inputs'] / 'sq0.png'},{runs['inputs'] / 'sq2.png'}"
    assert main(["interpolate", str(runs["uncond"]), "--images", files, "--steps", "5", "--frames", "3", "--out", str(gif)]) == 0
    with Image.open(gif) as image:
        assert sum(1 for _ in ImageSequence.Iterator(image)) == 4
    morph = tmp_path / "morph.gif"
    assert main(["interpolate", str(runs["cond"]), "--seeds", "0,1,2", "--classes", "0,1,2", "--frames", "2", "--out", str(morph)]) == 0
    with Image.open(morph) as image:
        assert sum(1 for _ in ImageSequence.Iterator(image)) == 5


def test_conditional_edit_keeps_the_projected_code_and_changes_the_class(runs, tmp_path):
    image = str(runs["inputs"] / "sq0.png")
    assert main(["project", str(runs["cond"]), "--input", image, "--label", "1", "--out", str(tmp_path / "p"), "--steps", "15",
                 "--sphere"]) == 0
    z = load_file(str(tmp_path / "p" / "latents.safetensors"))["z"]
    torch.testing.assert_close(z.norm(dim=1), torch.full((1,), math.sqrt(LATENT)), atol=1e-5, rtol=0)  # on the sphere
    out = tmp_path / "edited.png"
    assert main(["edit", str(runs["cond"]), "--input", image, "--from", "1", "--toward", "2", "--steps", "15", "--out", str(out),
                 "--strip", str(tmp_path / "strip.png")]) == 0
    run = load_generator_run(runs["cond"])
    assert np.array_equal(_png(out), run.generate(z, torch.tensor([2]))[0, 0].numpy())  # edit inverts on the sphere
    assert _png(tmp_path / "strip.png").shape == (28, 3 * 28)
    # --no-sphere inverts as project does without --sphere
    assert main(["project", str(runs["cond"]), "--input", image, "--label", "1", "--out", str(tmp_path / "q"), "--steps", "15"]) == 0
    free = load_file(str(tmp_path / "q" / "latents.safetensors"))["z"]
    assert main(["edit", str(runs["cond"]), "--input", image, "--from", "1", "--toward", "2", "--steps", "15", "--out", str(out),
                 "--no-sphere"]) == 0
    assert np.array_equal(_png(out), run.generate(free, torch.tensor([2]))[0, 0].numpy())


def test_unconditional_edit_moves_toward_the_brighter_class(runs, tmp_path):
    image = str(runs["inputs"] / "sq2.png")
    dark, bright = tmp_path / "dark.png", tmp_path / "bright.png"
    common = ["--input", image, "--steps", "10", "--samples", "1000"]
    assert main(["edit", str(runs["uncond"]), *common, "--toward", "0", "--strength", "3", "--out", str(dark)]) == 0
    assert main(["edit", str(runs["uncond"]), *common, "--toward", "9", "--strength", "3", "--out", str(bright)]) == 0
    assert _png(bright).mean() > _png(dark).mean()


def test_train_objective_encoder_then_project_from_it(runs, tmp_path):
    encoder = tmp_path / "enc"
    assert main(["train", "--objective", "encoder", "--generator", str(runs["uncond"]), "--run-dir", str(encoder),
                 "--max-steps", "2", "--set", "train.batch_size=8", "--no-progress"]) == 0
    out = tmp_path / "one-shot"
    assert main(["project", str(runs["uncond"]), "--input", str(runs["inputs"]), "--encoder", str(encoder), "--steps", "0",
                 "--out", str(out)]) == 0
    from gankit.edit.runs import encode, load_encoder

    run = load_generator_run(runs["uncond"])
    expected = run.generate(encode(load_encoder(encoder, run), runs["images"]))
    assert np.array_equal(_png(out / "sq0.png"), expected[0, 0].numpy())


def test_bad_input_is_one_line_and_writes_nothing(runs, tmp_path, capsys):
    (tmp_path / "empty").mkdir()
    (tmp_path / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\nnot really")
    out = tmp_path / "out"
    good = str(runs["inputs"] / "sq0.png")
    cases = [
        (["project", str(tmp_path / "empty"), "--input", good, "--out", str(out)], "no generator to edit with"),
        (["project", str(runs["uncond"]), "--input", str(tmp_path / "broken.png"), "--out", str(out)], "broken.png: corrupt image"),
        (["edit", str(runs["cond"]), "--input", good, "--toward", "12", "--out", str(out) + ".png"], "--toward 12: the run"),
        (["edit", str(runs["uncond"]), "--input", good, "--toward", "ten", "--out", str(out) + ".png"], "has classes 0..9"),
        (["interpolate", str(runs["uncond"]), "--seeds", "1", "--out", str(out) + ".gif"], "give at least two"),
        (["interpolate", str(runs["uncond"]), "--seeds", "1,2", "--out", str(out) + ".mp4"], "unknown file type '.mp4'"),
        (["train", "--objective", "encoder", "--generator", str(runs["cond"]), "--run-dir", str(out)], "a conditional generator"),
    ]
    for argv, expected in cases:
        assert expected in one_line_error(capsys, argv), argv
        assert not any(tmp_path.glob("out*")), argv
