"""The encoder objective: train E (image -> z) against a finished generator G, which stays frozen.

Zhu et al., "Generative Visual Manipulation on the Natural Image Manifold", ECCV 2016, Sec. 3.1; the mixed loss
on generated and real images follows Bau et al., "Seeing What a GAN Cannot Generate", ICCV 2019. Each step draws
z ~ N(0, I) and G's samples x = G(z), whose code is known, and takes a batch of real images y:

    loss = latent_weight ||E(x) - z||^2 + image_weight ||G(E(x)) - x||^2 + real_weight ||G(E(y)) - y||^2

(means over the elements). G is the run named by ``encoder.generator`` (its EMA copy when it has one), loaded
into the trainer's generator slot and never updated; E takes the second network's slot (checkpoint key
``discriminator``, optimiser ``opt_d``), so the encoder run saves, resumes and exports like any run (its export
is the frozen G). Selected by ``train.objective: encoder``; ``gankit train --objective encoder --generator RUN``
builds the config from the generator's run (:func:`encoder_config`).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch
from torch.nn import functional as F

from gankit.errors import ConfigError, GankitError
from gankit.models.encoder import Encoder
from gankit.training.objectives import register_objective

ENCODER_DEFAULTS = {
    "train": {"max_steps": 3000, "batch_size": 64, "batch_per_process": None, "precision": "fp32", "log_every": 100, "checkpoint_every": 1000,
              "sample_every_epochs": 1000, "fid_every": None, "objective": "encoder", "device": "auto", "compile": False},
    "optim": {"lr_g": 1e-3, "lr_d": 1e-3, "beta1": 0.9, "beta2": 0.999, "lr_decay_start": 0.5, "n_critic": 1},
    "ema": {"half_life_kimg": 0.0},
    "augment": {"policy": ""},
}
"""What :func:`encoder_config` sets over the generator run's config (``--set`` overrides come after)."""


def build_encoder(cfg: Any, img_shape: tuple[int, ...]) -> Encoder:
    """The encoder that ``cfg`` (a :class:`~gankit.training.config.Config`) describes, for images of ``img_shape``."""
    if len(img_shape) != 3:
        raise ConfigError(f"train.objective: the encoder inverts image generators; this data holds vectors of shape {tuple(img_shape)}")
    return Encoder(tuple(img_shape), cfg.model.latent_dim, cfg.encoder.width, cfg.encoder.dense)


@register_objective("encoder")
class EncoderObjective:
    """One update of E on G's samples (known z) and on real images; G is frozen (see the module docstring)."""

    def __init__(self, trainer) -> None:
        from gankit.run import RunDir
        from gankit.training.setup import make_adam

        t, cfg = trainer, trainer.cfg
        self.trainer = t
        if not cfg.encoder.generator:
            raise ConfigError("encoder.generator: the encoder objective needs the run directory of the generator to invert")
        if t.num_classes:
            raise ConfigError("data.conditional: the encoder inverts unconditional generators; set data.conditional to false")
        generator, spec = RunDir(cfg.encoder.generator).load_generator()
        mine = (cfg.model.name, cfg.model.latent_dim, tuple(t.dataset.img_shape))
        theirs = (spec["model"], spec["latent_dim"], tuple(spec["img_shape"]))
        if mine != theirs or spec["num_classes"]:
            raise ConfigError(f"encoder.generator: {cfg.encoder.generator} holds a {theirs} generator with {spec['num_classes']} classes; "
                              f"this run's model and data are {mine}, unconditional")
        try:
            t.generator.load_state_dict(generator.state_dict())
        except RuntimeError as exc:
            raise ConfigError(f"encoder.generator: its weights do not fit model.options {cfg.model.options} ({str(exc).splitlines()[0]})") from None
        t.generator.requires_grad_(False)
        t.discriminator = build_encoder(cfg, t.dataset.img_shape).to(t.device)
        t.opt_d = make_adam(t.discriminator.parameters(), cfg.optim.lr_d, (cfg.optim.beta1, cfg.optim.beta2), t.device)

    @property
    def encoder(self) -> torch.nn.Module:
        return self.trainer.train_discriminator

    def d_step(self, real: torch.Tensor, real_labels: torch.Tensor | None, with_stats: bool = False) -> dict[str, float]:
        raise GankitError("the encoder objective has no discriminator update: train_step updates the encoder")

    def g_step(self, with_stats: bool = False) -> dict[str, float]:
        raise GankitError("the encoder objective has no generator update: the generator is frozen")

    def train_step(self, real: torch.Tensor, real_labels: torch.Tensor | None, with_stats: bool = False) -> dict[str, float]:
        """real (B, C, H, W) in [-1, 1] -> statistics (when asked) of one update of E."""
        t, weights = self.trainer, self.trainer.cfg.encoder
        t.generator.eval()  # frozen: BatchNorm keeps its running statistics
        z = torch.randn(real.shape[0], t.cfg.model.latent_dim, generator=t.noise).to(t.device)  # (B, L)
        with torch.no_grad():
            fake = t.generator(z)  # (B, C, H, W), code known
        with t.autocast():
            codes = self.encoder(torch.cat([fake, real]))  # (2B, L)
            recon = t.generator(codes)  # (2B, C, H, W)
        codes, recon = codes.float(), recon.float()
        n = real.shape[0]
        latent = F.mse_loss(codes[:n], z)
        image = F.mse_loss(recon[:n], fake)
        real_rec = F.mse_loss(recon[n:], real)
        loss = weights.latent_weight * latent + weights.image_weight * image + weights.real_weight * real_rec
        norm = t.update("encoder", loss, t.opt_d, t.discriminator)
        if not with_stats:
            return {}
        return {"loss": float(loss.detach()), "latent_loss": float(latent.detach()), "image_loss": float(image.detach()),
                "real_loss": float(real_rec.detach()), "grad_norm_d": float(norm)}


def encoder_config(generator_run: str | Path, overrides: list[str] | None = None):
    """The config of an encoder run for the generator in ``generator_run``: its data and model, :data:`ENCODER_DEFAULTS`,
    ``encoder.generator`` set to the run, then ``overrides`` (``section.key=value``)."""
    from gankit.run import RunDir
    from gankit.training.config import apply_overrides, config_from_dict, config_to_dict

    base = config_to_dict(RunDir(generator_run).read_config())
    if base["data"].get("conditional") or base["data"].get("clusters"):
        raise ConfigError(f"--generator {generator_run}: a conditional generator; the encoder inverts unconditional ones")
    for section, values in ENCODER_DEFAULTS.items():
        base[section].update(values)
    base["encoder"] = {**base.get("encoder", {}), "generator": str(generator_run)}
    return config_from_dict(apply_overrides(base, list(overrides or [])))
