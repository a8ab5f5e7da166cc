"""Hinge, Wasserstein and least-squares losses against values computed by hand."""

import pytest
import torch

from gankit.losses import LOSSES, create_loss

REAL = torch.tensor([2.0, 0.5, -1.0])
FAKE = torch.tensor([-3.0, 0.0, 1.5])


def test_hinge():
    loss = create_loss("hinge")
    # relu(1 - [2, .5, -1]) = [0, .5, 2] -> 5/6; relu(1 + [-3, 0, 1.5]) = [0, 1, 2.5] -> 7/6
    torch.testing.assert_close(loss.discriminator(REAL, FAKE), torch.tensor(5 / 6 + 7 / 6))
    torch.testing.assert_close(loss.generator(FAKE), torch.tensor(-(-3.0 + 0.0 + 1.5) / 3))


def test_wasserstein():
    loss = create_loss("wasserstein")
    torch.testing.assert_close(loss.discriminator(REAL, FAKE), torch.tensor((-1.5 / 3) - (1.5 / 3)))
    torch.testing.assert_close(loss.generator(FAKE), torch.tensor(0.5))


def test_least_squares():
    loss = create_loss("least_squares")
    # (D(x) - 1)^2 = [1, .25, 4] -> 5.25/3; D(G(z))^2 = [9, 0, 2.25] -> 11.25/3
    torch.testing.assert_close(loss.discriminator(REAL, FAKE), torch.tensor(0.5 * (5.25 / 3 + 11.25 / 3)))
    # (D(G(z)) - 1)^2 = [16, 1, .25] -> 17.25/3
    torch.testing.assert_close(loss.generator(FAKE), torch.tensor(0.5 * 17.25 / 3))
    assert loss.decision_threshold == 0.5


@pytest.mark.parametrize("name", LOSSES.names())
def test_every_loss_gives_finite_gradients_at_extreme_logits(name):
    loss = create_loss(name)
    real = torch.tensor([80.0, -80.0], requires_grad=True)
    fake = torch.tensor([-80.0, 80.0], requires_grad=True)
    (loss.discriminator(real, fake) + loss.generator(fake)).backward()
    assert torch.isfinite(real.grad).all() and torch.isfinite(fake.grad).all()
