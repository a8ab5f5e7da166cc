"""Lesson 8 at tiny size: the facts its text states about the four kinds of sample set.

pytest run: PYTHONPATH=src python -m pytest tests/lessons/test_measuring.py
"""

from __future__ import annotations

import torch

from gankit.lessons.measuring import blur, nearest_training_distance


def test_what_each_figure_sees(tiny_lesson):
    sets = tiny_lesson("measuring")[1]["numbers"]["sets"]
    real, memorised = sets["real (test images)"], sets["memorised (training images)"]
    collapsed, blurred = sets["collapsed (only 1s)"], sets["blurred (sigma 2 px)"]
    assert memorised["nearest_training_distance"] == 0.0 < real["nearest_training_distance"]  # copies, and only copies, sit on the data
    assert collapsed["recall"] < 0.5 * real["recall"]  # one class covers little of the real manifold
    assert collapsed["fid"] > real["fid"] and blurred["fid"] > real["fid"]


def test_blur_matches_a_hand_computed_kernel():
    image = torch.zeros(1, 1, 9, 9, dtype=torch.uint8)
    image[0, 0, 4, 4] = 255
    out = blur(image, 1.0)[0, 0].double()
    x = torch.arange(-2, 3, dtype=torch.float64)
    g = torch.exp(-x**2 / 2)
    g = g / g.sum()
    expected = (255 * g[:, None] * g[None, :]).round()  # the 5x5 Gaussian around the centre
    assert torch.equal(out[2:7, 2:7], expected) and out.sum() - expected.sum() == 0


def test_nearest_distance_is_per_image_euclidean():
    train = torch.zeros(3, 1, 2, 2, dtype=torch.uint8)
    train[1] = 255
    sample = torch.zeros(1, 1, 2, 2, dtype=torch.uint8)
    sample[0, 0, 0, 0] = 255  # distance 1 to image 0, sqrt(3) to image 1
    assert abs(nearest_training_distance(sample, train) - 1.0) < 1e-6
