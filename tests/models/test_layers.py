"""Shared layers against hand-written references: minibatch stddev, packing, conditional BN, projection, SN."""

import pytest
import torch
from torch import nn

from gankit.models.layers import ConditionalBatchNorm2d, Dropout, MinibatchStdDev, ProjectionHead, pack, sn, upsampling_plan


def test_minibatch_stddev_matches_a_loop():
    torch.manual_seed(0)
    x = torch.randn(6, 3, 2, 2)
    out = MinibatchStdDev(group_size=3)(x)
    assert out.shape == (6, 4, 2, 2)
    torch.testing.assert_close(out[:, :3], x)
    for i in range(6):
        group = x[[j for j in range(6) if j // 3 == i // 3]]  # the samples grouped with i: a run of 3
        expected = group.var(dim=0, unbiased=False).add(1e-8).sqrt().mean()
        torch.testing.assert_close(out[i, 3], torch.full((2, 2), float(expected)))


def test_minibatch_stddev_shrinks_the_group_to_a_divisor_of_the_batch():
    x = torch.randn(6, 2)
    out = MinibatchStdDev(group_size=4)(x)  # 4 does not divide 6: groups of 3
    for i in range(6):
        group = x[3 * (i // 3):3 * (i // 3) + 3]
        torch.testing.assert_close(out[i, 2], group.var(dim=0, unbiased=False).add(1e-8).sqrt().mean())


@pytest.mark.parametrize(("group", "half", "apart"), [(4, 8, True), (4, 12, True), (3, 6, True), (4, 2, False), (4, 6, False), (2, 1, False)])
def test_minibatch_stddev_on_two_halves_at_once_matches_two_calls_when_it_keeps_them_apart(group, half, apart):
    """[real; fake] in one call gets each half's own statistics exactly when keeps_apart says so."""
    torch.manual_seed(1)
    layer = MinibatchStdDev(group_size=group)
    real, fake = torch.randn(half, 2, 3, 3), 5 * torch.randn(half, 2, 3, 3)
    joint = layer(torch.cat([real, fake]))
    separate = torch.cat([layer(real), layer(fake)])
    assert layer.keeps_apart(half) == apart
    assert torch.allclose(joint, separate) == apart


def test_pack_concatenates_consecutive_samples():
    x = torch.arange(4 * 2 * 3).float().reshape(4, 2, 3)
    packed = pack(x, 2)
    assert packed.shape == (2, 4, 3)
    torch.testing.assert_close(packed[1], torch.cat([x[2], x[3]]))


def test_conditional_batchnorm_uses_the_class_scale_and_shift():
    cbn = ConditionalBatchNorm2d(2, num_classes=3)
    with torch.no_grad():
        cbn.scale.weight.copy_(torch.tensor([[1.0, 1.0], [2.0, 3.0], [1.0, 1.0]]))
        cbn.shift.weight.copy_(torch.tensor([[0.0, 0.0], [5.0, -5.0], [0.0, 0.0]]))
    x = torch.randn(4, 2, 3, 3)
    labels = torch.tensor([1, 1, 0, 2])
    normalised = (x - x.mean(dim=(0, 2, 3), keepdim=True)) / (x.var(dim=(0, 2, 3), unbiased=False, keepdim=True) + 1e-5).sqrt()
    out = cbn(x, labels)
    torch.testing.assert_close(out[0], normalised[0] * torch.tensor([2.0, 3.0])[:, None, None] + torch.tensor([5.0, -5.0])[:, None, None])
    torch.testing.assert_close(out[2], normalised[2])


def test_projection_head_is_linear_plus_inner_product():
    head = ProjectionHead(5, num_classes=4, spectral=False)
    h, labels = torch.randn(3, 5), torch.tensor([0, 3, 3])
    expected = h @ head.linear.weight[0] + head.linear.bias[0] + (h * head.embed.weight[labels]).sum(1)
    torch.testing.assert_close(head(h, labels), expected)


def test_auxiliary_head_classifies_instead_of_projecting_unless_asked_for_both():
    h, labels = torch.randn(3, 5), torch.tensor([0, 3, 3])
    ac = ProjectionHead(5, num_classes=4, spectral=False, auxiliary=True)
    logits, classes = ac(h, labels)
    assert ac.embed is None
    torch.testing.assert_close(logits, h @ ac.linear.weight[0] + ac.linear.bias[0])
    torch.testing.assert_close(classes, h @ ac.classifier.weight.T + ac.classifier.bias)
    both = ProjectionHead(5, num_classes=4, spectral=False, auxiliary=True, projection=True)
    logits, classes = both(h, labels)
    expected = h @ both.linear.weight[0] + both.linear.bias[0] + (h * both.embed.weight[labels]).sum(1)
    torch.testing.assert_close(logits, expected)
    torch.testing.assert_close(classes, h @ both.classifier.weight.T + both.classifier.bias)


def test_spectral_norm_makes_the_top_singular_value_one():
    torch.manual_seed(0)
    layer = sn(nn.Linear(20, 10), True)
    for _ in range(50):  # power iterations run in training-mode forwards
        layer(torch.randn(2, 20))
    assert abs(float(torch.linalg.matrix_norm(layer.weight.detach(), ord=2)) - 1.0) < 1e-3


def test_upsampling_plan():
    assert [upsampling_plan(s) for s in (28, 32, 64, 128)] == [(7, 2), (4, 3), (4, 4), (4, 5)]


def test_dropout_on_float32_is_torchs_dropout_draw_for_draw():
    x = torch.randn(64, 300)
    torch.manual_seed(5)
    ours = Dropout(0.3)(x)
    torch.manual_seed(5)
    assert torch.equal(ours, torch.nn.functional.dropout(x, 0.3, training=True))


@pytest.mark.parametrize("p", [0.1, 0.3, 0.5, 0.9])
def test_bf16_dropout_keeps_each_position_with_probability_one_minus_p(p):
    """Every one of the four 16-bit lanes of each int64 draw is a fair coin: a top bit stuck at 0 would keep
    every fourth element. 1,000,000 draws per lane: 6 standard deviations is at most 0.003."""
    torch.manual_seed(0)
    n = 4_000_000 + 3  # not a multiple of 4: the last int64 is cut
    out = Dropout(p)(torch.ones(n, dtype=torch.bfloat16))
    kept = out != 0
    scale = torch.tensor(1 / (1 - p), dtype=torch.bfloat16)
    assert torch.equal(out[kept], scale.expand(int(kept.sum())))  # kept values scaled by 1 / (1 - p), as F.dropout
    for lane in range(4):
        assert abs(kept[lane::4].double().mean().item() - (1 - p)) < 0.003
    # neighbours are independent: P(both kept) = (1 - p)^2
    assert abs((kept[:-1] & kept[1:]).double().mean().item() - (1 - p) ** 2) < 0.003


def test_bf16_dropout_gradient_is_the_same_mask_and_eval_is_the_identity():
    layer = Dropout(0.4)
    x = torch.randn(32, 50).bfloat16().requires_grad_(True)
    out = layer(x)
    out.sum().backward()
    expected_grad = torch.where(out != 0, torch.tensor(1 / 0.6, dtype=torch.bfloat16), torch.tensor(0.0, dtype=torch.bfloat16))
    assert torch.equal(x.grad, expected_grad)
    layer.eval()
    assert torch.equal(layer(x), x)
