"""Trainer options from [models]: n_critic, lazy R1, WGAN-GP, EMA in checkpoints and exports, AC-GAN,
the VAE step, bf16, torch.compile, NaN guards, instability warnings and config errors."""

from __future__ import annotations

import pytest
import torch

from gankit.data import ImageDataset
from gankit.errors import ConfigError
from gankit.models import load_generator
from gankit.sampling import generator_from_state
from gankit.losses import terms as terms_module
from gankit.training.config import config_from_dict
from gankit.training.diagnostics import InstabilityMonitor
from gankit.training.trainer import NonFiniteLossError, Trainer
from tests.conftest import step_and_replay_noise

DCGAN_TINY = {"g_width": 4, "d_width": 4}


def _squares(num=64, conditional=False):
    gen = torch.Generator().manual_seed(0)
    images = torch.zeros(num, 1, 28, 28, dtype=torch.uint8)
    labels = torch.randint(3, (num,), generator=gen)
    for i, side in enumerate((labels * 4 + 6).tolist()):
        images[i, 0, 4:4 + side, 4:4 + side] = 255
    return ImageDataset("sq", images, labels, num_classes=3)


def _trainer(tmp_path, model="dcgan", options=None, dataset=None, **sections):
    raw = {
        "data": {"name": "squares"},
        "model": {"name": model, "latent_dim": 8, "options": options if options is not None else dict(DCGAN_TINY)},
        "train": {"batch_size": 8, "num_samples": 4, "log_every": 1, "checkpoint_every": 1000},
    }
    for section, values in sections.items():
        raw.setdefault(section, {}).update(values)
    return Trainer(config_from_dict(raw), tmp_path, dataset=dataset if dataset is not None else _squares())


def _snapshot(module):
    return [p.detach().clone() for p in module.parameters()]


def _moved(before, module):
    return any(not torch.equal(a, b) for a, b in zip(before, module.parameters()))


def _run(trainer, steps, with_stats=False):
    out = []
    for _ in range(steps):
        out.append(trainer.train_step(*trainer.next_batch(), with_stats=with_stats))
        trainer.step += 1
    return out


def test_n_critic_updates_g_every_kth_step(tmp_path):
    trainer = _trainer(tmp_path, optim={"n_critic": 3})
    moved_g, moved_d = [], []
    for _ in range(6):
        g, d = _snapshot(trainer.generator), _snapshot(trainer.discriminator)
        _run(trainer, 1)
        moved_g.append(_moved(g, trainer.generator))
        moved_d.append(_moved(d, trainer.discriminator))
    assert moved_g == [False, False, True, False, False, True]
    assert all(moved_d)


def test_lazy_r1_runs_every_k_steps(tmp_path, monkeypatch):
    calls = []
    real_r1 = terms_module.r1_penalty

    def counting(outputs, real):
        calls.append(1)
        return real_r1(outputs, real)

    monkeypatch.setattr(terms_module, "r1_penalty", counting)
    trainer = _trainer(tmp_path, reg={"r1_gamma": 1.0, "r1_every": 4}, loss={"name": "hinge"})
    stats = _run(trainer, 8, with_stats=True)
    assert len(calls) == 2 and "r1" in stats[0] and "r1" not in stats[1] and "r1" in stats[4]


def test_wgan_gp_step(tmp_path):
    trainer = _trainer(tmp_path, options={**DCGAN_TINY, "d_norm": "none"}, loss={"name": "wasserstein"},
                       reg={"gp_weight": 10.0}, optim={"n_critic": 2})
    stats = _run(trainer, 2, with_stats=True)
    assert all("gp" in s and s["gp"] >= 0 for s in stats)


def test_ema_is_checkpointed_exported_and_sampled(tmp_path):
    trainer = _trainer(tmp_path, ema={"half_life_kimg": 0.1})
    _run(trainer, 4)
    state = trainer.state_dict()
    assert "generator_ema" in state
    differs = [not torch.equal(state["generator_ema"][k], v) for k, v in state["generator"].items() if v.is_floating_point()]
    assert any(differs), "the EMA copy should trail the live generator"
    sampler, _ = generator_from_state(state, "test")
    for key, value in sampler.state_dict().items():
        torch.testing.assert_close(value, state["generator_ema"][key])
    exported, _ = load_generator(trainer.export())
    for key, value in exported.state_dict().items():
        torch.testing.assert_close(value, state["generator_ema"][key])
    resumed = _trainer(tmp_path / "b", ema={"half_life_kimg": 0.1})
    resumed.load_state_dict(state)
    for key, value in resumed.ema.state_dict().items():
        torch.testing.assert_close(value, state["generator_ema"][key])


