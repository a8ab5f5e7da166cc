"""Per-step statistics that show a GAN going wrong, and the warnings they raise.

Logged at every ``train.log_every`` step: the mean D output on real and fake
batches (as probabilities, sigmoid of the logits, and as raw outputs), the
fraction of the batch D classifies correctly, and the gradient norms of G and D.

:class:`InstabilityMonitor` warns (once per episode) when

- D wins outright for ``patience`` logged steps in a row: it classifies nearly
  every real and fake sample correctly, so the generator's gradient vanishes
  (Arjovsky & Bottou, "Towards Principled Methods for Training GANs", ICLR 2017);
- a loss explodes: its magnitude exceeds ``explode_factor`` times the median of
  the recent logged magnitudes (and an absolute floor).

NaN and Inf never reach the weights: the trainer checks losses and gradients
before each optimiser step (see ``Trainer.check_finite``).
"""

from __future__ import annotations

import logging
import statistics
import time
from collections import deque
from typing import Any

import torch
from torch import nn

log = logging.getLogger("gankit")


def grad_norm(module: nn.Module) -> torch.Tensor:
    """The L2 norm of all of ``module``'s gradients, as a 0-d tensor (0 when there are none)."""
    grads = [p.grad.detach().float() for p in module.parameters() if p.grad is not None]
    if not grads:
        return torch.zeros(())
    return torch.nn.utils.get_total_norm(grads, norm_type=2.0)  # foreach kernels where the device has them


@torch.no_grad()
def discriminator_stats(real_logits: torch.Tensor, fake_logits: torch.Tensor, threshold: float = 0.0) -> dict[str, float]:
    """D(x), D(G(z)) means and D's accuracy on a real and a fake batch of outputs."""
    real, fake = real_logits.float(), fake_logits.float()
    return {
        "d_real": float(torch.sigmoid(real).mean()),
        "d_fake": float(torch.sigmoid(fake).mean()),
        "logit_real": float(real.mean()),
        "logit_fake": float(fake.mean()),
        "d_accuracy": float(((real > threshold).float().mean() + (fake <= threshold).float().mean()) / 2),
    }


class InstabilityMonitor:
    """Watches logged statistics and returns warnings for a person to read.

    Args:
        patience: logged steps in a row with ``d_accuracy >= win_accuracy`` before warning.
        win_accuracy: the accuracy that counts as D winning outright.
        explode_factor: a loss magnitude this many times the recent median is an explosion.
        explode_floor: magnitudes below this are never called explosions.
        window: how many logged values make the recent median.
    """

    def __init__(self, patience: int = 10, win_accuracy: float = 0.99, explode_factor: float = 20.0,
                 explode_floor: float = 10.0, window: int = 20) -> None:
        self.patience, self.win_accuracy = patience, win_accuracy
        self.explode_factor, self.explode_floor = explode_factor, explode_floor
        self.wins = 0
        self.history: dict[str, deque] = {}
        self.window = window

    def observe(self, step: int, stats: dict[str, float]) -> list[str]:
        warnings: list[str] = []
        accuracy = stats.get("d_accuracy")
        if accuracy is not None:
            self.wins = self.wins + 1 if accuracy >= self.win_accuracy else 0
            if self.wins == self.patience:
                warnings.append(
                    f"step {step}: the discriminator has classified >= {self.win_accuracy:.0%} of real and fake samples correctly "
                    f"for {self.patience} logged steps in a row; the generator's gradient is vanishing (try a lower optim.lr_d, "
                    "reg.r1_gamma > 0, augment.policy, or loss.name=hinge)"
                )
        for key in ("d_loss", "g_loss"):
            if key not in stats:
                continue
            magnitude = abs(stats[key])
            past = self.history.setdefault(key, deque(maxlen=self.window))
            if len(past) >= 5:
                median = statistics.median(past)
                if magnitude > self.explode_floor and magnitude > self.explode_factor * max(median, 1e-3):
                    warnings.append(f"step {step}: {key} exploded to {stats[key]:.4g} (recent median magnitude {median:.3g})")
            past.append(magnitude)
        return warnings


def log_step(trainer: Any, stats: dict[str, float], bar: Any) -> None:
    """A metrics record of the step just taken, the progress bar's figures and any instability warning."""
    now, spe = time.perf_counter(), trainer.sampler.steps_per_epoch
    mark_time, mark_step = trainer.mark  # the time and step of the last record
    ips = (trainer.step - mark_step) * trainer.cfg.train.batch_size / max(now - mark_time, 1e-9)
    trainer.mark = now, trainer.step
    trainer.log_metrics({"step": trainer.step, "epoch": trainer.step / spe, **stats, "images_per_s": ips})
    shown = {short: f"{stats[key]:.3f}" for key, short in (("d_loss", "d"), ("g_loss", "g"), ("loss", "loss")) if key in stats}
    bar.set_postfix(epoch=trainer.step // spe, **shown, img_s=f"{ips:.0f}")
    for warning in trainer.monitor.observe(trainer.step, stats):
        log.warning("%s", warning)
