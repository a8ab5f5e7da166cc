"""The training loop: alternating discriminator and generator updates.

Goodfellow et al., "Generative Adversarial Nets", NeurIPS 2014, Algorithm 1 with
k = 1 discriminator step per generator step. Every step:

1. take a real batch (uint8 in memory, scaled to [-1, 1]) and a noise batch;
2. generate one fake batch;
3. update D on real vs fake (the fake batch detached);
4. update G through D on the same fake batch.

The trainer owns the networks' optimisers, the run directory and the
checkpoints; the networks own nothing but their layers.
"""

from __future__ import annotations

import json
import logging
import math
import signal
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

import gankit
from gankit.data import EpochSampler, ImageDataset, load_data
from gankit.errors import CheckpointError, ConfigError, GankitError, first_line
from gankit.losses import create_loss, top_k_fraction, top_k_logits
from gankit.losses.regularizers import gradient_penalty, info_loss, r1_penalty
from gankit.losses.vae import negative_elbo
from gankit.models import create_model, export_generator, generator_spec
from gankit.training import checkpoint as ckpt
from gankit.training import guard
from gankit.training.guard import DivergenceError, NonFiniteLossError
from gankit.training.config import Config, config_from_dict, config_to_dict, save_config
from gankit.training.augment import diff_augment, parse_policy
from gankit.training.diagnostics import InstabilityMonitor, discriminator_stats
from gankit.models.layers import MinibatchStdDev
from gankit.training.diagnostics import grad_norm as grad_norm_tensor
from gankit.training.ema import GeneratorEMA
from gankit.training.rng import get_rng_state, seed_everything, set_rng_state

log = logging.getLogger("gankit")

CHECKPOINT_FORMAT = 1


def resolve_device(name: str) -> torch.device:
    if name == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        if getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available():
            return torch.device("mps")
        return torch.device("cpu")
    if name == "cuda" and not torch.cuda.is_available():
        raise ConfigError("train.device: 'cuda' is not available on this machine; use 'auto' or 'cpu'")
    if name == "mps" and not (getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available()):
        raise ConfigError("train.device: 'mps' is not available on this machine; use 'auto' or 'cpu'")
    return torch.device(name)


def lr_multiplier(step: int, total: int, decay_start: float) -> float:
    """1 until ``decay_start * total`` steps, then a straight line to 0 at ``total`` (the step about to be taken is ``step + 1``)."""
    begin = decay_start * total
    if decay_start >= 1.0 or step < begin:
        return 1.0
    return max(0.0, (total - step) / (total - begin))


def make_adam(params, lr: float, betas: tuple[float, float], device: torch.device) -> torch.optim.Adam:
    """Adam with the fused single-kernel update where the device supports it (CPU and CUDA).

    The update is the same algorithm as the per-tensor loop; on a CPU it is several
    times faster for the MLP, whose step is otherwise dominated by optimiser traffic.
    """
    return torch.optim.Adam(params, lr=lr, betas=betas, fused=device.type in ("cpu", "cuda"))


def match_state_layout(optimizer: torch.optim.Optimizer) -> None:
    """Give every per-parameter state tensor its parameter's memory layout (strides).

    The fused Adam kernel walks parameter, gradient and moments in memory order, so a
    contiguous moment next to a channels-last weight (a checkpoint written in the other
    layout) would silently update the wrong elements.
    """
    for group in optimizer.param_groups:
        for param in group["params"]:
            for key, value in optimizer.state.get(param, {}).items():
                if torch.is_tensor(value) and value.shape == param.shape and value.stride() != param.stride():
                    optimizer.state[param][key] = torch.empty_like(param, dtype=value.dtype).copy_(value)


def grad_norm(module: nn.Module) -> float:
    return float(grad_norm_tensor(module))


@dataclass
class TrainResult:
    status: str  # "finished", "time_limit", "interrupted"
    step: int
    run_dir: Path


