"""Loss terms added to the adversarial loss, and their registry.

Each term is a registration around pure loss functions (``losses/regularizers.py``,
``losses/classifier.py``, ``losses/__init__.py``): it reads one step's
discriminator outputs and returns what it adds to D's or G's loss, already
weighted by the config's ``reg`` section, or None when it does not apply (the
discriminator has no such output, its weight is zero, or it is not due this
step). The trainer applies every registered term in registration order, so a
new term is one function and a :func:`register_term` call::

    @register_term("drift", stat="drift")
    def drift(step: DiscriminatorStep):
        value = step.real.logits.pow(2).mean()
        return 1e-3 * value, value

Terms that change the generator's logits before its loss (top-k) or need the
gradient of D with respect to the real images (R1) say so with ``generator_logits``
and ``needs_real_grad``.
"""

from __future__ import annotations

from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import Any, Callable

import torch
from torch import Tensor, nn

from gankit.losses import top_k_fraction, top_k_logits
from gankit.losses.classifier import (
    auxiliary_classifier_loss_dis,
    auxiliary_classifier_loss_gen,
    twin_classifier_loss_dis,
    twin_classifier_loss_gen,
)
from gankit.losses.regularizers import gradient_penalty, info_loss, r1_penalty
from gankit.models.base import DiscriminatorOutput
from gankit.registry import Registry


@dataclass
class DiscriminatorStep:
    """What a term may read during one discriminator update.

    Attributes:
        cfg: the run's config (the weights are in ``cfg.reg``).
        step: the number of updates taken before this one.
        real, fake: D's outputs (float32) on the real batch and on the fake batch.
        real_images, fake_images: the (B, ...) batches as D saw them (augmented; the fakes detached).
        real_input: the real batch before augmentation; it requires grad when a term asked for it.
        real_labels, fake_labels: (B,) classes, or None for an unconditional run.
        z: the (B, L) noise the fakes were drawn from; generator: the generator that drew them.
        critic: images (B, ...) -> D's float32 logits with the real labels, outside ``torch.compile``.
        noise: the run's noise generator.
        autocast: the step's precision context (bfloat16 autocast or nothing).
    """

    cfg: Any
    step: int
    real: DiscriminatorOutput
    fake: DiscriminatorOutput
    real_images: Tensor
    fake_images: Tensor
    real_input: Tensor
    real_labels: Tensor | None
    fake_labels: Tensor | None
    z: Tensor
    generator: nn.Module
    critic: Callable[[Tensor], Tensor]
    noise: torch.Generator
    autocast: Callable[[], AbstractContextManager]


@dataclass
class GeneratorStep:
    """What a term may read during one generator update: D's outputs (float32) on the fakes and how they were drawn."""

    cfg: Any
    step: int
    epoch: int
    fake: DiscriminatorOutput
    fake_labels: Tensor | None
    z: Tensor
    generator: nn.Module


@dataclass(frozen=True)
class LossTerm:
    """One registered term.

    Attributes:
        name: the registry key.
        discriminator: step -> (what it adds to D's loss, the unweighted value logged as ``stat``), or None.
        generator: step -> what it adds to G's loss, or None.
        generator_logits: (step, fake logits (B,)) -> the logits G's adversarial loss reads.
        needs_real_grad: (cfg, step) -> True when the term differentiates D with respect to the real batch this step.
        stat: the metrics key of its discriminator-side value.
    """

    name: str
    discriminator: Callable[[DiscriminatorStep], tuple[Tensor, Tensor] | None] | None = None
    generator: Callable[[GeneratorStep], Tensor | None] | None = None
    generator_logits: Callable[[GeneratorStep, Tensor], Tensor] | None = None
    needs_real_grad: Callable[[Any, int], bool] | None = None
    stat: str | None = None


TERMS: Registry[LossTerm] = Registry("loss term")
_ORDER: list[str] = []


def register_term(name: str, stat: str | None = None, **hooks: Callable) -> Callable:
    """Register ``function`` as the discriminator side of term ``name`` (``hooks`` give its other sides)."""

    def decorator(function: Callable | None) -> Callable | None:
        TERMS.register(name)(LossTerm(name, discriminator=function, stat=stat, **hooks))
        _ORDER.append(name)
        return function

    return decorator


def unregister_term(name: str) -> None:
    """Remove term ``name`` (tests that register one of their own clean up with this)."""
    TERMS._entries.pop(name, None)
    if name in _ORDER:
        _ORDER.remove(name)


def registered_terms() -> list[LossTerm]:
    """Every registered term, in the order they are added to the losses."""
    return [TERMS.get(name) for name in _ORDER]


