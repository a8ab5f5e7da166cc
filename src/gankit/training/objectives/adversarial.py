"""The adversarial objective: one discriminator update, then one generator update through the same fake batch.

Goodfellow et al., "Generative Adversarial Nets", NeurIPS 2014, Algorithm 1 with k = 1;
with ``optim.n_critic`` = k > 1 the generator is updated on every k-th step only. The
adversarial loss is the config's :class:`~gankit.losses.AdversarialLoss`; every
registered :mod:`loss term <gankit.losses.terms>` that applies is added to it.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from gankit.losses.terms import DiscriminatorStep, GeneratorStep, registered_terms
from gankit.models.base import DiscriminatorOutput
from gankit.training.diagnostics import discriminator_stats
from gankit.training.objectives import register_objective


@dataclass
class FakeBatch:
    """Noise z (B, L), the classes asked for (B,) or None, and the images G drew (B, C, H, W) or points (B, D)."""

    z: torch.Tensor
    labels: torch.Tensor | None
    images: torch.Tensor


def split_output(out: DiscriminatorOutput) -> tuple[DiscriminatorOutput, DiscriminatorOutput]:
    """D's outputs on [real; fake] (2B, ...) as two outputs on B each (a reconstruction loss belongs to the reals)."""

    def halves(t: torch.Tensor | None) -> tuple[torch.Tensor | None, torch.Tensor | None]:
        return (None, None) if t is None else t.chunk(2)  # B / pack each: packs never straddle the halves

    (real_logits, fake_logits), (real_c, fake_c), (real_t, fake_t), (real_q, fake_q) = (
        halves(out.logits), halves(out.class_logits), halves(out.twin_logits), halves(out.code_logits))
    return (DiscriminatorOutput(real_logits, real_c, real_t, real_q, out.reconstruction_loss),
            DiscriminatorOutput(fake_logits, fake_c, fake_t, fake_q))


