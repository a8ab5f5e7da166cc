"""The VAE objective: the negative ELBO, with the encoder and the decoder updated together.

Kingma & Welling, "Auto-Encoding Variational Bayes", ICLR 2014. The model family's
second network is the encoder q(z|x); it is stored under the checkpoint key
``discriminator`` (and its optimiser under ``opt_d``) like a GAN's second network.
"""

from __future__ import annotations

import torch

from gankit.errors import GankitError
from gankit.losses.vae import negative_elbo
from gankit.training.objectives import register_objective


@register_objective("vae", families=("vae",))
class VAEObjective:
    """One step on the negative ELBO; ``d_step``/``g_step`` do not apply (one update moves both networks)."""

    def __init__(self, trainer) -> None:
        self.trainer = trainer

    @property
    def encoder(self) -> torch.nn.Module:
        return self.trainer.discriminator

    def d_step(self, real: torch.Tensor, real_labels: torch.Tensor | None, with_stats: bool = False) -> dict[str, float]:
        raise GankitError("a VAE has no discriminator update: its encoder and decoder move together in train_step")

    def g_step(self, with_stats: bool = False) -> dict[str, float]:
        raise GankitError("a VAE has no separate generator update: its encoder and decoder move together in train_step")

    def train_step(self, real: torch.Tensor, real_labels: torch.Tensor | None, with_stats: bool = False) -> dict[str, float]:
        """real (B, C, H, W) in [-1, 1] -> statistics (when asked) of one update of encoder and decoder."""
        t = self.trainer
        with t.autocast():
            mean, log_var = self.encoder(real)  # (B, L), (B, L): q(z | x)
            eps = torch.randn(mean.shape, generator=t.noise).to(t.device)
            z = mean.float() + eps * torch.exp(0.5 * log_var.float())  # reparameterisation
            logits = t.generator.logits(z)  # (B, C, H, W)
        loss, nll, kl = negative_elbo(logits, (real + 1) / 2, mean, log_var)
        t.check_finite("VAE loss", loss)
        t.opt_g.zero_grad(set_to_none=True)
        t.opt_d.zero_grad(set_to_none=True)
        loss.backward()
        norm_g = t.check_finite_grads("decoder", t.generator)
        norm_d = t.check_finite_grads("encoder", self.encoder)
        t.opt_g.step()
        t.opt_d.step()
        if t.ema is not None:
            t.ema.update(t.generator, images_seen=t.step * real.shape[0], batch=real.shape[0])
        if not with_stats:
            return {}
        return {"loss": float(loss.detach()), "recon_nll": float(nll.detach()), "kl": float(kl.detach()),
                "grad_norm_g": float(norm_g), "grad_norm_d": float(norm_d)}
