"""The paired objective: restore a degraded image, by L1 to the clean image plus a conditional adversarial loss.

Isola et al., "Image-to-Image Translation with Conditional Adversarial Networks" (pix2pix), CVPR 2017, Eq. 4:
G* = arg min_G max_D L_cGAN(G, D) + lambda L_L1(G), lambda = 100 (``restore.l1_weight``), where D judges an
image beside the degraded input it answers (a conditional PatchGAN). The adversarial term is the config's loss
(``loss.name``, any of gankit's) weighted by ``restore.adv_weight``; with weight 0 the same command trains the
L1-only baseline and D is never updated (Ledig et al. 2017 compare SRGAN with SRResNet the same way). R1
(``reg.r1_gamma``, lazily every ``reg.r1_every`` steps), spectral normalisation (``model.options.spectral_norm``)
and the generator EMA (``ema``) apply as for the other objectives. An optional perceptual loss on VGG-16 features
whose weights the user supplies (``restore.perceptual_weight``, :mod:`gankit.restore.perceptual`) and the domain
evaluator's feature loss (``restore.feature_weight``, :mod:`gankit.restore.feature_loss`) are added to G's.

The trainer draws the clean batch as for any model; this objective degrades it with the run's degradation
(``restore.degradation``), deterministically from the seed and the step (:class:`gankit.restore.PairedData`).
"""

from __future__ import annotations

import math

import torch

from gankit.data import to_uint8
from gankit.errors import ConfigError
from gankit.losses.regularizers import r1_penalty
from gankit.models import is_paired
from gankit.restore.degrade import PREVIEW_STREAM, upscale
from gankit.restore.paired import PairedBatch, PairedData
from gankit.training.objectives import register_objective


def check_restoration_config(cfg) -> None:
    """Refuse a restoration config whose model does not take what ``restore.degradation`` produces."""
    from gankit.restore.degrade import create_degradation

    if not is_paired(cfg.model.name):
        raise ConfigError(f"model.name: {cfg.model.name!r} is not a restoration model; use pix2pix or srresnet")
    degradation = create_degradation(cfg.restore.degradation)
    options = cfg.model.options
    scale, mask_input = options.get("scale", 1), options.get("mask_input", False)
    if scale != degradation.scale:
        raise ConfigError(f"model.options.scale: {scale} does not match restore.degradation {degradation.name!r}; set it to {degradation.scale}")
    if mask_input != (degradation.task == "inpaint"):
        raise ConfigError(f"model.options.mask_input: {str(mask_input).lower()} does not match restore.degradation "
                          f"{degradation.name!r}; set it to {str(not mask_input).lower()}")
    if cfg.data.conditional or cfg.data.clusters:
        raise ConfigError("data.conditional: restoration models take no class labels; set data.conditional=false and data.clusters=0")
    if cfg.augment.policy not in ("", "none"):
        raise ConfigError("augment.policy: DiffAugment would have to move the degraded input with the image; set it to '' for restoration")
    if cfg.reg.gp_weight > 0:
        raise ConfigError("reg.gp_weight: the paired objective regularises D with R1 (reg.r1_gamma); set reg.gp_weight=0")


