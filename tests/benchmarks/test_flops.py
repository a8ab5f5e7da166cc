"""The FLOP counter of benchmarks/flops.py against hand-counted matmuls, R1's double backward included."""

import sys
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))

from flops import FlopCount  # noqa: E402


def test_linear_forward_and_backward_by_hand():
    batch, n_in, n_out = 8, 5, 3
    layer = torch.nn.Linear(n_in, n_out)
    x = torch.randn(batch, n_in)
    with FlopCount() as counter:
        layer(x).sum().backward()  # forward x W^T, backward dL/dW = g^T x; no dL/dx: x needs no grad
    assert counter.total == 2 * (2 * batch * n_in * n_out)


def test_gradient_by_a_leaf_input_is_counted():
    """R1 asks autograd.grad for d out / d x with x a leaf: torch's FlopCounterMode refuses that, this one counts it."""
    batch, n_in = 4, 6
    weight = torch.randn(1, n_in)
    x = torch.randn(batch, n_in, requires_grad=True)
    with FlopCount() as counter:
        (grad,) = torch.autograd.grad((x @ weight.t()).sum(), x)  # forward mm, then g W: two (4x6x1) matmuls
    assert torch.allclose(grad, weight.expand(batch, n_in))
    assert counter.total == 2 * (2 * batch * n_in * 1)
