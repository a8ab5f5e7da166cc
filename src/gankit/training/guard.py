"""Divergence guard: NaN/Inf detection, and the rollback policy.

The trainer checks each loss before its backward pass and each gradient before its
optimiser step, and :func:`check_weights` checks every weight before a step is
counted. A non-finite value raises :class:`NonFiniteLossError`: the update is not
applied, and the trainer rolls back to the last good checkpoint (kept in memory as
the exact bytes written to disk), multiplies the learning rates by
``train.rollback_lr_factor`` and carries on; after ``train.max_rollbacks``
rollbacks it stops with :class:`DivergenceError`. A checkpoint is written only
after :func:`first_nonfinite_in_state` found nothing, so a NaN checkpoint never
reaches the disk.

The fast check sums each tensor in float32: a NaN or an Inf anywhere makes the
sum non-finite, so nothing is missed. Finite values so large that their sum
overflows float32 (|x| around 1e32 and above) also count as divergence.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator
from typing import Any

import torch
from torch import nn

from gankit.errors import GankitError

log = logging.getLogger("gankit")


class NonFiniteLossError(GankitError):
    """A loss, gradient or weight became NaN or Inf; the step was not applied."""


class DivergenceError(NonFiniteLossError):
    """Training kept producing NaN/Inf after the allowed number of rollbacks."""


def _all_finite(tensors: Iterable[torch.Tensor]) -> bool:
    sums = [t.detach().sum(dtype=torch.float32) for t in tensors if t.is_floating_point() or t.is_complex()]
    if not sums:
        return True
    return bool(torch.isfinite(torch.stack(sums).sum()))


def _describe(label: str, tensor: torch.Tensor) -> str:
    values = tensor.detach()
    kinds = [kind for kind, mask in (("nan", values.isnan()), ("inf", values.isinf())) if bool(mask.any())]
    if values.numel() == 1:
        return f"{label} became {float(values.float())}"
    bad = int((~torch.isfinite(values)).sum())
    return f"{label} holds {bad} {'/'.join(kinds) or 'non-finite'} value(s)"


def check_weights(modules: dict[str, nn.Module], step: int) -> None:
    """Raise :class:`NonFiniteLossError` unless every weight of ``modules`` is finite (the check after a step)."""
    named = [(f"{owner} weight {name}", p) for owner, module in modules.items() for name, p in module.named_parameters()]
    if _all_finite(p for _, p in named):
        return
    for label, tensor in named:
        if not bool(torch.isfinite(tensor.detach()).all()):
            raise NonFiniteLossError(f"{_describe(label, tensor)} after step {step + 1}; the step was not kept")
    raise NonFiniteLossError(f"weights overflow float32 after step {step + 1}; the step was not kept")


def _state_tensors(value: Any, prefix: str) -> Iterator[tuple[str, torch.Tensor]]:
    if isinstance(value, torch.Tensor):
        yield prefix, value
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from _state_tensors(item, f"{prefix}.{key}" if prefix else str(key))
    elif isinstance(value, (list, tuple)):
        for index, item in enumerate(value):
            yield from _state_tensors(item, f"{prefix}[{index}]")


def first_nonfinite_in_state(state: dict[str, Any], skip: tuple[str, ...] = ("rng",)) -> str | None:
    """The dotted key of the first floating tensor in ``state`` holding NaN/Inf, or None when all are finite."""
    named = [(k, t) for k, t in _state_tensors(state, "") if k.split(".")[0].split("[")[0] not in skip]
    if _all_finite(t for _, t in named):
        return None
    for key, tensor in named:
        if (tensor.is_floating_point() or tensor.is_complex()) and not bool(torch.isfinite(tensor).all()):
            return key
    return None  # only an overflowing sum of huge finite values: not a NaN


def roll_back(trainer: Any, error: NonFiniteLossError) -> None:
    """Return ``trainer`` to its last good state with lower learning rates, or stop after ``train.max_rollbacks``."""
    from gankit.run import Checkpoint

    limit, factor = trainer.cfg.train.max_rollbacks, trainer.cfg.train.rollback_lr_factor
    good = Checkpoint.decode(trainer._good_checkpoint, "the last good state")
    if trainer.rollbacks >= limit:
        raise DivergenceError(
            f"{error}; stopped after {trainer.rollbacks} rollback(s) (train.max_rollbacks={limit}); "
            f"the last good state is step {good.step}: lower optim.lr_g/optim.lr_d or raise train.max_rollbacks, then resume"
        )
    rollbacks, failed_step = trainer.rollbacks + 1, trainer.step
    trainer.load_state_dict(good, "the last good state")
    trainer.rollbacks = rollbacks
    trainer.set_learning_rates(trainer.total_steps)  # x rollback_lr_factor per rollback
    if trainer.strategy.is_main:  # one process owns metrics.jsonl
        trainer.run.truncate_metrics(trainer.step)
    log.warning(
        "%s; rolled back from step %d to step %d and multiplied the learning rates by %g (now G %.3g, D %.3g); rollback %d of %d",
        error, failed_step, trainer.step, factor, trainer.opt_g.param_groups[0]["lr"], trainer.opt_d.param_groups[0]["lr"], rollbacks, limit,
    )


def finite_grad_norm(name: str, module: nn.Module, step: int) -> torch.Tensor:
    """The gradient norm of ``module``; raises before the optimiser step when it is NaN or Inf."""
    from gankit.training.diagnostics import grad_norm

    norm = grad_norm(module)
    if not torch.isfinite(norm):
        raise NonFiniteLossError(f"{name} gradient norm became {float(norm)} at step {step}; the update was not applied")
    return norm
