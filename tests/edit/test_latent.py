"""Latent paths against closed forms (pytest run): slerp on the great circle, lerp, the path through codes, seed codes."""

from __future__ import annotations

import math

import pytest
import torch

from gankit.edit.latent import interpolate, lerp, seed_codes, slerp
from gankit.errors import ConfigError


def test_slerp_of_orthogonal_unit_vectors_at_half_is_their_normalised_sum():
    a, b = torch.tensor([1.0, 0.0, 0.0]), torch.tensor([0.0, 1.0, 0.0])
    torch.testing.assert_close(slerp(a, b, 0.5), (a + b) / math.sqrt(2))


def test_slerp_walks_the_great_circle_at_constant_speed():
    gen = torch.Generator().manual_seed(0)
    a, b = torch.randn(2, 16, generator=gen, dtype=torch.float64)
    b = b * a.norm() / b.norm()  # equal norms
    omega = math.acos(float(a @ b / (a.norm() * b.norm())))
    for t in (0.0, 0.1, 0.37, 0.5, 0.9, 1.0):
        p = slerp(a, b, t)
        assert math.isclose(float(p.norm()), float(a.norm()), rel_tol=1e-9)
        angle_to_a = math.acos(min(1.0, float(p @ a / (p.norm() * a.norm()))))
        assert math.isclose(angle_to_a, t * omega, abs_tol=1e-6)


def test_slerp_interpolates_the_norm_linearly_and_falls_back_to_lerp_for_parallel_codes():
    a = torch.tensor([[2.0, 0.0]])
    b = torch.tensor([[0.0, 4.0]])
    assert math.isclose(float(slerp(a, b, 0.25).norm()), 2.5, rel_tol=1e-6)
    c = torch.tensor([[1.0, 1.0]])
    torch.testing.assert_close(slerp(c, 3 * c, 0.5), 2 * c)


def test_lerp_is_the_straight_line():
    a, b = torch.tensor([1.0, -2.0]), torch.tensor([3.0, 2.0])
    torch.testing.assert_close(lerp(a, b, 0.25), torch.tensor([1.5, -1.0]))


@pytest.mark.parametrize("method", ["linear", "spherical"])
def test_the_path_visits_every_code_at_the_start_of_its_leg(method):
    codes = torch.randn(3, 5, generator=torch.Generator().manual_seed(1))
    path = interpolate(codes, 4, method)
    assert path.shape == (4 * 2 + 1, 5)
    for k in range(3):
        torch.testing.assert_close(path[4 * k], codes[k])
    mid = (codes[0] + codes[1]) / 2 if method == "linear" else None
    if mid is not None:
        torch.testing.assert_close(path[2], mid)


def test_path_refuses_one_code_and_unknown_methods():
    with pytest.raises(ConfigError, match="at least two codes"):
        interpolate(torch.zeros(1, 4), 4)
    with pytest.raises(ConfigError, match="choose one of: linear, spherical"):
        interpolate(torch.zeros(2, 4), 4, "cubic")


def test_seed_codes_are_the_draw_of_each_seed():
    z = seed_codes([3, 7], 6)
    torch.testing.assert_close(z[0], torch.randn(1, 6, generator=torch.Generator().manual_seed(3))[0])
    torch.testing.assert_close(z[1], torch.randn(1, 6, generator=torch.Generator().manual_seed(7))[0])
