"""The loss curve: records of D-only steps (optim.n_critic > 1) carry no G figures and are plotted without them."""

import json

import matplotlib.pyplot as plt
import pytest

from gankit.training import plots
from gankit.training.config import config_from_dict
from gankit.training.trainer import Trainer
from tests.reliability.conftest import TINY


def _record(step, g=True):
    record = {"step": step, "d_loss": 1.0 + step, "d_real": 0.6, "d_fake": 0.4, "grad_norm_d": 2.0 * step}
    if g:
        record.update(g_loss=10.0 + step, grad_norm_g=3.0 * step)
    return record


@pytest.fixture
def drawn(monkeypatch):
    """The figures plot_training_curves closes, so that their lines can be read."""
    figures = []
    real_close = plt.close
    monkeypatch.setattr(plt, "close", lambda fig=None: figures.append(fig) or real_close(fig))
    return figures


def _lines(ax):
    return {line.get_label(): (list(line.get_xdata()), list(line.get_ydata())) for line in ax.get_lines()}


def test_g_figures_are_plotted_at_the_steps_that_have_them(tmp_path, drawn):
    metrics = tmp_path / "metrics.jsonl"
    metrics.write_text("".join(json.dumps(_record(s, g=s % 2 == 0)) + "\n" for s in (1, 2, 3, 4)))
    out = plots.plot_training_curves(metrics, tmp_path / "loss_curve.png")
    assert out.read_bytes().startswith(b"\x89PNG")
    losses, _, norms = drawn[0].axes
    assert _lines(losses) == {"D loss": ([1, 2, 3, 4], [2.0, 3.0, 4.0, 5.0]), "G loss": ([2, 4], [12.0, 14.0])}
    assert _lines(norms) == {"|grad D|": ([1, 2, 3, 4], [2.0, 4.0, 6.0, 8.0]), "|grad G|": ([2, 4], [6.0, 12.0])}


def test_a_run_without_any_g_figure_still_gets_its_curve(tmp_path, drawn):
    metrics = tmp_path / "metrics.jsonl"
    metrics.write_text(json.dumps(_record(1, g=False)) + "\n")
    assert plots.plot_training_curves(metrics, tmp_path / "loss_curve.png").is_file()
    assert list(_lines(drawn[0].axes[0])) == ["D loss"]


def test_n_critic_run_logging_every_step_writes_its_loss_curve(tmp_path):
    raw = {section: dict(values) for section, values in TINY.items()}
    raw["train"].update(max_steps=4, log_every=1)
    raw["optim"] = {"n_critic": 2}
    Trainer(config_from_dict(raw), tmp_path / "run").train(progress=False)
    records = [json.loads(line) for line in (tmp_path / "run" / "metrics.jsonl").read_text().splitlines()]
    assert "g_loss" not in records[0] and "g_loss" in records[1]  # step 1 updates D only
    assert (tmp_path / "run" / "loss_curve.png").read_bytes().startswith(b"\x89PNG")
