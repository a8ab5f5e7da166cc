"""Lesson 4 against hand-computed derivatives: on a logit l with D = sigmoid(l), d/dl log(1 - D) = -D and
d/dl (-log D) = -(1 - D), so the saturating loss's gradient vanishes as D(G(z)) -> 0 and the other's does not.

pytest run: PYTHONPATH=src python -m pytest tests/lessons/test_vanishing_gradients.py
"""

from __future__ import annotations

import pytest


def test_per_sample_derivatives_are_d_and_one_minus_d(tiny_lesson):
    table = tiny_lesson("vanishing-gradients")[1]["numbers"]["logit_gradient_at"]
    for d_text, derivative in table.items():
        d = float(d_text)
        assert derivative["saturating"] == pytest.approx(d, abs=1e-12)
        assert derivative["non_saturating"] == pytest.approx(1 - d, abs=1e-12)


def test_probes_cover_the_run_and_both_runs_start_from_the_same_weights(tiny_lesson):
    numbers = tiny_lesson("vanishing-gradients")[1]["numbers"]
    runs = numbers["runs"]
    first = [run["probes"][0] for run in runs.values()]
    assert first[0] == first[1]  # step 0: the same G and D, so the same scores and gradients
    for run in runs.values():
        steps = [p["step"] for p in run["probes"]]
        assert steps == list(range(0, numbers["steps"] + 1, numbers["probe_every"]))
        assert all(0 < p["d_fake"] < 1 and p["grad_norm_saturating"] > 0 for p in run["probes"])
