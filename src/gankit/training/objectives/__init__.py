"""Training objectives: what one training step optimises, and their registry.

An objective is a class registered with :func:`register_objective`; the trainer
builds the one its model family asks for with :func:`create_objective` and hands
itself over: the objective reads the networks, optimisers, noise and config from
the trainer and updates them. ``adversarial`` trains a GAN (one D update, then
one G update), ``vae`` a variational auto-encoder, whose encoder takes the
second network's place. A new objective is one module and a registration::

    @register_objective("paired", families=("pix2pix",))
    class PairedObjective:
        def __init__(self, trainer): ...
        def train_step(self, real, real_labels, with_stats): ...
"""

from __future__ import annotations

from typing import Any, Protocol

import torch

from gankit.errors import ConfigError
from gankit.registry import Registry


class Objective(Protocol):
    """What the trainer calls: ``d_step`` and ``g_step`` are one update of each network, ``train_step`` a whole step."""

    def d_step(self, real: torch.Tensor, real_labels: torch.Tensor | None, with_stats: bool = False) -> dict[str, float]: ...

    def g_step(self, with_stats: bool = False) -> dict[str, float]: ...

    def train_step(self, real: torch.Tensor, real_labels: torch.Tensor | None, with_stats: bool = False) -> dict[str, float]: ...


OBJECTIVES: Registry[type] = Registry("training objective")
_FAMILIES: dict[str, str] = {}  # model family -> the objective that trains it (default: adversarial)


def register_objective(name: str, families: tuple[str, ...] = ()):
    """Register an objective class as ``name``; ``families`` are the model families it trains instead of ``adversarial``."""

    def decorator(cls: type) -> type:
        OBJECTIVES.register(name)(cls)
        for family in families:
            _FAMILIES[family] = name
        return cls

    return decorator


def objective_for_model(model_name: str) -> str:
    """The name of the objective that trains model family ``model_name``."""
    return _FAMILIES.get(model_name, "adversarial")


def create_objective(name: str, trainer: Any) -> Objective:
    """Build objective ``name`` for ``trainer``."""
    if name not in OBJECTIVES:
        raise ConfigError(f"unknown training objective {name!r}; known: {', '.join(OBJECTIVES.names())}")
    return OBJECTIVES.get(name)(trainer)


# The built-in objectives register themselves when imported.
from gankit.training.objectives import adversarial, encoder, paired, vae  # noqa: E402

__all__ = ["OBJECTIVES", "Objective", "adversarial", "create_objective", "encoder", "objective_for_model", "paired", "register_objective", "vae"]
