"""The Lab's trainer: steps, stabilisers, and the frames the page draws (pytest tests/studio/test_lab.py)."""

from __future__ import annotations

import copy
import math

import pytest
import torch
import torch.nn.functional as F

from gankit.errors import ConfigError
from gankit.studio.lab import PRESETS, LabSettings, LabTrainer

SMALL = {"hidden": 16, "batch_size": 32, "heatmap_size": 8}


def trainer(**changes) -> LabTrainer:
    return LabTrainer(LabSettings().updated({**SMALL, **changes}))


def params(module) -> list[torch.Tensor]:
    return [p.detach().clone() for p in module.parameters()]


def same(a, b) -> bool:
    return all(torch.equal(x, y) for x, y in zip(a, b))


def test_d_step_moves_only_d_and_g_step_only_g():
    lab = trainer()
    g0, d0 = params(lab.generator), params(lab.discriminator)
    lab.d_step()
    g1, d1 = params(lab.generator), params(lab.discriminator)
    assert same(g0, g1) and not same(d0, d1)
    lab.g_step()
    assert not same(g1, params(lab.generator)) and same(d1, params(lab.discriminator))
    assert (lab.d_steps, lab.g_steps, lab.step_count) == (1, 1, 0)


def test_arrows_are_minus_the_gradient_of_each_points_loss_by_finite_differences():
    lab = trainer(loss="non_saturating")
    for _ in range(5):
        lab.train_step()
    frame = lab.frame()
    fake, arrows = torch.tensor(frame["fake"][:6], dtype=torch.float64), torch.tensor(frame["arrows"][:6])
    d = copy.deepcopy(lab.discriminator).double()
    h = 1e-5
    for point, arrow in zip(fake, arrows):
        expected = []
        for axis in range(2):
            step = torch.zeros(2, dtype=torch.float64)
            step[axis] = h
            loss = [F.softplus(-d((point + sign * step)[None]).logits).item() for sign in (1, -1)]  # -log D(x)
            expected.append(-(loss[0] - loss[1]) / (2 * h))
        torch.testing.assert_close(arrow, torch.tensor(expected, dtype=torch.float32), atol=2e-3, rtol=2e-2)


def test_heatmap_cells_are_d_at_their_centres_rows_from_the_top():
    lab = trainer(heatmap_size=4)
    lab.extent = [-2.0, 2.0, -1.0, 3.0]
    heat = lab.frame()["heatmap"]
    # 4 cells of width 1 a side: row 0 is the top (y = 2.5), column 0 the left (x = -1.5).
    for row, col, x, y in ((0, 0, -1.5, 2.5), (3, 0, -1.5, -0.5), (1, 2, 0.5, 1.5)):
        with torch.no_grad():
            expected = torch.sigmoid(lab.discriminator(torch.tensor([[x, y]])).logits).item()
        assert heat[row][col] == pytest.approx(expected, abs=1e-3)


def test_pacgan_heatmap_averages_packs_with_fake_partners():
    lab = trainer(pacgan=True, heatmap_size=4)
    heat = torch.tensor(lab.frame()["heatmap"])
    assert heat.shape == (4, 4) and ((heat > 0) & (heat < 1)).all()
    assert lab.discriminator.pack_size == 2


def test_r1_runs_lazily_every_4_d_steps():
    base = trainer(r1_gamma=0.0)
    with_r1 = copy.deepcopy(base)
    with_r1.apply(with_r1.settings.updated({"r1_gamma": 10.0}))
    base.d_step(); with_r1.d_step()  # d_steps 0: R1 is due
    assert not same(params(base.discriminator), params(with_r1.discriminator))
    base, with_r1 = copy.deepcopy(base), copy.deepcopy(base)
    with_r1.apply(with_r1.settings.updated({"r1_gamma": 10.0}))
    base.d_step(); with_r1.d_step()  # d_steps 1: not due, the same update
    assert same(params(base.discriminator), params(with_r1.discriminator))


