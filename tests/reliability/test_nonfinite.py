"""NaN/Inf in a loss, a gradient or the weights: caught before an optimiser step uses it, the run
rolls back to its last good checkpoint with lower learning rates, and after K rollbacks it stops
with one clear message. No checkpoint on disk ever holds a NaN.

The reference for a rollback is independent of the rollback code: a fresh trainer resumed from
the last good checkpoint file, its learning rates multiplied by the factor by hand, trained on.
"""

from __future__ import annotations

import dataclasses
import math
import shutil

import pytest
import torch

from gankit.cli import main
from gankit.training.guard import DivergenceError, NonFiniteLossError
from gankit.training.trainer import Trainer
from tests.reliability.conftest import assert_same_training_state, read_payload, tiny_config, write_tiny_config

STEPS, FAULT_STEP, GOOD = 20, 15, 10  # checkpoints every 10 steps; the fault hits step 16 (index 15)


def _checkpoints(run_dir):
    return sorted((run_dir / "checkpoints").glob("ckpt-*.ckpt"))


def _assert_all_checkpoints_finite(run_dir):
    for path in _checkpoints(run_dir):
        state = read_payload(path)
        for key in ("generator", "discriminator"):
            for name, value in state[key].items():
                assert torch.isfinite(value).all(), f"{path.name}: {key}.{name}"
        for key in ("opt_g", "opt_d"):
            for slot in state[key]["state"].values():
                for name, value in slot.items():
                    assert torch.isfinite(value).all(), f"{path.name}: {key}.{name}"


def _spy_on_optimisers(trainer: Trainer) -> list[str]:
    """Record every optimiser step taken with a non-finite gradient or weight (there must be none)."""
    violations: list[str] = []
    for name, opt in (("opt_d", trainer.opt_d), ("opt_g", trainer.opt_g)):
        original = opt.step

        def step(*args, _original=original, _opt=opt, _name=name, **kwargs):
            for group in _opt.param_groups:
                for p in group["params"]:
                    if not torch.isfinite(p).all() or (p.grad is not None and not torch.isfinite(p.grad).all()):
                        violations.append(f"{_name} at step {trainer.step}")
            return _original(*args, **kwargs)

        opt.step = step
    return violations


def _reference_after_rollback(tmp_path, good_checkpoint, factor=0.5) -> dict:
    """Resume from the good checkpoint file with the configured learning rates x ``factor``, train to the end."""
    run_dir = tmp_path / "reference"
    (run_dir / "checkpoints").mkdir(parents=True)
    shutil.copy(good_checkpoint, run_dir / "checkpoints" / f"ckpt-{GOOD:09d}.ckpt")
    cfg = tiny_config(max_steps=STEPS)
    cfg.optim.lr_g *= factor
    cfg.optim.lr_d *= factor
    trainer = Trainer(cfg, run_dir)
    assert trainer.resume() is not None and trainer.step == GOOD
    trainer.train(progress=False)
    return read_payload(run_dir / "checkpoints" / f"ckpt-{STEPS:09d}.ckpt")


def _inject_nan_loss(trainer, which="discriminator", at=(FAULT_STEP,)):
    loss = trainer.loss
    original = getattr(loss, which)
    fired = []

    def poisoned(*args, **kwargs):
        value = original(*args, **kwargs)
        if trainer.step in at and trainer.step not in fired:
            fired.append(trainer.step)
            return value * float("nan")
        return value

    trainer.loss = dataclasses.replace(loss, **{which: poisoned})


def _inject_inf_gradient(trainer):
    param = next(trainer.generator.parameters())
    fired = []

    def hook(grad):
        if trainer.step == FAULT_STEP and not fired:
            fired.append(True)
            return grad * float("inf")
        return grad

    param.register_hook(hook)


def _inject_nan_weight_before_step(trainer):
    original = trainer.next_batch
    fired = []

    def next_batch():
        if trainer.step == FAULT_STEP and not fired:
            fired.append(True)
            with torch.no_grad():
                next(trainer.discriminator.parameters()).view(-1)[0] = float("nan")
        return original()

    trainer.next_batch = next_batch


def _inject_inf_weight_after_step(trainer):
    """The optimiser step itself leaves an Inf in the weights (finite gradients): caught before the step counts."""
    original = trainer.opt_g.step
    fired = []

    def step(*args, **kwargs):
        out = original(*args, **kwargs)
        if trainer.step == FAULT_STEP and not fired:
            fired.append(True)
            with torch.no_grad():
                list(trainer.generator.parameters())[-1].view(-1)[0] = float("inf")
        return out

    trainer.opt_g.step = step


FAULTS = {
    "nan_in_d_loss": (_inject_nan_loss, "discriminator loss"),
    "nan_in_g_loss": (lambda t: _inject_nan_loss(t, "generator"), "generator loss"),
    "inf_in_gradient": (_inject_inf_gradient, "gradient"),
    "nan_in_weights": (_inject_nan_weight_before_step, "discriminator loss"),
    "inf_in_weights_after_step": (_inject_inf_weight_after_step, "generator weight"),
}


