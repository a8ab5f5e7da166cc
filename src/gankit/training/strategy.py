"""How the trainer's work is shared between processes: the single-process strategy.

The trainer is given a strategy and asks it, at the few points where a
distributed run differs, which part of a global draw is this process's, how to
agree on statistics, and whether this process writes files.
:class:`~gankit.training.distributed.DistributedStrategy` is the torch.distributed
one; this one is a single process, where every answer is "all of it".
"""

from __future__ import annotations

from typing import Any, Callable

import torch
from torch import nn

from gankit.errors import ConfigError
from gankit.training.config import TrainConfig
from gankit.training.guard import NonFiniteLossError


class SingleProcess:
    """One process: nothing to slice, average or share; it writes every file."""

    rank = 0
    world_size = 1
    is_main = True
    """False on every process of a distributed run but rank 0: those write no files."""

    def prepare(self, cfg: Any) -> None:
        """Called first, with the trainer's config: works out the per-process batch (here the whole batch)."""
        resolve_batch(cfg.train, self.world_size)

    def setup(self, trainer: Any) -> None:
        """Called once the trainer has built its networks and objective."""

    def load_data(self, load: Callable[[], Any]) -> Any:
        return load()

    def local(self, draw: torch.Tensor) -> torch.Tensor:
        """This process's part of a draw made for the global batch (B_global, ...) -> (B, ...)."""
        return draw

    def global_batch(self, batch: int) -> int:
        """The global batch of which ``batch`` is this process's part."""
        return batch

    def augment(self, augment: Callable[[torch.Tensor], torch.Tensor], images: torch.Tensor) -> torch.Tensor:
        return augment(images)

    def wrap(self, module: nn.Module) -> nn.Module:
        """The module that forward passes whose gradients must be shared go through."""
        return module

    def check_finite(self, name: str, value: torch.Tensor, step: int) -> None:
        if not torch.isfinite(value):
            raise NonFiniteLossError(f"{name} became {float(value.detach())} at step {step}; the update was not applied")

    def reduce_stats(self, stats: dict[str, float]) -> dict[str, float]:
        return stats

    def stop_reason(self, reason: str | None) -> str | None:
        return reason

    def share_labels(self, labels: torch.Tensor) -> torch.Tensor:
        return labels


def resolve_batch(train: TrainConfig, world_size: int) -> int:
    """Set and return ``train.batch_per_process`` = global batch / processes.

    Raises:
        ConfigError: the global batch does not split evenly, or a given per-process batch disagrees.
    """
    if train.batch_size % world_size:
        raise ConfigError(
            f"train.batch_size: the global batch {train.batch_size} does not split evenly over {world_size} processes; "
            f"use a multiple of {world_size}"
        )
    per_process = train.batch_size // world_size
    if train.batch_per_process is not None and train.batch_per_process != per_process:
        raise ConfigError(
            f"train.batch_per_process: {train.batch_per_process} x {world_size} processes is not the global batch "
            f"train.batch_size={train.batch_size}; set one of them so that they agree (or leave batch_per_process empty)"
        )
    train.batch_per_process = per_process
    return per_process