def test_ttur_sets_ds_learning_rate_from_gs():
    lab = trainer(lr_g=2e-4, lr_d=1e-3)
    assert lab.opt_d.param_groups[0]["lr"] == 1e-3
    lab.apply(lab.settings.updated({"ttur": True, "ttur_ratio": 4.0}))
    assert lab.opt_d.param_groups[0]["lr"] == pytest.approx(8e-4) and lab.opt_g.param_groups[0]["lr"] == 2e-4


def test_ema_is_what_the_frame_shows():
    lab = trainer(ema=True, ema_half_life_kimg=1.0)
    lab.ema.rampup = None  # the full half-life from the first step, so that the average trails G visibly
    for _ in range(3):
        lab.train_step()
    with torch.no_grad():
        expected = lab.ema.module(lab.frame_z)
        raw = lab.generator(lab.frame_z)
    shown = torch.tensor(lab.frame()["fake"])
    torch.testing.assert_close(shown, expected, atol=1e-4, rtol=0)
    assert not torch.allclose(shown, raw, atol=1e-4)


def test_settings_that_need_it_start_again_and_the_others_do_not():
    lab = trainer()
    lab.train_step()
    assert lab.apply(lab.settings.updated({"lr_g": 5e-4, "loss": "hinge", "r1_gamma": 1.0})) is False
    assert lab.step_count == 1 and lab.opt_g.param_groups[0]["lr"] == 5e-4
    assert lab.apply(lab.settings.updated({"pacgan": True})) is True
    assert lab.step_count == 0


def test_the_same_seed_trains_the_same_way():
    a, b = trainer(seed=3), trainer(seed=3)
    for lab in (a, b):
        for _ in range(4):
            lab.train_step()
    assert a.frame()["fake"] == b.frame()["fake"]


def test_modes_count_the_shown_generators_points_on_the_ring():
    lab = trainer()
    modes = lab.modes()
    assert modes["total"] == 8 and 0 <= modes["covered"] <= 8
    assert trainer(dataset="drawn").modes() is None


def test_drawn_points_are_the_real_data():
    points = torch.tensor([[0.0, 0.0], [1.0, 1.0], [2.0, 0.5]])
    lab = LabTrainer(LabSettings().updated({**SMALL, "dataset": "drawn"}), drawn=points)
    assert torch.equal(lab.real_pool, points)
    low, high = lab.extent[0], lab.extent[1]
    assert low < 0 and high > 2


@pytest.mark.parametrize("changes, needle", [
    ({"loss": "wasserstein"}, "choose one of saturating, non_saturating, hinge"),
    ({"dataset": "moons"}, "choose one of ring, grid, drawn"),
    ({"batch_size": 33}, "must be even"),
    ({"lr_g": -1.0}, "lr_g"),
    ({"lr_d": math.inf}, "finite"),
    ({"pacgan": "yes"}, "not true or false"),
    ({"seed": 1.5}, "whole number"),
    ({"colour": 1}, "does not exist"),
])
def test_bad_settings_name_what_is_allowed(changes, needle):
    with pytest.raises(ConfigError, match=needle):
        LabSettings().updated(changes)


@pytest.mark.parametrize("points, needle", [
    ([[0.0, 0.0]], "between 2 and"),
    ([[0.0, 0.0], [math.nan, 1.0]], "finite"),
    ([[0.0, 0.0], [50.0, 1.0]], "in \\[-10, 10\\]"),
    ([[0.0, 0.0, 0.0], [1.0, 1.0, 1.0]], "pairs"),
])
def test_bad_drawn_points(points, needle):
    with pytest.raises(ConfigError, match=needle):
        LabTrainer(LabSettings().updated({**SMALL, "dataset": "drawn"}), drawn=torch.tensor(points))


def test_presets_are_valid_settings():
    for preset in PRESETS.values():
        LabSettings().updated(preset)
