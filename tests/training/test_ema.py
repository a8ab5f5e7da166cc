"""The generator EMA against the half-life formula of StyleGAN2-ADA."""

import torch
from torch import nn

from gankit.training.ema import GeneratorEMA, ema_beta


def test_beta_halves_the_weight_every_half_life():
    # 10 kimg half-life, batch 100: after 100 updates (10,000 images) an old value keeps weight 0.5.
    beta = ema_beta(images_seen=10**9, batch=100, half_life_kimg=10, rampup=None)
    assert abs(beta ** 100 - 0.5) < 1e-12


def test_rampup_caps_the_half_life_early():
    # 2,000 images seen, ramp-up 0.05: half-life min(10,000, 100) = 100 images -> beta = 0.5 ** (50 / 100)
    assert abs(ema_beta(2000, 50, 10, 0.05) - 0.5 ** 0.5) < 1e-12
    assert ema_beta(0, 50, 10, 0.05) == 0.0  # the very first update copies the weights


def test_update_follows_the_recurrence():
    live = nn.Linear(3, 2)
    ema = GeneratorEMA(live, half_life_kimg=0.002, rampup=None)  # half-life 2 images
    expected = {k: v.clone() for k, v in live.state_dict().items()}
    for step in range(5):
        with torch.no_grad():
            for p in live.parameters():
                p.add_(1.0 + step)
        beta = ema.update(live, images_seen=step * 1, batch=1)
        assert abs(beta - 0.5 ** 0.5) < 1e-12
        for key, value in live.state_dict().items():
            expected[key] = beta * expected[key] + (1 - beta) * value
    for key, value in ema.module.state_dict().items():
        torch.testing.assert_close(value, expected[key])


def test_buffers_are_copied_and_the_copy_is_frozen():
    live = nn.BatchNorm1d(3)
    ema = GeneratorEMA(live, half_life_kimg=1.0)
    live(torch.randn(8, 3) * 5 + 2)
    ema.update(live, images_seen=1000, batch=8)
    torch.testing.assert_close(ema.module.running_mean, live.running_mean)
    assert not any(p.requires_grad for p in ema.module.parameters())
    assert not ema.module.training