def test_auxiliary_classifier_adds_the_class_loss(tmp_path):
    trainer = _trainer(tmp_path, model="dcgan_cond", options={**DCGAN_TINY, "auxiliary": True}, data={"conditional": True})
    stats = _run(trainer, 2, with_stats=True)
    assert all(s["d_aux"] > 0 for s in stats)


def test_vae_step_lowers_the_negative_elbo(tmp_path):
    trainer = _trainer(tmp_path, model="vae", options={"g_width": 4, "d_width": 4}, optim={"lr_g": 2e-3, "lr_d": 2e-3})
    losses = [s["loss"] for s in _run(trainer, 12, with_stats=True)]
    assert sum(losses[-3:]) < sum(losses[:3])
    assert {"loss", "recon_nll", "kl"} <= set(_run(trainer, 1, with_stats=True)[0])


def test_bf16_augment_and_packing_step(tmp_path):
    trainer = _trainer(tmp_path, options={**DCGAN_TINY, "pack": 2, "mbstd_group": 2}, train={"precision": "bf16"},
                       augment={"policy": "color,translation,cutout"}, loss={"name": "least_squares"})
    stats = _run(trainer, 2, with_stats=True)
    assert all(torch.isfinite(torch.tensor(list(s.values()))).all() for s in stats)


@pytest.mark.slow
def test_compile_with_r1(tmp_path):
    points = ImageDataset("pts", torch.randn(64, 2))
    trainer = _trainer(tmp_path, model="mlp2d", options={"g_hidden": [8], "d_hidden": [8]}, dataset=points,
                       train={"compile": True}, reg={"r1_gamma": 1.0, "r1_every": 2})
    stats = _run(trainer, 2, with_stats=True)
    assert "r1" in stats[0]


def test_nan_stops_the_step_before_the_weights(tmp_path):
    trainer = _trainer(tmp_path)
    with torch.no_grad():
        next(trainer.discriminator.parameters())[0].fill_(float("nan"))
    g, d = _snapshot(trainer.generator), _snapshot(trainer.discriminator)
    with pytest.raises(NonFiniteLossError, match="step 0"):
        _run(trainer, 1)
    assert not _moved(g, trainer.generator)
    assert all(torch.equal(a, b) or (a.isnan() == b.isnan()).all() for a, b in zip(d, trainer.discriminator.parameters()))


def test_monitor_warns_when_d_wins_and_when_losses_explode():
    monitor = InstabilityMonitor(patience=3)
    warnings = []
    for step in range(10):
        warnings += monitor.observe(step, {"d_accuracy": 1.0, "d_loss": 0.5, "g_loss": 1.0})
    assert len(warnings) == 1 and "vanishing" in warnings[0]
    assert any("g_loss exploded" in w for w in monitor.observe(10, {"d_accuracy": 0.5, "d_loss": 0.5, "g_loss": 500.0}))


def test_config_errors_are_one_clear_line(tmp_path):
    points = ImageDataset("pts", torch.randn(64, 2))
    with pytest.raises(ConfigError, match="augment.policy: DiffAugment works on images"):
        _trainer(tmp_path, model="mlp2d", options={}, dataset=points, augment={"policy": "color"})
    with pytest.raises(ConfigError, match="model 'dcgan' is unconditional"):
        _trainer(tmp_path, data={"conditional": True})
    with pytest.raises(ConfigError, match="not supported; it takes square images of 28x28, 32x32, 64x64"):
        _trainer(tmp_path, dataset=ImageDataset("odd", torch.zeros(16, 1, 20, 20, dtype=torch.uint8)))
    with pytest.raises(ConfigError, match="model.options.g_norm: 'layer' is not allowed"):
        _trainer(tmp_path, options={"g_norm": "layer"})