class Trainer:
    """Trains one GAN described by a :class:`Config` inside ``run_dir``.

    Args:
        cfg: the validated run configuration.
        run_dir: where config, checkpoints, samples, metrics and exports go.
        dataset: an already loaded training set (default: ``cfg.data``'s train split).
    """

    is_main_process = True
    """False on every process of a distributed run but rank 0: those write no files."""

    def __init__(self, cfg: Config, run_dir: str | Path, dataset: ImageDataset | None = None) -> None:
        self.cfg = cfg
        self.run_dir = Path(run_dir)
        self.device = resolve_device(cfg.train.device)
        seed_everything(cfg.train.seed)

        self.dataset = dataset if dataset is not None else load_data(cfg.data, "train")
        if cfg.data.conditional and self.dataset.labels is None:
            raise ConfigError(f"data.conditional: dataset {cfg.data.name!r} has no labels")
        if cfg.data.clusters and cfg.data.conditional:
            raise ConfigError("data.clusters: self-conditioning makes its own labels from D's features; set data.conditional to false")
        if cfg.data.clusters > len(self.dataset):
            raise ConfigError(f"data.clusters: {cfg.data.clusters} is more than the {len(self.dataset)} training images")
        self.num_classes = cfg.data.clusters or (self.dataset.num_classes if cfg.data.conditional else 0)
        # The labels of the real images: the data's own, or (self-conditioning) D's clusters, set once D exists.
        self.real_labels = self.dataset.labels if cfg.data.conditional else None
        self.class_prior: list[float] | None = None
        if self.real_labels is not None:
            self._set_label_shares()
        try:
            self.sampler = EpochSampler(len(self.dataset), cfg.train.batch_size, cfg.train.seed)
        except ValueError as exc:
            raise ConfigError(f"train.batch_size: {exc}") from None

        try:
            pair = create_model(cfg.model.name, self.dataset.img_shape, cfg.model.latent_dim, self.num_classes, **cfg.model.options)
        except (TypeError, ValueError, RuntimeError, OverflowError) as exc:  # option values the family cannot build
            first = first_line(exc)
            raise ConfigError(f"model.options: cannot build model {cfg.model.name!r} with {cfg.model.options} ({first})") from None
        # channels_last converts the 4-D (conv) weights only; linear layers are unaffected.
        self.memory_format = torch.channels_last if cfg.train.channels_last else torch.contiguous_format
        self.generator = pair.generator.to(self.device, memory_format=self.memory_format)
        self.discriminator = pair.discriminator.to(self.device, memory_format=self.memory_format)
        self.loss = create_loss(cfg.loss.name)
        betas = (cfg.optim.beta1, cfg.optim.beta2)
        self.opt_g = make_adam(self.generator.parameters(), cfg.optim.lr_g, betas, self.device)
        self.opt_d = make_adam(self.discriminator.parameters(), cfg.optim.lr_d, betas, self.device)
        self._setup_stabilisers(cfg)
        if cfg.data.clusters:
            if not callable(getattr(self.discriminator, "hidden", None)):
                raise ConfigError(f"data.clusters: model {cfg.model.name!r} has no discriminator features to cluster; "
                                  "use hybrid_cond or dcgan_cond")

        # Noise comes from a generator of its own (on the CPU, so results do not depend on the device).
        self.noise = torch.Generator().manual_seed(cfg.train.seed)
        fixed = torch.Generator().manual_seed(cfg.train.seed + 1)
        self.fixed_z = torch.randn(cfg.train.num_samples, cfg.model.latent_dim, generator=fixed).to(self.device)
        self.fixed_labels = (torch.arange(cfg.train.num_samples) % max(self.num_classes, 1)).to(self.device)

        self.step = 0
        self.elapsed = 0.0
        self.autocast = cfg.train.precision == "bf16"
        self._stop_signal: int | None = None
        self._tb = None
        self._fid_monitor = None  # built on the first in-training FID (train.fid_every)
        self.rollbacks = 0
        self._good_checkpoint: bytes | None = None  # the last state known finite, as written to disk
        if cfg.data.clusters:
            self.recluster()  # the first labels: clusters of the untrained D's features

    # ----------------------------------------------------------------- paths
    @property
    def checkpoint_dir(self) -> Path:
        return self.run_dir / "checkpoints"

    @property
    def total_steps(self) -> int:
        if self.cfg.train.max_steps is not None:
            return self.cfg.train.max_steps
        return self.cfg.train.epochs * self.sampler.steps_per_epoch

    # Training objectives by the ``training_objective`` attribute of the model's second network.
    OBJECTIVES = {"adversarial": "_adversarial_step", "vae": "_vae_step"}

    def _setup_stabilisers(self, cfg: Config) -> None:
        """Regularisers, EMA, DiffAugment, AC-GAN head, diagnostics and compilation, as the config asks."""
        objective = getattr(self.discriminator, "training_objective", "adversarial")
        if objective not in self.OBJECTIVES:
            raise ConfigError(f"model {cfg.model.name!r}: unknown training objective {objective!r}; known: {', '.join(self.OBJECTIVES)}")
        self._objective_step = getattr(self, self.OBJECTIVES[objective])
        # D may see real and fake in one call when no BatchNorm or minibatch statistic mixes the two halves:
        # minibatch-stddev groups are runs of consecutive samples, so they stay apart when they divide each half.
        modules = list(self.discriminator.modules())
        packs = {getattr(m, "pack_size", 1) for m in modules}
        half = cfg.train.batch_per_process or cfg.train.batch_size  # the real batch this process sees
        self.joint_d_pass = not any(isinstance(m, nn.modules.batchnorm._BatchNorm) for m in modules) and all(
            half % p == 0 and m.keeps_apart(half // p) for m in modules if isinstance(m, MinibatchStdDev) for p in packs)
        self.n_critic = cfg.optim.n_critic
        self.augment_policy = parse_policy(cfg.augment.policy)
        if self.augment_policy and len(self.dataset.img_shape) != 3:
            raise ConfigError(f"augment.policy: DiffAugment works on images; dataset {cfg.data.name!r} holds vectors, set it to ''")
        self.auxiliary_classifier = bool(getattr(self.discriminator, "auxiliary_classifier", False))
        # TAC-GAN: the class logits are (B, 2K), the classifier's then the twin's.
        self.twin_classifier = bool(getattr(self.discriminator, "twin_classifier", False))
        # InfoGAN: D also predicts the generator's discrete code of each fake (0: the generator has no code).
        self.code_components = int(getattr(self.discriminator, "code_components", 0))
        # FastGAN's self-supervised D (Liu et al. 2021): it also redraws the real images it judges.
        self.reconstruction = getattr(self.discriminator, "reconstruction", None) is not None
        self.ema = GeneratorEMA(self.generator, cfg.ema.half_life_kimg, cfg.ema.rampup) if cfg.ema.half_life_kimg > 0 else None
        self.monitor = InstabilityMonitor()
        self._last_g_stats: dict[str, float] = {}
        if cfg.train.compile:
            self.generator.compile()
            self.discriminator.compile()

    def _set_label_shares(self) -> None:
        """The real labels' shares: G is asked for each class in this proportion (FID compares like with like)."""
        self._label_shares = torch.bincount(self.real_labels, minlength=self.num_classes).double() / len(self.real_labels)
        self.class_prior = self._label_shares.tolist()

    def recluster(self) -> None:
        """Self-conditioning (Liu et al. 2020): the real images' labels become the k-means clusters of D's features,
        matched to the previous clustering. Every process computes the same clusters from the same weights and seed."""
        from gankit.training.selfcond import cluster_labels, real_features

        features = real_features(self.discriminator, self.dataset, self.device, self.memory_format)  # (N, F)
        seed = torch.Generator().manual_seed(self.cfg.train.seed * 1_000_003 + self.step)
        self.real_labels = cluster_labels(features, self.cfg.data.clusters, seed, previous=self.real_labels)
        self._set_label_shares()

    @property
    def sampling_generator(self) -> nn.Module:
        """The generator used for samples and export: the EMA copy when there is one."""
        return self.ema.module if self.ema is not None else self.generator

    # ------------------------------------------------------------ one step
    def sample_noise(self, batch: int) -> tuple[torch.Tensor, torch.Tensor | None]:
        z = torch.randn(batch, self.cfg.model.latent_dim, generator=self.noise).to(self.device)
        labels = None
        if self.num_classes and self.cfg.data.fake_labels == "data":
            labels = torch.multinomial(self._label_shares, batch, replacement=True, generator=self.noise).to(self.device)
        elif self.num_classes:
            labels = torch.randint(self.num_classes, (batch,), generator=self.noise).to(self.device)
        return z, labels

    def _generate(self, z: torch.Tensor, labels: torch.Tensor | None) -> torch.Tensor:
        return self.generator(z, labels) if self.num_classes else self.generator(z)

    def _discriminate(self, images: torch.Tensor, labels: torch.Tensor | None) -> torch.Tensor:
        return self._d_outputs(images, labels)[0]

    def _d_outputs(self, images: torch.Tensor, labels: torch.Tensor | None, eager: bool = False, reconstruct: int = 0):
        """Adversarial logits (B,) as float32, and class or code logits (B, K) for an auxiliary-classifier or
        InfoGAN D (else None).

        ``eager`` bypasses ``torch.compile`` (its graphs have no double backward, which R1 and GP need).
        ``reconstruct=n`` (a self-supervised D only) adds a third output: D's reconstruction loss on the first n images.
        """
        call = self.discriminator.forward if eager and self.cfg.train.compile else self.discriminator
        kwargs = {"reconstruct": reconstruct} if reconstruct else {}
        out = call(images, labels, **kwargs) if self.num_classes else call(images, **kwargs)
        out, recon = out if reconstruct else (out, None)
        if self.auxiliary_classifier or self.code_components:
            logits, classes = out[0].float(), out[1].float()
        else:
            logits, classes = out.float(), None
        return (logits, classes, recon) if reconstruct else (logits, classes)

    def _augment(self, images: torch.Tensor) -> torch.Tensor:
        return diff_augment(images, self.augment_policy, self.noise) if self.augment_policy else images

    def _check_finite_grads(self, name: str, module: nn.Module) -> torch.Tensor:
        """The gradient norm of ``module``; raises before the optimiser step when it is NaN or Inf."""
        norm = grad_norm_tensor(module)
        if not torch.isfinite(norm):
            raise NonFiniteLossError(f"{name} gradient norm became {float(norm)} at step {self.step}; the update was not applied")
        return norm

    def _check_finite(self, name: str, value: torch.Tensor) -> None:
        if not torch.isfinite(value):
            raise NonFiniteLossError(f"{name} became {float(value.detach())} at step {self.step}; the update was not applied")

    def train_step(self, real: torch.Tensor, real_labels: torch.Tensor | None, with_stats: bool = False) -> dict[str, float]:
        """One training step on a real batch (B, C, H, W) in [-1, 1] (or (B, D) vectors); statistics when asked."""
        return self._objective_step(real, real_labels, with_stats)

    def _adversarial_step(self, real: torch.Tensor, real_labels: torch.Tensor | None, with_stats: bool) -> dict[str, float]:
        """One D update, and one G update on every ``n_critic``-th step, through the same fake batch.

        With the default config (one critic step, no regulariser, augmentation, EMA or
        auxiliary classifier) this is exactly Algorithm 1 of Goodfellow et al. with k = 1.
        """
        batch = real.shape[0]
        z, fake_labels = self.sample_noise(batch)
        device_type = self.device.type
        update_g = (self.step + 1) % self.n_critic == 0
        reg = self.cfg.reg
        r1_now = reg.r1_gamma > 0 and self.step % reg.r1_every == 0
        if r1_now:
            real = real.detach().requires_grad_(True)
        with torch.autocast(device_type, dtype=torch.bfloat16, enabled=self.autocast):
            with torch.set_grad_enabled(update_g):  # D-only steps need no graph through G
                fake = self._generate(z, fake_labels)  # (B, C, H, W)

            # Discriminator: real vs the fake batch, detached from G.
            self.discriminator.requires_grad_(True)
            real_seen, fake_seen = self._augment(real), self._augment(fake.detach())
            # A self-supervised D also returns its reconstruction loss on the real images: recon = [loss], else [].
            redraw = {"reconstruct": batch} if self.reconstruction else {}
            if self.joint_d_pass and not r1_now:
                # One D call on [real; fake] (2B, ...): same outputs as two calls for a D without
                # batch statistics, with one set of larger matmuls and no gradient accumulation.
                labels = None if real_labels is None else torch.cat([real_labels, fake_labels])
                logits, classes, *recon = self._d_outputs(torch.cat([real_seen, fake_seen]), labels, **redraw)  # (2B,) [, (2B, K)]
                real_logits, fake_logits = logits.chunk(2)  # B / pack each: packs never straddle the halves
                real_classes, fake_classes = (None, None) if classes is None else classes.chunk(2)
            else:
                real_logits, real_classes, *recon = self._d_outputs(real_seen, real_labels, eager=r1_now, **redraw)  # (B,)
                fake_logits, fake_classes = self._d_outputs(fake_seen, fake_labels)  # (B,)
        d_loss = self.loss.discriminator(real_logits, fake_logits)
        stats: dict[str, float] = {}
        if recon:
            d_loss = d_loss + reg.recon_weight * recon[0]
            if with_stats:
                stats["recon"] = float(recon[0].detach())
        if self.auxiliary_classifier:
            if self.twin_classifier:
                # The classifier learns the real classes, its twin the classes of the fakes (Gong et al. 2019).
                real_classes, fake_classes = real_classes.chunk(2, dim=1)[0], fake_classes.chunk(2, dim=1)[1]
            aux = F.cross_entropy(real_classes, real_labels) + F.cross_entropy(fake_classes, fake_labels)
            d_loss = d_loss + reg.aux_weight * aux
            if with_stats:
                stats["d_aux"] = float(aux.detach())
        info_now = self.code_components and reg.info_weight > 0
        if info_now:
            codes = self.generator.code(z)  # (B,) or (B, n): the code(s) each fake was drawn with
            info = info_loss(fake_classes, codes)
            d_loss = d_loss + reg.info_weight * info
            if with_stats:
                stats["info"] = float(info.detach())
        if reg.gp_weight > 0:
            with torch.autocast(device_type, dtype=torch.bfloat16, enabled=self.autocast):
                penalty = gradient_penalty(lambda x: self._d_outputs(x, real_labels, eager=True)[0], real_seen, fake_seen, self.noise)
            d_loss = d_loss + reg.gp_weight * penalty
            if with_stats:
                stats["gp"] = float(penalty.detach())
        if r1_now:
            penalty = r1_penalty(real_logits, real)
            d_loss = d_loss + (reg.r1_gamma / 2) * penalty * reg.r1_every
            if with_stats:
                stats["r1"] = float(penalty.detach())
        self._check_finite("discriminator loss", d_loss)
        self.opt_d.zero_grad(set_to_none=True)
        d_loss.backward()
        norm_d = self._check_finite_grads("discriminator", self.discriminator)
        if with_stats:
            stats["grad_norm_d"] = float(norm_d)
        self.opt_d.step()

        if update_g:
            # Generator: fool the updated D with the same fake batch.
            self.discriminator.requires_grad_(False)
            with torch.autocast(device_type, dtype=torch.bfloat16, enabled=self.autocast):
                gen_logits, gen_classes = self._d_outputs(self._augment(fake), fake_labels)
            if self.cfg.loss.topk_gamma < 1.0:
                epoch = self.step // self.sampler.steps_per_epoch
                gen_logits = top_k_logits(gen_logits, top_k_fraction(epoch, self.cfg.loss.topk_gamma, self.cfg.loss.topk_min))
            g_loss = self.loss.generator(gen_logits)
            if self.twin_classifier:
                # G: read as its class by the classifier, and not by the twin (TAC-GAN, Eq. 9).
                classes, twin = gen_classes.chunk(2, dim=1)
                g_loss = g_loss + reg.aux_weight * (F.cross_entropy(classes, fake_labels) - F.cross_entropy(twin, fake_labels))
            elif self.auxiliary_classifier:
                g_loss = g_loss + reg.aux_weight * F.cross_entropy(gen_classes, fake_labels)
            if info_now:
                g_loss = g_loss + reg.info_weight * info_loss(gen_classes, codes)
            self._check_finite("generator loss", g_loss)
            self.opt_g.zero_grad(set_to_none=True)
            g_loss.backward()
            norm_g = self._check_finite_grads("generator", self.generator)
            self.opt_g.step()
            self.discriminator.requires_grad_(True)
            if self.ema is not None:
                self.ema.update(self.generator, images_seen=self.step * batch, batch=batch * self.n_critic)
            if with_stats or self.n_critic > 1:
                self._last_g_stats = {"g_loss": float(g_loss.detach()), "grad_norm_g": float(norm_g)}

        if with_stats:
            stats["d_loss"] = float(d_loss.detach())
            stats.update(self._last_g_stats)
            stats.update(discriminator_stats(real_logits, fake_logits, self.loss.decision_threshold))
        return stats

    def _vae_step(self, real: torch.Tensor, real_labels: torch.Tensor | None, with_stats: bool) -> dict[str, float]:
        """One step on the negative ELBO (Kingma & Welling 2014); encoder and decoder move together."""
        device_type = self.device.type
        with torch.autocast(device_type, dtype=torch.bfloat16, enabled=self.autocast):
            mean, log_var = self.discriminator(real)  # (B, L), (B, L): q(z | x)
            eps = torch.randn(mean.shape, generator=self.noise).to(self.device)
            z = mean.float() + eps * torch.exp(0.5 * log_var.float())  # reparameterisation
            logits = self.generator.logits(z)  # (B, C, H, W)
        loss, nll, kl = negative_elbo(logits, (real + 1) / 2, mean, log_var)
        self._check_finite("VAE loss", loss)
        self.opt_g.zero_grad(set_to_none=True)
        self.opt_d.zero_grad(set_to_none=True)
        loss.backward()
        norm_g = self._check_finite_grads("decoder", self.generator)
        norm_d = self._check_finite_grads("encoder", self.discriminator)
        self.opt_g.step()
        self.opt_d.step()
        if self.ema is not None:
            self.ema.update(self.generator, images_seen=self.step * real.shape[0], batch=real.shape[0])
        if not with_stats:
            return {}
        return {"loss": float(loss.detach()), "recon_nll": float(nll.detach()), "kl": float(kl.detach()), "grad_norm_g": float(norm_g), "grad_norm_d": float(norm_d)}

    def _to_device(self, real: torch.Tensor) -> torch.Tensor:
        """A real batch on the training device, in the networks' memory layout when it is an image batch."""
        real = real.to(self.device)
        return real.contiguous(memory_format=self.memory_format) if real.ndim == 4 else real

    def next_batch(self) -> tuple[torch.Tensor, torch.Tensor | None]:
        idx = self.sampler.indices(self.step)
        real = self._to_device(self.dataset.batch(idx))
        labels = self.real_labels[idx].to(self.device) if self.num_classes else None
        return real, labels

    # ------------------------------------------------------- state and files
    def state_dict(self) -> dict[str, Any]:
        return {
            "format": CHECKPOINT_FORMAT,
            "gankit_version": gankit.__version__,
            "config": config_to_dict(self.cfg),
            "step": self.step,
            "epoch": self.step // self.sampler.steps_per_epoch,
            "elapsed_seconds": self.elapsed,
            "generator": self.generator.state_dict(),
            "discriminator": self.discriminator.state_dict(),
            "opt_g": self.opt_g.state_dict(),
            "opt_d": self.opt_d.state_dict(),
            "rng": get_rng_state(self.noise),
            "rollbacks": self.rollbacks,
            "img_shape": list(self.dataset.img_shape),
            "num_classes": self.num_classes,
            **({"class_prior": self.class_prior} if self.class_prior is not None else {}),
            **({"cluster_labels": self.real_labels} if self.cfg.data.clusters else {}),
            **({"generator_ema": self.ema.state_dict()} if self.ema is not None else {}),
        }

    def load_state_dict(self, state: dict[str, Any], origin: str = "checkpoint") -> None:
        if type(state.get("format")) is not int or state["format"] != CHECKPOINT_FORMAT:
            raise CheckpointError(f"{origin}: checkpoint format {state.get('format')!r} is not supported (expected {CHECKPOINT_FORMAT})")
        saved = state.get("config")
        saved = saved.get("model") if isinstance(saved, dict) else None
        saved = saved if isinstance(saved, dict) else {}
        if not isinstance(saved.get("name"), str) or saved["name"] != self.cfg.model.name:
            raise CheckpointError(f"{origin}: checkpoint is for model {saved.get('name')!r}, this run uses {self.cfg.model.name!r}")
        try:
            self.generator.load_state_dict(state["generator"])
            self.discriminator.load_state_dict(state["discriminator"])
            ckpt.check_optimizer_state(state["opt_g"], self.opt_g, "opt_g")  # untrusted shapes never reach the fused kernel
            ckpt.check_optimizer_state(state["opt_d"], self.opt_d, "opt_d")
            self.opt_g.load_state_dict(state["opt_g"])
            self.opt_d.load_state_dict(state["opt_d"])
            match_state_layout(self.opt_g)  # a checkpoint may come from a run with the other memory layout
            match_state_layout(self.opt_d)
            if self.ema is not None:
                self.ema.load_state_dict(state["generator_ema"] if "generator_ema" in state else state["generator"])
            set_rng_state(state["rng"], self.noise)
            step = state["step"]
            if not isinstance(step, int) or isinstance(step, bool) or step < 0:
                raise ValueError(f"step {step!r} is not a non-negative integer")
            self.step = step
            self.elapsed = float(state.get("elapsed_seconds", 0.0))
            self.rollbacks = int(state.get("rollbacks", 0))
            if self.cfg.data.clusters:
                labels = state["cluster_labels"]
                if not (isinstance(labels, torch.Tensor) and labels.dtype == torch.long and labels.shape == (len(self.dataset),)
                        and int(labels.min()) >= 0 and int(labels.max()) < self.num_classes):
                    raise ValueError(f"cluster_labels must be {len(self.dataset)} integers in 0..{self.num_classes - 1}")
                self.real_labels = labels
                self._set_label_shares()
        except (KeyError, RuntimeError, ValueError, TypeError, AttributeError, IndexError) as exc:
            first = first_line(exc)
            raise CheckpointError(f"{origin}: does not match this model ({first})") from None

    def save_checkpoint(self) -> Path:
        """Write the training state, unless it holds NaN/Inf; a failed write leaves the previous checkpoint as it was.

        Raises:
            NonFiniteLossError: the state is not finite (nothing is written).
            CheckpointWriteError: the disk is full or the run directory is not writable.
        """
        path = self.checkpoint_dir / ckpt.checkpoint_name(self.step)
        state = self.state_dict()
        bad = guard.first_nonfinite_in_state(state)
        if bad is not None:
            raise NonFiniteLossError(f"{bad} is NaN/Inf at step {self.step}; the checkpoint was not written")
        data = ckpt.encode_checkpoint(state)
        try:
            self.checkpoint_dir.mkdir(parents=True, exist_ok=True)
            ckpt.atomic_write_bytes(path, data)
        except OSError as exc:
            newest = ckpt.list_checkpoints(self.checkpoint_dir)
            kept = f"the newest complete checkpoint is {newest[-1][1]}" if newest else "no earlier checkpoint exists"
            raise ckpt.CheckpointWriteError(
                f"cannot write checkpoint {path} ({exc.strerror or exc}) at step {self.step}; {kept}; "
                f"make room, then continue with: gankit train --resume {self.run_dir}"
            ) from None
        self._good_checkpoint = data
        ckpt.prune_checkpoints(self.checkpoint_dir, self.cfg.train.keep_checkpoints)
        return path

    def _set_learning_rates(self, total: int) -> None:
        """The configured rates x ``rollback_lr_factor`` per rollback x the decay schedule."""
        optim = self.cfg.optim
        scale = self.cfg.train.rollback_lr_factor ** self.rollbacks * lr_multiplier(self.step, total, optim.lr_decay_start)
        for opt, base in ((self.opt_g, optim.lr_g), (self.opt_d, optim.lr_d)):
            for group in opt.param_groups:
                group["lr"] = base * scale

    def _roll_back(self, error: NonFiniteLossError) -> None:
        """Return to the last good state with lower learning rates, or stop after ``train.max_rollbacks``."""
        limit, factor = self.cfg.train.max_rollbacks, self.cfg.train.rollback_lr_factor
        good = ckpt.decode_checkpoint(self._good_checkpoint, "the last good state")
        if self.rollbacks >= limit:
            raise DivergenceError(
                f"{error}; stopped after {self.rollbacks} rollback(s) (train.max_rollbacks={limit}); "
                f"the last good state is step {good['step']}: lower optim.lr_g/optim.lr_d or raise train.max_rollbacks, then resume"
            )
        rollbacks, failed_step = self.rollbacks + 1, self.step
        self.load_state_dict(good, "the last good state")
        self.rollbacks = rollbacks
        self._set_learning_rates(self.total_steps)  # x rollback_lr_factor per rollback
        guard.truncate_jsonl(self.run_dir / "metrics.jsonl", self.step)
        log.warning(
            "%s; rolled back from step %d to step %d and multiplied the learning rates by %g (now G %.3g, D %.3g); rollback %d of %d",
            error, failed_step, self.step, factor, self.opt_g.param_groups[0]["lr"], self.opt_d.param_groups[0]["lr"], rollbacks, limit,
        )

    def resume(self) -> Path | None:
        """Load the newest valid checkpoint of the run directory, if any."""
        found = ckpt.load_latest_checkpoint(self.checkpoint_dir)
        if found is None:
            return None
        path, state = found
        self.load_state_dict(state, str(path))
        return path

    @torch.no_grad()
    def save_samples(self, name: str) -> Path:
        from torchvision.utils import save_image

        generator = self.sampling_generator
        was_training = generator.training
        generator.eval()
        labels = self.fixed_labels if self.num_classes else None
        images = (generator(self.fixed_z, labels) if self.num_classes else generator(self.fixed_z)).float()
        generator.train(was_training)
        path = self.run_dir / "samples" / f"{name}.png"
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.tmp.png")
        if images.ndim == 2:  # vector data: a scatter plot over the real points
            from gankit.training.plots import plot_points

            plot_points(images.cpu(), self.dataset.images[:2000], tmp, title=f"{self.cfg.data.name}, {name}")
        else:
            save_image(images.cpu(), tmp, nrow=int(math.ceil(math.sqrt(len(images)))), normalize=True, value_range=(-1, 1))
        tmp.replace(path)
        return path

    def sample_spec(self) -> dict[str, Any]:
        """What rebuilds (and samples) this run's generator: see :func:`gankit.models.generator_spec`."""
        cfg = self.cfg
        return generator_spec(cfg.model.name, self.dataset.img_shape, cfg.model.latent_dim, self.num_classes, cfg.model.options, self.class_prior)

    def export(self) -> Path:
        spec = self.sample_spec()
        spec["step"] = self.step
        directory = self.run_dir / "export"
        export_generator(self.sampling_generator, spec, directory)
        return directory

    def _log_metrics(self, record: dict[str, Any]) -> None:
        with open(self.run_dir / "metrics.jsonl", "a") as f:
            f.write(json.dumps(record) + "\n")
        if self._tb is not None:
            for key, value in record.items():
                if key not in ("step", "epoch") and isinstance(value, (int, float)):
                    self._tb.add_scalar(key, value, record["step"])

    def _open_tensorboard(self) -> None:
        try:
            from torch.utils.tensorboard import SummaryWriter
        except ImportError:
            return
        self._tb = SummaryWriter(str(self.run_dir / "tensorboard"))

    # ------------------------------------------------------------ the loop
    def _handle_signal(self, signum: int, frame: Any) -> None:
        if self._stop_signal is not None:  # a second Ctrl-C stops at once
            raise KeyboardInterrupt
        self._stop_signal = signum
        log.warning("received %s: saving a checkpoint at the end of this step", signal.Signals(signum).name)

    def train(self, max_minutes: float | None = None, progress: bool = True) -> TrainResult:
        """Train until ``total_steps``, the time limit, or SIGINT/SIGTERM; checkpoint on every exit."""
        from tqdm import tqdm

        self.run_dir.mkdir(parents=True, exist_ok=True)
        if self.is_main_process:
            save_config(self.cfg, self.run_dir / "config.yaml")
        self._open_tensorboard()
        handlers = {}
        if threading.current_thread() is threading.main_thread():
            for sig in (signal.SIGINT, signal.SIGTERM):
                handlers[sig] = signal.signal(sig, self._handle_signal)

        total, spe = self.total_steps, self.sampler.steps_per_epoch
        train_cfg = self.cfg.train
        guard.truncate_jsonl(self.run_dir / "metrics.jsonl", self.step)  # after a crash: each step logged once
        self._good_checkpoint = ckpt.encode_checkpoint(self.state_dict())
        if self.step == 0:
            self.save_samples("epoch-0000")
        start, deadline = time.perf_counter(), None if max_minutes is None else time.perf_counter() + 60 * max_minutes
        mark_time, mark_step = start, self.step
        status = "finished"
        bar = tqdm(total=total, initial=self.step, disable=not progress, unit="step", dynamic_ncols=True, mininterval=1.0)
        try:
            self.generator.train()
            self.discriminator.train()
            while self.step < total:
                self._set_learning_rates(total)
                real, labels = self.next_batch()
                log_now = (self.step + 1) % train_cfg.log_every == 0 or self.step + 1 == total
                try:
                    stats = self.train_step(real, labels, with_stats=log_now)
                    guard.check_weights({"generator": self.generator, "discriminator": self.discriminator}, self.step)
                except NonFiniteLossError as exc:
                    self._roll_back(exc)
                    bar.update(self.step - bar.n)
                    continue
                self.step += 1
                bar.update(1)
                epoch, in_epoch = divmod(self.step, spe)
                if log_now:
                    now = time.perf_counter()
                    ips = (self.step - mark_step) * train_cfg.batch_size / max(now - mark_time, 1e-9)
                    mark_time, mark_step = now, self.step
                    record = {"step": self.step, "epoch": self.step / spe, **stats, "images_per_s": ips}
                    self._log_metrics(record)
                    shown = {short: f"{stats[key]:.3f}" for key, short in (("d_loss", "d"), ("g_loss", "g"), ("loss", "loss")) if key in stats}
                    bar.set_postfix(epoch=epoch, **shown, img_s=f"{ips:.0f}")
                    for warning in self.monitor.observe(self.step, stats):
                        log.warning("%s", warning)
                if in_epoch == 0 and epoch % train_cfg.sample_every_epochs == 0:
                    self.save_samples(f"epoch-{epoch:04d}")
                if self.cfg.data.clusters and self.step % self.cfg.data.recluster_every == 0 and self.step < total:
                    self.recluster()
                if self.step % train_cfg.checkpoint_every == 0 and self.step < total:
                    self._add_elapsed(start)
                    start = time.perf_counter()
                    self.save_checkpoint()
                if train_cfg.fid_every and self.step % train_cfg.fid_every == 0 and self.is_main_process:
                    self._measure_fid()
                reason = self._stop_reason(deadline)
                if reason is not None:
                    status = reason
                    break
        finally:
            bar.close()
            for sig, handler in handlers.items():
                signal.signal(sig, handler)
            if self._tb is not None:
                self._tb.close()
        self._add_elapsed(start)
        self.save_checkpoint()
        self.save_samples("final")
        self.export()
        self._plot_losses()
        return TrainResult(status, self.step, self.run_dir)

    def _measure_fid(self) -> None:
        """A cheap FID into metrics.jsonl and TensorBoard; a new best state is kept as ``checkpoints/best.ckpt``."""
        from gankit.metrics.monitor import FIDMonitor

        if self._fid_monitor is None:
            cfg = self.cfg
            self._fid_monitor = FIDMonitor(cfg.data.name, cfg.data.dir, cfg.train.fid_samples, self.run_dir)
        value = self._fid_monitor.measure(self.sampling_generator, self.sample_spec())
        if value is None:
            return
        self._log_metrics({"step": self.step, "epoch": self.step / self.sampler.steps_per_epoch, "fid": value})
        if self._fid_monitor.is_best(value, self.step, "checkpoints/best.ckpt"):
            self.checkpoint_dir.mkdir(parents=True, exist_ok=True)
            ckpt.save_checkpoint(self.state_dict(), self.checkpoint_dir / "best.ckpt")

    def _stop_reason(self, deadline: float | None) -> str | None:
        """Why the loop stops after this step (``interrupted`` by a signal, ``time_limit``), or None to go on."""
        if self._stop_signal is not None:
            return "interrupted"
        if deadline is not None and time.perf_counter() >= deadline:
            return "time_limit"
        return None

    def _add_elapsed(self, since: float) -> None:
        self.elapsed += time.perf_counter() - since

    def _plot_losses(self) -> None:
        from gankit.training.plots import plot_training_curves

        try:
            plot_training_curves(self.run_dir / "metrics.jsonl", self.run_dir / "loss_curve.png")
        except ImportError:
            log.info("matplotlib is not installed: no loss curve written")


def trainer_from_checkpoint_state(state: dict[str, Any], run_dir: Path, origin: str, overrides: dict[str, Any] | None = None,
                                  trainer_cls: type[Trainer] | None = None) -> Trainer:
    """Rebuild a trainer (a ``trainer_cls``, default :class:`Trainer`) from the config stored in a checkpoint, then load the state."""
    raw = state.get("config")
    if not isinstance(raw, dict):
        raise CheckpointError(f"{origin}: carries no config")
    for section, values in (overrides or {}).items():
        if not isinstance(raw.setdefault(section, {}), dict):
            raise CheckpointError(f"{origin}: config.{section} is not a mapping")
        raw[section].update(values)
    trainer = (trainer_cls or Trainer)(config_from_dict(raw), run_dir)
    trainer.load_state_dict(state, origin)
    return trainer