@pytest.mark.parametrize("fault", list(FAULTS))
def test_one_fault_rolls_back_once_and_lowers_the_learning_rate(tmp_path, gankit_log, fault):
    inject, needle = FAULTS[fault]
    run_dir = tmp_path / "run"
    trainer = Trainer(tiny_config(max_steps=STEPS), run_dir)
    violations = _spy_on_optimisers(trainer)
    inject(trainer)
    result = trainer.train(progress=False)

    assert result.status == "finished" and trainer.step == STEPS
    assert violations == [], violations
    warnings = [m for m in gankit_log if "rolled back" in m]
    assert len(warnings) == 1 and needle in warnings[0] and f"to step {GOOD}" in warnings[0], gankit_log
    final = read_payload(run_dir / "checkpoints" / f"ckpt-{STEPS:09d}.ckpt")
    assert final["rollbacks"] == 1
    assert [g["lr"] for g in final["opt_g"]["param_groups"]] == [0.5 * 2e-4]
    _assert_all_checkpoints_finite(run_dir)

    good = tmp_path / "good.ckpt"
    shutil.copy(run_dir / "checkpoints" / f"ckpt-{GOOD:09d}.ckpt", good)  # still kept (keep_checkpoints=3)
    assert_same_training_state(final, _reference_after_rollback(tmp_path, good))


def test_fault_before_the_first_checkpoint_rolls_back_to_the_start(tmp_path, gankit_log):
    trainer = Trainer(tiny_config(max_steps=12), tmp_path / "run")
    start = {k: v.clone() for k, v in trainer.generator.state_dict().items()}
    _inject_nan_loss(trainer, at=(4,))
    trainer.train(progress=False)
    assert any("to step 0" in m for m in gankit_log), gankit_log
    assert trainer.rollbacks == 1 and trainer.step == 12
    assert any(not torch.equal(start[k], v) for k, v in trainer.generator.state_dict().items())
    _assert_all_checkpoints_finite(tmp_path / "run")


def test_persistent_nan_stops_after_k_rollbacks_and_writes_no_nan(tmp_path, gankit_log):
    run_dir = tmp_path / "run"
    trainer = Trainer(tiny_config(max_steps=STEPS, max_rollbacks=2, rollback_lr_factor=0.1), run_dir)
    original = trainer.loss.discriminator

    def always_nan(*args, **kwargs):
        value = original(*args, **kwargs)
        return value * float("nan") if trainer.step >= FAULT_STEP else value

    trainer.loss = dataclasses.replace(trainer.loss, discriminator=always_nan)
    with pytest.raises(DivergenceError) as caught:
        trainer.train(progress=False)
    message = str(caught.value)
    assert "\n" not in message
    assert "discriminator loss" in message and "stopped after 2 rollback(s)" in message and f"step {GOOD}" in message
    rates = [m for m in gankit_log if "rolled back" in m]
    assert len(rates) == 2 and "rollback 1 of 2" in rates[0] and "rollback 2 of 2" in rates[1]
    assert [p.name for p in _checkpoints(run_dir)] == [f"ckpt-{GOOD:09d}.ckpt"]
    _assert_all_checkpoints_finite(run_dir)
    assert not (run_dir / "export").exists()  # nothing from the diverged state was written


def test_persistent_nan_from_the_data_through_the_cli_is_one_line(tmp_path, monkeypatch, capsys):
    original = Trainer.next_batch

    def corrupt_batches(self):
        real, labels = original(self)
        return (real * float("nan") if self.step >= FAULT_STEP else real), labels

    monkeypatch.setattr(Trainer, "next_batch", corrupt_batches)
    config = write_tiny_config(tmp_path, max_steps=STEPS, max_rollbacks=1)
    assert main(["train", str(config), "--run-dir", str(tmp_path / "run"), "--no-progress"]) == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err
    errors = [line for line in err.splitlines() if line.startswith("gankit: error:")]
    assert len(errors) == 1 and "discriminator loss became nan" in errors[0] and "max_rollbacks=1" in errors[0]
    _assert_all_checkpoints_finite(tmp_path / "run")


def test_a_non_finite_state_is_never_written(tmp_path):
    run_dir = tmp_path / "run"
    trainer = Trainer(tiny_config(max_steps=GOOD), run_dir)
    trainer.train(progress=False)
    before = {p.name: p.read_bytes() for p in _checkpoints(run_dir)}
    trainer.step += 1  # a new file name, so a write would show
    state = trainer.opt_d.state[next(iter(trainer.discriminator.parameters()))]
    state["exp_avg_sq"].view(-1)[0] = math.inf
    with pytest.raises(NonFiniteLossError, match="exp_avg_sq"):
        trainer.save_checkpoint()
    assert {p.name: p.read_bytes() for p in _checkpoints(run_dir)} == before
    assert not list((run_dir / "checkpoints").glob(".*tmp*"))