def test_top_k_generator_loss_shrinks_with_the_epochs(tmp_path):
    import dataclasses

    trainer = _trainer(tmp_path, options={**DCGAN_TINY, "d_norm": "none"}, loss={"name": "hinge", "topk_gamma": 0.5, "topk_min": 0.25})
    seen = []
    generator_loss = trainer.loss.generator

    def spy(logits):
        seen.append(logits.shape[0])
        return generator_loss(logits)

    trainer.loss = dataclasses.replace(trainer.loss, generator=spy)
    assert trainer.sampler.steps_per_epoch == 8  # 64 squares, batch 8
    _run(trainer, 32)
    # batch 8: epoch 0 keeps 8 (0.5^0), epoch 1 keeps 4 (0.5^1), epochs 2 and 3 keep 2 (0.5^2 = the floor 0.25)
    assert seen == [8] * 8 + [4] * 8 + [2] * 16


def test_infogan_code_loss_matches_the_cross_entropy_by_hand(tmp_path):
    import math

    import torch.nn.functional as F
    from scipy.stats import norm

    raw = {
        "data": {"name": "ring"},
        "model": {"name": "mlp2d", "latent_dim": 4, "options": {"g_hidden": [16], "d_hidden": [16], "pack": 2, "components": 4}},
        "optim": {"lr_g": 1e-12, "lr_d": 1e-12},  # nothing moves, so D and G after the step are D and G before it
        "reg": {"info_weight": 0.5},
        "train": {"batch_size": 8, "num_samples": 4, "log_every": 1, "checkpoint_every": 1000},
    }
    trainer = Trainer(config_from_dict(raw), tmp_path)
    real, _ = trainer.next_batch()
    stats, z, _ = step_and_replay_noise(trainer, real)
    codes = torch.tensor([min(3, math.floor(4 * norm.cdf(v))) for v in z[:, 0].tolist()])  # scipy's normal CDF
    with torch.no_grad():
        out = trainer.discriminator(trainer.generator(z))
        logits, code_logits = out.logits, out.code_logits  # (4,) packed in pairs, (8, 4)
    info = F.cross_entropy(code_logits, codes)
    assert abs(stats["info"] - float(info)) < 1e-5
    # G's loss: non-saturating -log sigmoid(D(G(z))) plus the same cross-entropy at weight 0.5
    assert abs(stats["g_loss"] - float(F.softplus(-logits).mean() + 0.5 * info)) < 1e-5


def test_infogan_codes_of_an_image_gan_add_their_cross_entropies(tmp_path):
    """``hybrid`` with 2 codes of 3 values: the info term is CE(code 0) + CE(code 1), each from scipy's normal CDF bins."""
    import math

    import torch.nn.functional as F
    from scipy.stats import norm

    options = {"generator": "dcgan", "discriminator": "mlp+dcgan", "g_width": 4, "g_norm": "none", "d_width": 4,
               "d_hidden": [16], "dropout": 0.0, "components": 3, "codes": 2,
               "spectral_norm": False}  # power iterations would move the weights between the step and the replay
    trainer = _trainer(tmp_path, model="hybrid", options=options, optim={"lr_g": 1e-12, "lr_d": 1e-12}, reg={"info_weight": 0.5})
    real, _ = trainer.next_batch()
    stats, z, _ = step_and_replay_noise(trainer, real)
    with torch.no_grad():
        out = trainer.discriminator(trainer.generator(z))
        logits, code_logits = out.logits, out.code_logits  # (8,), (8, 3, 2)
    info = 0.0
    for j in range(2):
        codes = torch.tensor([min(2, math.floor(3 * norm.cdf(v))) for v in z[:, j].tolist()])
        info += float(F.cross_entropy(code_logits[:, :, j], codes))
    assert abs(stats["info"] - info) < 1e-5
    assert abs(stats["g_loss"] - float(F.softplus(-logits).mean() + 0.5 * info)) < 1e-5


