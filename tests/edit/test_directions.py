"""Class directions (pytest run): a known hyperplane is recovered, an edit lands at the asked distance, rare classes are refused."""

from __future__ import annotations

import pytest
import torch

from gankit.edit.directions import ClassBoundaries, class_boundaries, fit_boundary
from gankit.errors import ConfigError


def test_logistic_regression_recovers_a_known_boundary():
    gen = torch.Generator().manual_seed(0)
    z = torch.randn(4000, 8, generator=gen)
    normal = torch.tensor([1.0, 2.0, 0.0, -1.0, 0.0, 0.0, 0.5, 0.0])
    normal = normal / normal.norm()
    positive = z @ normal - 0.7 > 0  # the boundary sits 0.7 from the origin
    fitted, offset = fit_boundary(z, positive)
    assert float(fitted @ normal) > 0.99
    assert abs(offset - (-0.7)) < 0.1


def test_an_edit_moves_each_code_to_the_asked_distance_and_leaves_deeper_codes_alone():
    normals = torch.tensor([[1.0, 0.0, 0.0], [0.0, 0.6, 0.8]])
    bounds = ClassBoundaries(normals, torch.tensor([0.5, -1.0]), torch.tensor([100, 100]))
    z = torch.tensor([[0.0, 0.0, 0.0], [4.0, 1.0, 1.0], [-2.0, 3.0, 0.0]])
    edited = bounds.edit(z, 0, strength=2.0)
    # distance to class 0's boundary: x + 0.5; codes below 2 are moved along (1, 0, 0) to exactly 2
    torch.testing.assert_close(edited[0], torch.tensor([1.5, 0.0, 0.0]))
    torch.testing.assert_close(edited[1], z[1])  # 4.5 > 2 already
    torch.testing.assert_close(edited[2], torch.tensor([1.5, 3.0, 0.0]))
    moved = bounds.edit(z, torch.tensor([1, 1, 1]), strength=1.0)
    torch.testing.assert_close(bounds.distance(moved)[:, 1].clamp(max=1.0), torch.ones(3))
    with pytest.raises(ConfigError, match="not one of the 2 classes 0..1"):
        bounds.edit(z, 2, 1.0)


def test_one_boundary_per_class_and_a_rare_class_is_refused():
    gen = torch.Generator().manual_seed(1)
    z = torch.randn(600, 4, generator=gen)
    labels = z[:, :3].argmax(dim=1)  # three classes split by the first three axes
    bounds = class_boundaries(z, labels, 3)
    assert bounds.normals.shape == (3, 4) and bounds.counts.tolist() == torch.bincount(labels).tolist()
    for k in range(3):
        assert int(bounds.normals[k].argmax()) == k
    accuracy = float((bounds.distance(z).argmax(dim=1) == labels).double().mean())
    assert accuracy > 0.9
    with pytest.raises(ConfigError, match="class 3: only 0 of 600 samples read as it"):
        class_boundaries(z, labels, 4)


def test_an_edit_that_keeps_the_norm_lands_on_the_circle_at_the_asked_distance():
    # one boundary y = 0 in the plane (normal (0, 1), offset 0); codes of norm 5
    bounds = ClassBoundaries(torch.tensor([[0.0, 1.0]]), torch.tensor([0.0]), torch.tensor([10]))
    z = torch.tensor([[5.0, 0.0], [-3.0, -4.0], [0.0, 5.0]])
    edited = bounds.edit(z, 0, strength=3.0, keep_norm=True)
    # by hand: the point of the circle of radius 5 at height 3 on the side the code starts: (+-4, 3); (0, 5) is past it
    torch.testing.assert_close(edited, torch.tensor([[4.0, 3.0], [-4.0, 3.0], [0.0, 5.0]]), atol=1e-4, rtol=0)
    # a distance the circle cannot reach ends at the circle's top, as far past as it gets
    torch.testing.assert_close(bounds.edit(z[:1], 0, strength=7.0, keep_norm=True), torch.tensor([[0.0, 5.0]]), atol=1e-2, rtol=0)
    torch.testing.assert_close(bounds.edit(z, 0, strength=3.0), torch.tensor([[5.0, 3.0], [-3.0, 3.0], [0.0, 5.0]]))  # plain move