@register_objective("adversarial")
class AdversarialObjective:
    """D and G trained against each other by the trainer's loss, with the registered loss terms."""

    def __init__(self, trainer) -> None:
        self.trainer = trainer
        # A self-supervised D (FastGAN, ``model.options.reconstruction``) also redraws the real images it judges.
        self.reconstruct = bool(trainer.cfg.model.options.get("reconstruction", False))
        self.fake: FakeBatch | None = None  # drawn by d_step for the next g_step
        self.last_g_stats: dict[str, float] = {}
        self.d_logits: tuple[torch.Tensor, torch.Tensor] | None = None  # D's last (real, fake) logits

    def train_step(self, real: torch.Tensor, real_labels: torch.Tensor | None, with_stats: bool = False) -> dict[str, float]:
        """One D update, and one G update on every ``n_critic``-th step, through the same fake batch."""
        t = self.trainer
        update_g = (t.step + 1) % t.n_critic == 0
        stats = self.d_step(real, real_labels, with_stats, keep_graph=update_g)
        if update_g:
            g_stats = self.g_step(with_stats or t.n_critic > 1)
            if g_stats:
                self.last_g_stats = g_stats
        if with_stats:
            stats.update(self.last_g_stats)
            stats.update(discriminator_stats(*self.d_logits, t.loss.decision_threshold))
        return stats

    def d_step(self, real: torch.Tensor, real_labels: torch.Tensor | None, with_stats: bool = False,
               keep_graph: bool = True) -> dict[str, float]:
        """One D update on a real batch (B, ...) against a fresh fake batch (kept, with its graph, for ``g_step``)."""
        t = self.trainer
        terms = registered_terms()
        real_grad = any(term.needs_real_grad is not None and term.needs_real_grad(t.cfg, t.step) for term in terms)
        if real_grad:
            real = real.detach().requires_grad_(True)
        z, fake_labels = t.sample_noise(real.shape[0])
        with t.autocast():
            with torch.set_grad_enabled(keep_graph):  # D-only steps need no graph through G
                fake = t.generate(z, fake_labels)  # (B, C, H, W)
            t.discriminator.requires_grad_(True)
            real_seen, fake_seen = t.augment(real), t.augment(fake.detach())
            real_out, fake_out = self._judge(real_seen, fake_seen, real_labels, fake_labels, separate=real_grad)
        step = DiscriminatorStep(
            t.cfg, t.step, real_out, fake_out, real_seen, fake_seen, real, real_labels, fake_labels, z, t.generator,
            lambda x: t.discriminate(x, real_labels, eager=True).logits, t.noise, t.autocast)
        d_loss = t.loss.discriminator(real_out.logits, fake_out.logits)
        stats: dict[str, float] = {}
        for term in terms:
            added = term.discriminator(step) if term.discriminator is not None else None
            if added is not None:
                d_loss = d_loss + added[0]
                if with_stats:
                    stats[term.stat or term.name] = float(added[1].detach())
        norm_d = t.update("discriminator", d_loss, t.opt_d, t.discriminator)
        if with_stats:
            stats["grad_norm_d"] = float(norm_d)
            stats["d_loss"] = float(d_loss.detach())
        self.fake = FakeBatch(z, fake_labels, fake) if keep_graph else None  # without a graph G cannot learn from it
        self.d_logits = (real_out.logits, fake_out.logits)
        return stats

    def _judge(self, real: torch.Tensor, fake: torch.Tensor, real_labels: torch.Tensor | None, fake_labels: torch.Tensor | None,
               separate: bool) -> tuple[DiscriminatorOutput, DiscriminatorOutput]:
        """D's outputs on the real and the fake batch: in one call when D allows it, else two (``separate``: R1)."""
        t = self.trainer
        reconstruct = real.shape[0] if self.reconstruct else 0
        if t.joint_d_pass and not separate:
            # One D call on [real; fake] (2B, ...): same outputs as two calls for a D without
            # batch statistics, with one set of larger matmuls and no gradient accumulation.
            labels = None if real_labels is None else torch.cat([real_labels, fake_labels])
            return split_output(t.discriminate(torch.cat([real, fake]), labels, reconstruct=reconstruct))
        real_out = t.discriminate(real, real_labels, eager=separate, reconstruct=reconstruct)  # (B,)
        return real_out, t.discriminate(fake, fake_labels)  # (B,)

    def g_step(self, with_stats: bool = False) -> dict[str, float]:
        """One G update: fool the (updated) D with the fake batch of the last ``d_step`` (or a fresh one)."""
        t = self.trainer
        fake, self.fake = self.fake or self._draw_fake(), None
        t.discriminator.requires_grad_(False)
        with t.autocast():
            out = t.discriminate(t.augment(fake.images), fake.labels)
        step = GeneratorStep(t.cfg, t.step, t.step // t.sampler.steps_per_epoch, out, fake.labels, fake.z, t.generator)
        terms = registered_terms()
        logits = out.logits
        for term in terms:
            if term.generator_logits is not None:
                logits = term.generator_logits(step, logits)
        g_loss = t.loss.generator(logits)
        for term in terms:
            added = term.generator(step) if term.generator is not None else None
            if added is not None:
                g_loss = g_loss + added
        norm_g = t.update("generator", g_loss, t.opt_g, t.generator)
        t.discriminator.requires_grad_(True)
        if t.ema is not None:
            batch = fake.images.shape[0]
            t.ema.update(t.generator, images_seen=t.step * batch, batch=batch * t.n_critic)
        return {"g_loss": float(g_loss.detach()), "grad_norm_g": float(norm_g)} if with_stats else {}

    def _draw_fake(self) -> FakeBatch:
        t = self.trainer
        z, labels = t.sample_noise(t.cfg.train.batch_per_process or t.cfg.train.batch_size)
        with t.autocast():
            return FakeBatch(z, labels, t.generate(z, labels))