def test_twin_classifier_losses_match_the_cross_entropies_by_hand(tmp_path):
    """TAC-GAN (Gong et al. 2019): D's class term is CE(C(real), y) + CE(C_twin(fake), y_fake); G adds
    CE(C(fake), y_fake) - CE(C_twin(fake), y_fake). Zero-ish learning rates keep D and G fixed through the step."""
    import torch.nn.functional as F

    trainer = _trainer(tmp_path, model="dcgan_cond", options={**DCGAN_TINY, "auxiliary": True, "twin": True},
                       data={"conditional": True}, loss={"name": "hinge"}, optim={"lr_g": 1e-12, "lr_d": 1e-12},
                       reg={"aux_weight": 0.5})
    real, labels = trainer.next_batch()
    stats, z, fake_labels = step_and_replay_noise(trainer, real, labels)
    with torch.no_grad():
        fake = trainer.generator(z, fake_labels)  # train-mode BatchNorm: the same batch gives the same fakes
        real_out, fake_out = trainer.discriminator(real, labels), trainer.discriminator(fake, fake_labels)
        real_classes = torch.cat([real_out.class_logits, real_out.twin_logits], dim=1)  # (B, 2K): classifier, then twin
        fake_logits, fake_classes = fake_out.logits, torch.cat([fake_out.class_logits, fake_out.twin_logits], dim=1)
    assert real_classes.shape == (8, 6)
    d_aux = F.cross_entropy(real_classes[:, :3], labels) + F.cross_entropy(fake_classes[:, 3:], fake_labels)
    assert stats["d_aux"] == pytest.approx(float(d_aux), rel=1e-5)  # float32 rounding of sums of ~2
    g_loss = -fake_logits.mean() + 0.5 * (F.cross_entropy(fake_classes[:, :3], fake_labels) - F.cross_entropy(fake_classes[:, 3:], fake_labels))
    assert stats["g_loss"] == pytest.approx(float(g_loss), rel=1e-5, abs=1e-6)


def test_a_discriminator_blind_to_the_labels_is_refused(tmp_path):
    with pytest.raises(ConfigError, match="projection=false without auxiliary=true"):
        _trainer(tmp_path, model="dcgan_cond", options={**DCGAN_TINY, "projection": False}, data={"conditional": True})


def test_twin_needs_the_auxiliary_classifier(tmp_path):
    with pytest.raises(ConfigError, match="twin=true"):
        _trainer(tmp_path, model="dcgan_cond", options={**DCGAN_TINY, "twin": True}, data={"conditional": True})


def _squares32(num=32):
    gen = torch.Generator().manual_seed(0)
    images = torch.zeros(num, 3, 32, 32, dtype=torch.uint8)
    for i, side in enumerate(torch.randint(6, 24, (num,), generator=gen).tolist()):
        images[i, i % 3, 4:4 + side, 4:4 + side] = 255
    return ImageDataset("sq32", images, None, num_classes=0)


@pytest.mark.parametrize("d_norm", ["none", "batch"])  # D on [real; fake] in one call, and on each half
def test_self_supervised_discriminator_adds_its_reconstruction_loss(tmp_path, d_norm):
    """FastGAN's D loss (Liu et al. 2021, Eq. 1): the hinge loss plus the reconstruction loss of the real batch.
    Zero-ish learning rates keep D and G fixed through the step, so the terms can be recomputed after it."""
    import torch.nn.functional as F

    options = {**DCGAN_TINY, "d_norm": d_norm, "reconstruction": True, "skip_excitation": True}
    trainer = _trainer(tmp_path, options=options, dataset=_squares32(), loss={"name": "hinge"},
                       optim={"lr_g": 1e-12, "lr_d": 1e-12}, reg={"recon_weight": 0.5})
    assert trainer.joint_d_pass == (d_norm == "none")
    real, _ = trainer.next_batch()
    global_state = torch.get_rng_state()
    stats, z, _ = step_and_replay_noise(trainer, real)
    torch.set_rng_state(global_state)  # the quarter to redraw comes from torch's global generator
    with torch.no_grad():
        fake = trainer.generator(z)  # train-mode BatchNorm: the same batch gives the same fakes
        # D in train mode as in the step (BatchNorm on each batch); spectral norm's power iteration moves a little
        real_out = trainer.discriminator(real, reconstruct=real.shape[0])
        real_logits, recon = real_out.logits, real_out.reconstruction_loss
        fake_logits = trainer.discriminator(fake).logits
    assert abs(stats["recon"] - float(recon)) < 1e-3
    hinge = F.relu(1 - real_logits).mean() + F.relu(1 + fake_logits).mean()
    assert abs(stats["d_loss"] - float(hinge + 0.5 * recon)) < 1e-3


