"""Lesson 1 against closed forms: D* = p_data / (p_data + p_g) from scipy's normal densities, and
V(D*, G) = -log 4 + 2 JSD with the JSD integrated by scipy.integrate.quad.

pytest run: PYTHONPATH=src python -m pytest tests/lessons/test_the_game.py
"""

from __future__ import annotations

import math

import numpy as np
from scipy import integrate, stats


def density(x, means, std):
    return 0.5 * stats.norm.pdf(x, means[0], std) + 0.5 * stats.norm.pdf(x, means[1], std)


def reference_jsd(data_means, data_std, g_means, g_std) -> float:
    def integrand(x):
        p, q = density(x, data_means, data_std), density(x, g_means, g_std)
        m = 0.5 * (p + q)
        return 0.5 * (p * math.log(p / m) if p > 0 else 0.0) + 0.5 * (q * math.log(q / m) if q > 0 else 0.0)

    return integrate.quad(integrand, -12, 12, points=[-2, 0, 2], limit=200)[0]


def test_jsd_and_optimal_value_match_numerical_integration(tiny_lesson):
    numbers = tiny_lesson("the-game")[1]["numbers"]
    for stage in numbers["stages"]:
        expected = reference_jsd(numbers["data_means"], numbers["data_std"], stage["g_means"], stage["g_std"])
        assert abs(stage["jsd"] - expected) < 1e-6
        assert abs(stage["optimal_value"] - (-math.log(4) + 2 * expected)) < 2e-6
    assert numbers["stages"][-1]["jsd"] == 0.0  # the last stage is the data itself


def test_trained_discriminator_lands_on_the_closed_form_optimum(tiny_lesson):
    numbers = tiny_lesson("the-game")[1]["numbers"]
    x = np.array(numbers["grid"])
    p_data = density(x, numbers["data_means"], numbers["data_std"])
    for stage in numbers["stages"]:
        p_g = density(x, stage["g_means"], stage["g_std"])
        inside = p_data + p_g > numbers["support_threshold"]
        d_star = p_data / (p_data + p_g)
        error = np.abs(np.array(stage["trained_d"]) - d_star)[inside]
        assert error.mean() < 0.05, (stage["t"], error.mean())
        assert error.max() < 0.25, (stage["t"], error.max())
        # The trained D's value is a lower bound of the optimum, up to Monte Carlo noise.
        assert stage["trained_value"] < stage["optimal_value"] + 0.01
        assert stage["trained_value"] > stage["optimal_value"] - 0.05
    assert abs(numbers["stages"][-1]["trained_value"] + math.log(4)) < 0.01  # p_g = p_data: the value is -log 4
