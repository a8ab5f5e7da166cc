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


def test_top_k_fraction_follows_the_paper_schedule():
    from gankit.losses import top_k_fraction

    # gamma ** epoch until it reaches nu: 0.99^0 = 1, 0.99^10 = 0.904..., floor 0.5 from epoch 69 (0.99^69 = 0.4998)
    assert top_k_fraction(0, 0.99, 0.5) == 1.0
    assert top_k_fraction(10, 0.99, 0.5) == pytest.approx(0.9043820750)
    assert top_k_fraction(68, 0.99, 0.5) == pytest.approx(0.5048858887)
    assert top_k_fraction(69, 0.99, 0.5) == 0.5
    assert top_k_fraction(1000, 1.0, 0.5) == 1.0


def test_top_k_logits_keeps_the_highest_and_the_generator_loss_ignores_the_rest():
    from gankit.losses import top_k_logits

    fake = torch.tensor([-3.0, 0.0, 1.5, -1.0, 2.0], requires_grad=True)
    kept = top_k_logits(fake, 0.5)  # ceil(2.5) = 3 of 5: 2.0, 1.5, 0.0
    assert sorted(kept.tolist()) == [0.0, 1.5, 2.0]
    create_loss("hinge").generator(kept).backward()
    # -mean over the 3 kept logits: d/dx = -1/3 on each kept one, 0 on the two dropped
    torch.testing.assert_close(fake.grad, torch.tensor([0.0, -1 / 3, -1 / 3, 0.0, -1 / 3]))
    assert top_k_logits(fake, 1.0) is fake
    assert top_k_logits(fake, 0.01).tolist() == [2.0]