def test_self_supervised_discriminator_resumes_exactly(tmp_path):
    options = {**DCGAN_TINY, "d_norm": "none", "reconstruction": True, "skip_excitation": True}

    def make(run_dir, steps):
        return _trainer(run_dir, options=options, dataset=_squares32(), train={"max_steps": steps, "checkpoint_every": 3})

    straight = make(tmp_path / "a", 6)
    straight.train(progress=False)
    make(tmp_path / "b", 3).train(progress=False)
    resumed = make(tmp_path / "b", 6)
    assert resumed.resume() is not None and resumed.step == 3
    resumed.train(progress=False)
    for a, b in zip(straight.discriminator.state_dict().values(), resumed.discriminator.state_dict().values()):
        assert torch.equal(a, b)
    for a, b in zip(straight.generator.state_dict().values(), resumed.generator.state_dict().values()):
        assert torch.equal(a, b)


def test_conditional_runs_keep_the_class_shares_for_sampling(tmp_path):
    dataset = _squares(num=64, conditional=True)
    counts = [int((dataset.labels == k).sum()) for k in range(3)]  # counted here, not by the trainer
    trainer = _trainer(tmp_path, model="dcgan_cond", options=dict(DCGAN_TINY), data={"conditional": True}, dataset=dataset)
    _run(trainer, 1)
    expected = [c / 64 for c in counts]
    assert trainer.state_dict()["class_prior"] == pytest.approx(expected)
    _, spec = generator_from_state(trainer.state_dict(), "test")
    assert spec["class_prior"] == pytest.approx(expected)
    _, exported = load_generator(trainer.export())
    assert exported["class_prior"] == pytest.approx(expected)

    from gankit.sampling import draw_samples

    seen = []
    original = trainer.sampling_generator.forward
    trainer.sampling_generator.forward = lambda z, labels: seen.append(labels) or original(z, labels)
    draw_samples(trainer.sampling_generator, spec, 64, seed=0)
    assert torch.bincount(torch.cat(seen), minlength=3).tolist() == counts


def test_fake_labels_uniform_or_in_the_data_shares(tmp_path):
    dataset = _squares(num=64, conditional=True)
    uniform = _trainer(tmp_path / "u", model="dcgan_cond", data={"conditional": True, "fake_labels": "uniform"}, dataset=dataset)
    noise = torch.Generator().manual_seed(0)
    torch.randn(4000, 8, generator=noise)  # the default path's stream: z first, then the labels
    assert torch.equal(uniform.sample_noise(4000)[1], torch.randint(3, (4000,), generator=noise))

    shares = torch.bincount(dataset.labels, minlength=3) / 64
    by_data = _trainer(tmp_path / "d", model="dcgan_cond", data={"conditional": True}, dataset=dataset)  # the default
    counts = torch.bincount(by_data.sample_noise(20000)[1], minlength=3)
    # Binomial counts: 4 standard deviations of sqrt(n p (1 - p)) <= 4 * 71 around n p.
    assert ((counts - 20000 * shares).abs() < 4 * (20000 * shares * (1 - shares)).sqrt()).all()
    assert not torch.allclose(shares, torch.full((3,), 1 / 3), atol=0.03)  # the shares differ from uniform's


@pytest.mark.parametrize("prior", [[0.5, 0.5], "abc", [0.2, float("nan"), 0.8], [-1.0, 1.0, 1.0], [0.0, 0.0, 0.0]])
def test_a_bad_class_prior_is_refused_on_load(tmp_path, prior):
    import json

    from gankit.errors import CheckpointError

    trainer = _trainer(tmp_path, model="dcgan_cond", data={"conditional": True})
    state = trainer.state_dict()
    with pytest.raises(CheckpointError, match="cannot rebuild the generator"):
        generator_from_state({**state, "class_prior": prior}, "test")
    export = trainer.export()
    spec = json.loads((export / "generator.json").read_text())
    (export / "generator.json").write_text(json.dumps({**spec, "class_prior": prior}))
    with pytest.raises(CheckpointError, match="cannot rebuild the exported generator"):
        load_generator(export)
