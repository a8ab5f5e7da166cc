"""The classic reference loop resumes exactly: stopped and continued, it ends where one run ends."""

import sys
from pathlib import Path

import pytest
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))

from classic import ClassicGAN  # noqa: E402
from classic_reference import train  # noqa: E402


def _data() -> tuple[torch.Tensor, torch.Tensor]:
    gen = torch.Generator().manual_seed(1)
    return torch.randint(0, 256, (128, 1, 28, 28), dtype=torch.uint8, generator=gen), torch.arange(128) % 10


def test_stop_and_resume_matches_one_run(tmp_path):
    images, labels = _data()
    straight = ClassicGAN(images, labels, seed=3)
    seen, _, _ = train(straight, 3, tmp_path / "a.pt", save_every=1, resume=False)
    assert seen == 3 * 128

    first = ClassicGAN(images, labels, seed=3)
    train(first, 2, tmp_path / "b.pt", save_every=1, resume=False)
    torch.manual_seed(12345)  # a new process: the global RNG is wherever it happens to be
    second = ClassicGAN(images, labels, seed=3)
    seen, _, _ = train(second, 3, tmp_path / "b.pt", save_every=1, resume=True)
    assert seen == 3 * 128
    for a, b in zip(straight.generator.state_dict().values(), second.generator.state_dict().values()):
        assert torch.equal(a, b)
    for a, b in zip(straight.opt_d.state_dict()["state"].values(), second.opt_d.state_dict()["state"].values()):
        assert torch.equal(a["exp_avg_sq"], b["exp_avg_sq"])


def test_resume_from_nothing_trains_from_scratch_only_when_asked(tmp_path):
    images, labels = _data()
    classic = ClassicGAN(images, labels, seed=0)
    before = [p.clone() for p in classic.generator.parameters()]
    train(classic, 1, tmp_path / "s.pt", save_every=5, resume=False)
    assert (tmp_path / "s.pt").is_file()  # the last epoch is always saved
    assert [p.name for p in tmp_path.iterdir()] == ["s.pt"]  # no temporary file left behind
    assert any(not torch.equal(a, b) for a, b in zip(before, classic.generator.parameters()))


def test_a_file_that_is_not_a_state_gets_one_clear_line(tmp_path):
    images, labels = _data()
    bad = tmp_path / "resume.pt"
    bad.write_bytes(b"not a torch file")
    with pytest.raises(SystemExit, match="is not a saved state of this loop"):
        train(ClassicGAN(images, labels, seed=0), 2, bad, save_every=1, resume=True)
    torch.save({"generator": {}}, bad)
    with pytest.raises(SystemExit, match="is not a saved state of this loop"):
        train(ClassicGAN(images, labels, seed=0), 2, bad, save_every=1, resume=True)
