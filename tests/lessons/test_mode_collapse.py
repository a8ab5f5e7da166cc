"""Lesson 5's mode counts, recounted independently from the samples it saved: a mode of the ring (8 means on the
unit circle at angles 2 pi k / 8, std 0.01) is covered when a sample lies within 3 std of it (VEEGAN, Section 5.1).

pytest run: PYTHONPATH=src python -m pytest tests/lessons/test_mode_collapse.py
"""

from __future__ import annotations

import numpy as np


def test_mode_counts_match_a_recount_of_the_saved_samples(tiny_lesson):
    out, record = tiny_lesson("mode-collapse")
    numbers = record["numbers"]
    angles = 2 * np.pi * np.arange(8) / 8
    means = np.stack([np.cos(angles), np.sin(angles)], axis=1)  # (8, 2)
    saved = np.load(out / "mode-collapse-points.npz")
    assert sorted(saved.files) == sorted(numbers["methods"])
    for name, method in numbers["methods"].items():
        points = saved[name].astype(np.float64)  # (2500, 2)
        assert points.shape == (numbers["samples"], 2)
        distance = np.linalg.norm(points[:, None, :] - means[None, :, :], axis=2)  # (N, 8)
        near = distance.min(axis=1) <= 3 * 0.01
        final = method["scores"][-1]
        assert final["step"] == numbers["steps"]
        assert final["modes"] == len(set(distance.argmin(axis=1)[near]))
        assert abs(final["high_quality"] - near.mean()) < 1e-12


def test_an_all_collapsed_sample_set_counts_one_mode():
    """The recount above and gankit's scorer agree on a hand-made collapse: every sample on mode 3."""
    import torch

    from gankit.data.toy2d import RING
    from gankit.metrics.modes import score_mixture

    points = RING.means[3].float() + 0.005 * torch.randn(2500, 2, generator=torch.Generator().manual_seed(0))
    score = score_mixture(points, RING)
    assert score.modes == 1 and abs(score.reverse_kl - np.log(8)) < 1e-9