@register_objective("paired", families=("pix2pix", "srresnet"))
class PairedObjective:
    """One D update on (clean, degraded) against (G(degraded), degraded), then one G update on L1 + adversarial."""

    def __init__(self, trainer) -> None:
        cfg = trainer.cfg
        check_restoration_config(cfg)
        self.trainer = trainer
        self.data = PairedData(trainer.dataset, cfg.restore.degradation, cfg.train.seed, cfg.restore.sigma, cfg.restore.amount)
        self.adv_weight, self.l1_weight = cfg.restore.adv_weight, cfg.restore.l1_weight
        self.perceptual = None
        if cfg.restore.perceptual_weight > 0:
            if not cfg.restore.perceptual_weights:
                raise ConfigError("restore.perceptual_weight > 0 needs restore.perceptual_weights: a safetensors file of "
                                  "VGG-16's features (gankit train --perceptual-weights FILE); see docs/restore.md")
            from gankit.restore.perceptual import load_perceptual_loss

            self.perceptual = load_perceptual_loss(cfg.restore.perceptual_weights).to(trainer.device)
        self.feature_loss = None
        if cfg.restore.feature_weight > 0:
            from gankit.data import DatasetSpec
            from gankit.restore.feature_loss import evaluator_feature_loss

            if trainer.dataset.labels is None or cfg.data.name == "custom":
                raise ConfigError(f"restore.feature_weight: the domain evaluator's feature loss needs a labelled dataset gankit loads "
                                  f"(mnist, fashion-mnist, ...) to train the evaluator on; {trainer.dataset.name!r} is not; set it to 0")
            spec = DatasetSpec.from_config(cfg.data)
            self.feature_loss = evaluator_feature_loss(spec, cfg.restore.feature_evaluator_seed).to(trainer.device)
        self.pending: tuple[PairedBatch, torch.Tensor] | None = None  # the batch and G's output, from d_step to g_step
        self.last_d_stats: dict[str, float] = {}

    def train_step(self, real: torch.Tensor, real_labels: torch.Tensor | None, with_stats: bool = False) -> dict[str, float]:
        """One step on a clean batch (B, C, H, W) in [-1, 1]: degrade it, update D (unless adv_weight is 0), update G."""
        stats = self.d_step(real, real_labels, with_stats)
        stats.update(self.g_step(with_stats))
        return stats

    def _judge(self, images: torch.Tensor, inputs: torch.Tensor) -> torch.Tensor:
        return self.trainer.train_discriminator(images, inputs).float()  # (B, P, P)

    def d_step(self, real: torch.Tensor, real_labels: torch.Tensor | None = None, with_stats: bool = False) -> dict[str, float]:
        """Degrade ``real``, restore it with G (kept for :meth:`g_step`), and update D on clean vs restored."""
        t = self.trainer
        batch = self.data.degrade(real, t.step)
        inputs = batch.inputs.to(real.device)
        with t.autocast():
            fake = t.train_generator(inputs)  # (B, C, H, W)
        self.pending = (batch, fake)
        if self.adv_weight == 0:
            return {}
        reg = t.cfg.reg
        r1_now = reg.r1_gamma > 0 and t.step % reg.r1_every == 0
        clean = real.detach().requires_grad_(True) if r1_now else real
        t.discriminator.requires_grad_(True)
        with t.autocast():
            real_logits, fake_logits = self._judge(clean, inputs), self._judge(fake.detach(), inputs)
        d_loss = t.loss.discriminator(real_logits, fake_logits)
        stats: dict[str, float] = {}
        if r1_now:
            penalty = r1_penalty(real_logits, clean)
            d_loss = d_loss + 0.5 * reg.r1_gamma * reg.r1_every * penalty
            stats["r1"] = float(penalty.detach())
        norm_d = t.update("discriminator", d_loss, t.opt_d, t.discriminator)
        if with_stats:
            threshold = t.loss.decision_threshold
            accuracy = 0.5 * ((real_logits > threshold).float().mean() + (fake_logits < threshold).float().mean())
            stats.update({"d_loss": float(d_loss.detach()), "grad_norm_d": float(norm_d), "d_accuracy": float(accuracy)})
        return stats if with_stats else {}

    def g_step(self, with_stats: bool = False) -> dict[str, float]:
        """One G update on the batch of the last :meth:`d_step`: L1 x l1_weight + adversarial x adv_weight
        (+ perceptual x perceptual_weight, + evaluator features x feature_weight)."""
        t = self.trainer
        if self.pending is None:
            raise ConfigError("g_step needs a d_step first: it restores the batch that d_step degraded")
        (batch, fake), self.pending = self.pending, None
        clean, inputs = batch.clean, batch.inputs.to(fake.device)
        l1 = (fake.float() - clean).abs().mean()
        g_loss = self.l1_weight * l1
        stats: dict[str, float] = {}
        if self.adv_weight > 0:
            t.discriminator.requires_grad_(False)
            with t.autocast():
                adv = t.loss.generator(self._judge(fake, inputs))
            g_loss = g_loss + self.adv_weight * adv
            stats["g_adv"] = float(adv.detach())
        if self.perceptual is not None:
            perceptual = self.perceptual(fake, clean)
            g_loss = g_loss + t.cfg.restore.perceptual_weight * perceptual
            stats["perceptual"] = float(perceptual.detach())
        if self.feature_loss is not None:
            features = self.feature_loss(fake, clean)
            g_loss = g_loss + t.cfg.restore.feature_weight * features
            stats["evaluator_features"] = float(features.detach())
        norm_g = t.update("generator", g_loss, t.opt_g, t.generator)
        t.discriminator.requires_grad_(True)
        if t.ema is not None:
            t.ema.update(t.generator, images_seen=t.step * clean.shape[0], batch=clean.shape[0])
        if not with_stats:
            return {}
        return {**stats, "g_loss": float(g_loss.detach()), "l1": float(l1.detach()), "grad_norm_g": float(norm_g)}

    @torch.no_grad()
    def samples(self, num: int) -> torch.Tensor:
        """The progress grid: input | restored | clean for the first k = 3 m^2 training images (3k <= ``num``, so the
        square grid of 3m columns holds whole triples), uint8 (3k, C, H, W)."""
        t = self.trainer
        k = 3 * max(1, math.isqrt(num // 9)) ** 2
        batch = self.data.degrade(t.dataset.batch(torch.arange(min(k, len(t.dataset)))), 0, PREVIEW_STREAM)
        generator = t.sampling_generator
        was_training = generator.training
        generator.eval()
        try:
            restored = generator(batch.inputs.to(t.device)).float().cpu()
        finally:
            generator.train(was_training)
        shown = upscale(batch.degraded.images, self.data.degradation.scale)  # the input at the output's size
        return to_uint8(torch.stack([shown, restored, batch.clean], dim=1).flatten(0, 1))  # (3k, C, H, W)