# ----------------------------------------------------------------- the built-in terms, in the order they are added
def reconstruction_d(step: DiscriminatorStep) -> tuple[Tensor, Tensor] | None:
    """FastGAN's self-supervised reconstruction loss on the real images (Liu et al. 2021, Eq. 1), x ``reg.recon_weight``."""
    loss = step.real.reconstruction_loss
    return None if loss is None else (step.cfg.reg.recon_weight * loss, loss)


def auxiliary_classifier_d(step: DiscriminatorStep) -> tuple[Tensor, Tensor] | None:
    """AC-GAN (Odena et al. 2017): D classifies the real and the fake images, x ``reg.aux_weight``."""
    if step.real.class_logits is None or step.real.twin_logits is not None:
        return None
    aux = auxiliary_classifier_loss_dis(step.real.class_logits, step.real_labels, step.fake.class_logits, step.fake_labels)
    return step.cfg.reg.aux_weight * aux, aux


def auxiliary_classifier_g(step: GeneratorStep) -> Tensor | None:
    if step.fake.class_logits is None or step.fake.twin_logits is not None:
        return None
    return step.cfg.reg.aux_weight * auxiliary_classifier_loss_gen(step.fake.class_logits, step.fake_labels)


def twin_classifier_d(step: DiscriminatorStep) -> tuple[Tensor, Tensor] | None:
    """TAC-GAN (Gong et al. 2019): the classifier learns the real classes, its twin the fakes', x ``reg.aux_weight``."""
    if step.real.twin_logits is None:
        return None
    aux = twin_classifier_loss_dis(step.real.class_logits, step.real_labels, step.fake.twin_logits, step.fake_labels)
    return step.cfg.reg.aux_weight * aux, aux


def twin_classifier_g(step: GeneratorStep) -> Tensor | None:
    if step.fake.twin_logits is None:
        return None
    return step.cfg.reg.aux_weight * twin_classifier_loss_gen(step.fake.class_logits, step.fake.twin_logits, step.fake_labels)


def info_d(step: DiscriminatorStep) -> tuple[Tensor, Tensor] | None:
    """InfoGAN's L_I (Chen et al. 2016): D predicts the code each fake was drawn with, x ``reg.info_weight``."""
    if step.fake.code_logits is None or step.cfg.reg.info_weight <= 0:
        return None
    info = info_loss(step.fake.code_logits, step.generator.code(step.z))  # codes (B,) or (B, n)
    return step.cfg.reg.info_weight * info, info


def info_g(step: GeneratorStep) -> Tensor | None:
    if step.fake.code_logits is None or step.cfg.reg.info_weight <= 0:
        return None
    return step.cfg.reg.info_weight * info_loss(step.fake.code_logits, step.generator.code(step.z))


def gradient_penalty_d(step: DiscriminatorStep) -> tuple[Tensor, Tensor] | None:
    """WGAN-GP (Gulrajani et al. 2017) at interpolates of the batches D saw, x ``reg.gp_weight``."""
    if step.cfg.reg.gp_weight <= 0:
        return None
    with step.autocast():
        penalty = gradient_penalty(step.critic, step.real_images, step.fake_images, step.noise)
    return step.cfg.reg.gp_weight * penalty, penalty


def r1_due(cfg: Any, step: int) -> bool:
    """Lazy R1: every ``reg.r1_every`` steps (Karras et al. 2020, Sec. 3.1)."""
    return cfg.reg.r1_gamma > 0 and step % cfg.reg.r1_every == 0


def r1_d(step: DiscriminatorStep) -> tuple[Tensor, Tensor] | None:
    """R1 (Mescheder et al. 2018) x ``reg.r1_gamma / 2``, x ``reg.r1_every`` when applied lazily."""
    if not r1_due(step.cfg, step.step):
        return None
    penalty = r1_penalty(step.real.logits, step.real_input)
    return (step.cfg.reg.r1_gamma / 2) * penalty * step.cfg.reg.r1_every, penalty


def top_k_g(step: GeneratorStep, fake_logits: Tensor) -> Tensor:
    """Top-k training (Sinha et al. 2020): G learns from the fakes D rates most real (``loss.topk_gamma``)."""
    loss = step.cfg.loss
    if loss.topk_gamma >= 1.0:
        return fake_logits
    return top_k_logits(fake_logits, top_k_fraction(step.epoch, loss.topk_gamma, loss.topk_min))


register_term("reconstruction", stat="recon")(reconstruction_d)
register_term("auxiliary_classifier", stat="d_aux", generator=auxiliary_classifier_g)(auxiliary_classifier_d)
register_term("twin_classifier", stat="d_aux", generator=twin_classifier_g)(twin_classifier_d)
register_term("info", stat="info", generator=info_g)(info_d)
register_term("gradient_penalty", stat="gp")(gradient_penalty_d)
register_term("r1", stat="r1", needs_real_grad=r1_due)(r1_d)
register_term("top_k", generator_logits=top_k_g)(None)
