"""Inversion against independent references (pytest run): least squares for a linear generator, the masked loss
by hand, the projector's schedule in closed form, images optimised independently, the prior term's direction."""

from __future__ import annotations

import math

import pytest
import torch
from torch import nn

from gankit.data.base import to_unit_range
from gankit.edit.invert import ProjectorConfig, blend, image_loss, invert, learning_rate, noise_scale
from gankit.errors import ConfigError

LATENT, SIDE = 6, 8


class LinearGenerator(nn.Module):
    """G(z) = W z reshaped to (1, 8, 8): the inverse of a quantised image is a least-squares problem."""

    def __init__(self, seed: int = 0) -> None:
        super().__init__()
        self.latent_dim = LATENT
        self.weight = nn.Parameter(0.1 * torch.randn(SIDE * SIDE, LATENT, generator=torch.Generator().manual_seed(seed)))

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return (z @ self.weight.T).view(-1, 1, SIDE, SIDE)


def _targets(g: LinearGenerator, n: int, seed: int = 1):
    z = torch.randn(n, LATENT, generator=torch.Generator().manual_seed(seed))
    with torch.no_grad():
        images = g(z).add(1).mul(127.5).round().clamp(0, 255).to(torch.uint8)
    return z, images


def _least_squares(g: LinearGenerator, images: torch.Tensor, rows: torch.Tensor | None = None) -> torch.Tensor:
    w = g.weight.detach().double()
    y = to_unit_range(images).flatten(1).double().T  # (64, N)
    if rows is not None:
        w, y = w[rows], y[rows]
    return torch.linalg.lstsq(w, y).solution.T.float()  # (N, L)


def test_a_linear_generator_is_inverted_to_the_least_squares_code():
    g = LinearGenerator()
    z_true, images = _targets(g, 5)
    result = invert(g, images, cfg=ProjectorConfig(steps=200, lr=0.1))
    reference = _least_squares(g, images)
    torch.testing.assert_close(result.z, reference, atol=2e-2, rtol=0)
    torch.testing.assert_close(result.z, z_true, atol=0.1, rtol=0)  # quantisation moves the optimum only a little
    assert result.losses.shape == (200, 5) and result.final_loss.shape == (5,)
    assert float(result.final_loss.max()) < 1e-4


def test_the_masked_loss_counts_the_known_pixels_only():
    fake = torch.zeros(1, 1, 2, 2)
    target = torch.tensor([[[[1.0, 2.0], [3.0, 100.0]]]])
    known = torch.tensor([[[[1, 1], [1, 0]]]], dtype=torch.bool)
    assert math.isclose(float(image_loss(fake, target, known)), (1 + 4 + 9) / 3, rel_tol=1e-6)
    changed = fake.clone()
    changed[..., 1, 1] = -50.0  # a missing pixel
    assert float(image_loss(changed, target, known)) == float(image_loss(fake, target, known))
    assert math.isclose(float(image_loss(fake, target)), (1 + 4 + 9 + 10000) / 4, rel_tol=1e-6)


def test_masked_inversion_ignores_the_missing_pixels_and_blends_the_known_ones_back():
    g = LinearGenerator()
    _, images = _targets(g, 3)
    corrupted = images.clone()
    corrupted[:, :, :4, :4] = 255  # garbage in the missing corner
    known = torch.ones(1, 1, SIDE, SIDE, dtype=torch.bool)
    known[:, :, :4, :4] = False
    result = invert(g, corrupted, cfg=ProjectorConfig(steps=200), known=known)
    rows = known.flatten()
    torch.testing.assert_close(result.z, _least_squares(g, corrupted, rows), atol=3e-2, rtol=0)
    filled = blend(result.images, corrupted, known)
    assert torch.equal(filled[:, :, 4:, :], corrupted[:, :, 4:, :])  # the known pixels are the input's
    assert torch.equal(filled[:, :, :4, :4], result.images[:, :, :4, :4])
    assert (filled[:, :, :4, :4].int() - images[:, :, :4, :4].int()).abs().max() <= 3  # and the hole is G's


def test_the_schedule_is_the_projectors():
    cfg = ProjectorConfig(steps=1000, lr=0.1, lr_rampup=0.05, lr_rampdown=0.25, noise=0.05, noise_ramp=0.75)
    assert learning_rate(0, cfg) == 0.0
    assert math.isclose(learning_rate(25, cfg), 0.1 * 0.5)  # half-way up the linear warm-up
    assert math.isclose(learning_rate(500, cfg), 0.1)
    t = 0.9  # on the cosine ramp-down: (1 - t) / 0.25 = 0.4 -> 0.5 - 0.5 cos(0.4 pi)
    assert math.isclose(learning_rate(900, cfg), 0.1 * (0.5 - 0.5 * math.cos(0.4 * math.pi)), rel_tol=1e-9)
    assert math.isclose(noise_scale(0, cfg), 0.05)
    assert math.isclose(noise_scale(375, cfg), 0.05 * 0.25)
    assert noise_scale(750, cfg) == 0.0 and noise_scale(999, cfg) == 0.0
    assert t  # the comment's t


