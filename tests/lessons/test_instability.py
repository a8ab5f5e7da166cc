"""Lesson 6: the drift measure against hand-computed movements, and the tiny run's table.

pytest run: PYTHONPATH=src python -m pytest tests/lessons/test_instability.py
"""

from __future__ import annotations

import torch

from gankit.lessons.instability import drift


def test_drift_is_the_mean_move_over_the_second_half():
    base = torch.zeros(4, 2)
    shots = [{"step": s, "points": base + torch.tensor([[x, 0.0]])} for s, x in ((0, 9.0), (10, 0.0), (20, 3.0), (30, 3.0), (40, 7.0))]
    # second half: steps 20, 30, 40; moves 0 then 4 (every point moves the same)
    assert drift(shots) == 2.0
    shots[-1]["points"] = base + torch.tensor([[3.0, 4.0], [3.0, 0.0], [3.0, 0.0], [3.0, 0.0]])  # one point moves 4, the rest 0
    assert drift(shots) == 0.5


def test_every_method_is_measured(tiny_lesson):
    numbers = tiny_lesson("instability")[1]["numbers"]
    assert list(numbers["methods"]) == ["plain GAN", "spectral norm on D", "R1 (gamma 0.1)", "EMA of G (half-life 20k images)",
                                        "TTUR (lr_g 1.25e-4, lr_d 5e-4)"]
    for method in numbers["methods"].values():
        assert [s["step"] for s in method["scores"]] == numbers["snapshots"]
        assert method["drift"] >= 0 and method["d_loss_std"] >= 0
