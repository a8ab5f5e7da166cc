"""The trainer: exact resume, what a run directory holds, the one-generator-forward step."""

import json
import math

import pytest
import torch

from gankit.training.config import config_from_dict
from gankit.training.trainer import Trainer
from tests.conftest import step_and_replay_noise, tiny_config_dict


def _trainer(run_dir, **train):
    return Trainer(config_from_dict(tiny_config_dict(**train)), run_dir)


def _assert_same_state(a: Trainer, b: Trainer):
    for x, y in ((a.generator, b.generator), (a.discriminator, b.discriminator)):
        for (name, p), q in zip(x.state_dict().items(), y.state_dict().values()):
            assert torch.equal(p, q), name
    for oa, ob in ((a.opt_g, b.opt_g), (a.opt_d, b.opt_d)):
        for sa, sb in zip(oa.state_dict()["state"].values(), ob.state_dict()["state"].values()):
            for key in sa:
                assert torch.equal(sa[key], sb[key]), key


@pytest.mark.parametrize("precision", ["fp32", "bf16"])  # bf16: D's dropout masks come from int64 random bits
def test_resume_is_bit_identical(tmp_path, precision):
    # 64 images per epoch of batch 32 -> 2048 // 32 = 64 steps per epoch; stop mid-epoch at 13
    # and cross an epoch boundary after resuming.
    straight = _trainer(tmp_path / "a", max_steps=70, precision=precision)
    straight.train(progress=False)

    first = _trainer(tmp_path / "b", max_steps=13, precision=precision)
    first.train(progress=False)
    resumed = _trainer(tmp_path / "b", max_steps=70, precision=precision)
    assert resumed.resume() is not None and resumed.step == 13
    resumed.train(progress=False)

    assert resumed.step == straight.step == 70
    _assert_same_state(straight, resumed)


def test_run_directory_contents(tmp_path):
    trainer = _trainer(tmp_path, max_steps=6)
    result = trainer.train(progress=False)
    assert result.status == "finished" and result.step == 6
    assert (tmp_path / "config.yaml").is_file()
    assert sorted(p.name for p in (tmp_path / "checkpoints").iterdir()) == ["ckpt-000000005.ckpt", "ckpt-000000006.ckpt"]
    assert {"epoch-0000.png", "final.png"} <= {p.name for p in (tmp_path / "samples").iterdir()}
    assert (tmp_path / "loss_curve.png").is_file()
    assert {p.name for p in (tmp_path / "export").iterdir()} == {"generator.json", "generator.safetensors"}
    records = [json.loads(line) for line in (tmp_path / "metrics.jsonl").read_text().splitlines()]
    assert [r["step"] for r in records] == [2, 4, 6]
    for key in ("d_loss", "g_loss", "d_real", "d_fake", "grad_norm_g", "grad_norm_d", "images_per_s", "d_accuracy"):
        assert all(key in r for r in records), key
    assert all(0 <= r["d_real"] <= 1 and 0 <= r["d_fake"] <= 1 for r in records)


def test_one_generator_forward_per_step(tmp_path):
    trainer = _trainer(tmp_path, max_steps=1)
    calls = []
    trainer.generator.register_forward_hook(lambda *args: calls.append(1))
    trainer.train_step(*trainer.next_batch())
    assert len(calls) == 1


def test_discriminator_step_uses_the_documented_loss(tmp_path):
    # With zero learning rates nothing moves, and the logged D loss must equal the BCE computed by hand
    # from D's outputs on the same batch.
    raw = tiny_config_dict(max_steps=1)
    raw["optim"] = {"lr_g": 1e-12, "lr_d": 1e-12}
    raw["model"]["options"]["dropout"] = 0.0
    trainer = Trainer(config_from_dict(raw), tmp_path)
    real, _ = trainer.next_batch()
    stats, z, _ = step_and_replay_noise(trainer, real)
    with torch.no_grad():
        d_real = torch.sigmoid(trainer.discriminator(real).logits)
        d_fake = torch.sigmoid(trainer.discriminator(trainer.generator(z)).logits)
    expected = 0.5 * (-torch.log(d_real).mean() - torch.log(1 - d_fake).mean())
    assert abs(stats["d_loss"] - float(expected)) < 1e-4


def test_lr_decay_falls_linearly_to_zero_over_the_last_half(tmp_path):
    """lr_decay_start=0.5 over 10 steps: steps 0-5 at the full rate, then 0.8, 0.6, 0.4, 0.2 of it (hand values)."""
    cfg = config_from_dict({**tiny_config_dict(max_steps=10), "optim": {"lr_g": 1e-3, "lr_d": 4e-3, "lr_decay_start": 0.5}})
    trainer = Trainer(cfg, tmp_path / "run")
    seen = []
    original = trainer.train_step

    def recording_step(*args, **kwargs):
        seen.append((trainer.opt_g.param_groups[0]["lr"], trainer.opt_d.param_groups[0]["lr"]))
        return original(*args, **kwargs)

    trainer.train_step = recording_step
    trainer.train(progress=False)
    expected = [1.0] * 6 + [0.8, 0.6, 0.4, 0.2]
    assert [g for g, _ in seen] == [pytest.approx(1e-3 * f) for f in expected]
    assert [d for _, d in seen] == [pytest.approx(4e-3 * f) for f in expected]


def test_lr_is_constant_without_decay(tmp_path):
    trainer = Trainer(config_from_dict(tiny_config_dict(max_steps=4)), tmp_path / "run")
    trainer.train(progress=False)
    assert trainer.opt_g.param_groups[0]["lr"] == 2e-4 and trainer.opt_d.param_groups[0]["lr"] == 2e-4


@pytest.mark.parametrize(
    ("options", "joint"),
    [({"d_norm": "none"}, True), ({"d_norm": "none", "pack": 2}, True), ({"d_norm": "batch"}, False),
     ({"d_norm": "none", "mbstd_group": 4}, True), ({"d_norm": "none", "mbstd_group": 64}, False)],
)
def test_real_and_fake_share_one_d_call_only_without_batch_statistics(tmp_path, options, joint):
    """BatchNorm in D, or minibatch-stddev groups that do not divide the batch, would mix real and fake
    statistics in a joint call: those keep two calls."""
    raw = tiny_config_dict(max_steps=1)
    raw["data"] = {"name": "squares"}
    raw["model"] = {"name": "dcgan", "latent_dim": 8, "options": {"g_width": 4, "d_width": 4, **options}}
    trainer = Trainer(config_from_dict(raw), tmp_path)
    calls = []
    trainer.discriminator.register_forward_hook(lambda module, args, out: calls.append(args[0].shape[0]))
    real, _ = trainer.next_batch()
    stats = trainer.train_step(real, None, with_stats=True)
    batch = real.shape[0]
    assert calls == ([2 * batch, batch] if joint else [batch, batch, batch])
    assert 0 <= stats["d_accuracy"] <= 1 and math.isfinite(stats["d_loss"])


def test_training_imports_no_metrics():
    """The in-training FID is a callback handed in by the CLI: training itself never imports metrics."""
    import subprocess
    import sys

    code = "import sys, gankit.training.trainer, gankit.training.distributed; " \
           "sys.exit(any(m.startswith('gankit.metrics') for m in sys.modules))"
    assert subprocess.run([sys.executable, "-c", code]).returncode == 0