def test_images_are_optimised_independently_of_their_batch():
    g = LinearGenerator()
    _, images = _targets(g, 4)
    cfg = ProjectorConfig(steps=40, noise=0.0)
    together = invert(g, images, cfg=cfg).z
    alone = torch.cat([invert(g, images[i:i + 1], cfg=cfg).z for i in range(4)])
    torch.testing.assert_close(together, alone, atol=1e-5, rtol=0)
    split = invert(g, images, cfg=cfg, batch_size=3).z
    torch.testing.assert_close(split, together, atol=1e-5, rtol=0)


def test_the_prior_term_raises_the_discriminators_score():
    g = LinearGenerator()
    _, images = _targets(g, 2)

    class MeanCritic(nn.Module):
        def forward(self, x):
            return x.flatten(1).mean(1)  # rates brighter images more real

    critic = MeanCritic()
    start = torch.zeros(2, LATENT)
    cfg = ProjectorConfig(steps=50, pixel_weight=0.0, prior_weight=1.0, noise=0.0)
    result = invert(g, images, cfg=cfg, init=start, discriminator=critic)
    with torch.no_grad():
        assert bool((critic(g(result.z)) > critic(g(start)) + 0.1).all())


def test_settings_and_inputs_are_checked():
    with pytest.raises(ConfigError, match="steps: 0 is below the minimum 1"):
        ProjectorConfig(steps=0)
    with pytest.raises(ConfigError, match="lr_rampdown"):
        ProjectorConfig(lr_rampdown=0.0)
    g = LinearGenerator()
    with pytest.raises(ConfigError, match="uint8"):
        invert(g, torch.zeros(1, 1, SIDE, SIDE))
    with pytest.raises(ConfigError, match="needs the run's discriminator"):
        invert(g, torch.zeros(1, 1, SIDE, SIDE, dtype=torch.uint8), cfg=ProjectorConfig(prior_weight=1.0))
    assert all(p.requires_grad for p in g.parameters())  # left as it was found


class RecordingGenerator(LinearGenerator):
    """The linear generator, keeping every code it is asked to draw."""

    def __init__(self) -> None:
        super().__init__()
        self.seen: list[torch.Tensor] = []

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        self.seen.append(z.detach().clone())
        return super().forward(z)


def test_on_the_sphere_every_step_leaves_the_code_at_radius_sqrt_dim():
    g = RecordingGenerator()
    _, images = _targets(g, 3)
    g.seen.clear()
    start = torch.tensor([[3.0, 0, 0, 0, 0, 0], [0.0] * LATENT, [1.0, -1.0, 2.0, 0.5, 0.0, 4.0]])
    cfg = ProjectorConfig(steps=30, noise=0.0, sphere=True)
    result = invert(g, images, cfg=cfg, init=start)
    assert len(g.seen) == 31  # G of each step's code (noise 0: the code itself), then the final code
    radius = math.sqrt(LATENT)  # 2.449...
    for z in g.seen:
        torch.testing.assert_close(z.norm(dim=1), torch.full((3,), radius), atol=1e-5, rtol=0)
    torch.testing.assert_close(result.z.norm(dim=1), torch.full((3,), radius), atol=1e-5, rtol=0)
    # the first code is the start scaled by hand onto the sphere: (3, 0, ...) -> (sqrt 6, 0, ...)
    torch.testing.assert_close(g.seen[0][0], torch.tensor([radius, 0, 0, 0, 0, 0]), atol=1e-6, rtol=0)
    assert ProjectorConfig().sphere is False  # off unless asked


def test_a_known_code_on_the_sphere_is_recovered_with_the_sphere_constraint():
    g = LinearGenerator()
    z_true = torch.randn(4, LATENT, generator=torch.Generator().manual_seed(3))
    z_true = z_true * (math.sqrt(LATENT) / z_true.norm(dim=1, keepdim=True))  # on the sphere by hand
    with torch.no_grad():
        images = g(z_true).add(1).mul(127.5).round().clamp(0, 255).to(torch.uint8)
    result = invert(g, images, cfg=ProjectorConfig(steps=300, sphere=True))  # from random points of the sphere
    torch.testing.assert_close(result.z, z_true, atol=0.1, rtol=0)
    assert float(result.final_loss.max()) < 1e-4
