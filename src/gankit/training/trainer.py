"""The training loop: alternating discriminator and generator updates.

Goodfellow et al., "Generative Adversarial Nets", NeurIPS 2014, Algorithm 1 with k = 1: every step takes a real
batch and a noise batch, updates D on real vs one fake batch (:meth:`Trainer.d_step`), then G through D on the same
fakes (:meth:`Trainer.g_step`). What a step optimises is the model family's registered objective
(:mod:`gankit.training.objectives`); how processes share the work is the strategy the trainer is given
(:mod:`gankit.training.strategy`). The trainer owns the optimisers, the run directory and the checkpoints.
"""

from __future__ import annotations

import contextlib
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import torch
from torch import nn

from gankit.data import EpochSampler, ImageDataset, load_data
from gankit.errors import ConfigError
from gankit.models import generator_spec
from gankit.models.base import DiscriminatorOutput, GANPair, as_output
from gankit.run import Checkpoint, RunDir, checkpoint_name
from gankit.sampling import draw_samples
from gankit.training import guard, state
from gankit.training.augment import diff_augment
from gankit.training.config import Config
from gankit.training.diagnostics import log_step
from gankit.training.guard import NonFiniteLossError
from gankit.training.rng import seed_everything
from gankit.training.setup import build_networks, check_labels, resolve_device, set_learning_rates
from gankit.training.stopping import Stopper
from gankit.training.strategy import SingleProcess

Callback = Callable[["Trainer"], None]
"""Called after every step (after its checkpoint), e.g. the in-training FID of ``gankit train``."""


@dataclass
class TrainResult:
    status: str  # "finished", "time_limit", "interrupted"
    step: int
    run_dir: Path


class Trainer:
    """Trains one model described by a :class:`Config` inside ``run_dir``.

    Args:
        cfg: the validated run configuration.
        run_dir: where config, checkpoints, samples, metrics and exports go.
        dataset: an already loaded training set (default: ``cfg.data``'s train split).
        strategy: how processes share the work (default: one process). callbacks: called after every step.
        networks: the user's own generator and discriminator (``model.name: custom``; default: the config's model).
    """

    def __init__(self, cfg: Config, run_dir: str | Path, dataset: ImageDataset | None = None,
                 strategy: SingleProcess | None = None, callbacks: tuple[Callback, ...] = (), networks: GANPair | None = None) -> None:
        self.cfg, self.run_dir, self.run, self.callbacks = cfg, Path(run_dir), RunDir(run_dir), tuple(callbacks)
        self.strategy = strategy or SingleProcess()
        self.strategy.prepare(cfg)
        self.device = resolve_device(cfg.train.device)
        seed_everything(cfg.train.seed)
        self.dataset = dataset if dataset is not None else self.strategy.load_data(lambda: load_data(cfg.data, "train"))
        check_labels(cfg, self.dataset)
        self.num_classes = cfg.data.clusters or (self.dataset.num_classes if cfg.data.conditional else 0)
        # The labels of the real images: the data's own, or (self-conditioning) D's clusters, set once D exists.
        self.real_labels, self.class_prior = None, None
        if cfg.data.conditional:
            self.set_real_labels(self.dataset.labels)
        try:
            self.sampler = EpochSampler(len(self.dataset), cfg.train.batch_size, cfg.train.seed)
        except ValueError as exc:
            raise ConfigError(f"train.batch_size: {exc}") from None
        build_networks(self, cfg, networks)
        # Noise comes from a generator of its own (on the CPU, so results do not depend on the device).
        self.noise = torch.Generator().manual_seed(cfg.train.seed)
        self.step, self.elapsed, self.rollbacks, self.stopper = 0, 0.0, 0, Stopper()
        self._good_checkpoint: bytes | None = None  # the last state known finite, as written to disk
        self.metrics_log = self.run.metrics_log()
        self.train_generator, self.train_discriminator = self.generator, self.discriminator
        if cfg.data.clusters:
            self.recluster()  # the first labels: clusters of the untrained D's features
        self.strategy.setup(self)
        self.train_generator, self.train_discriminator = self.strategy.wrap(self.generator), self.strategy.wrap(self.discriminator)

    # ----------------------------------------------------------------- labels and paths
    def set_real_labels(self, labels: torch.Tensor) -> None:
        """The real images' labels, and their shares: G is asked for each class in this proportion (FID compares like with like)."""
        self.real_labels = labels
        self._label_shares = torch.bincount(labels, minlength=self.num_classes).double() / len(labels)
        self.class_prior = self._label_shares.tolist()

    def recluster(self) -> None:
        """Self-conditioning: the real images' labels become the clusters of D's features (see :mod:`.selfcond`)."""
        from gankit.training.selfcond import recluster

        self.set_real_labels(self.strategy.share_labels(recluster(self)))

    @property
    def total_steps(self) -> int:
        return self.cfg.train.max_steps if self.cfg.train.max_steps is not None else self.cfg.train.epochs * self.sampler.steps_per_epoch

    @property
    def sampling_generator(self) -> nn.Module:
        """The generator used for samples and export: the EMA copy when there is one."""
        return self.ema.module if self.ema is not None else self.generator

    # ----------------------------------------------------------------- what objectives call
    def autocast(self) -> contextlib.AbstractContextManager:
        return torch.autocast(self.device.type, dtype=torch.bfloat16, enabled=self.autocast_enabled)

    def sample_noise(self, batch: int) -> tuple[torch.Tensor, torch.Tensor | None]:
        """Noise z (B, L) and the classes G is asked for (B,), this process's part of the global draw."""
        n, local = self.strategy.global_batch(batch), self.strategy.local
        z = torch.randn(n, self.cfg.model.latent_dim, generator=self.noise).to(self.device)
        labels = None
        if self.num_classes and self.cfg.data.fake_labels == "data":
            labels = torch.multinomial(self._label_shares, n, replacement=True, generator=self.noise).to(self.device)
        elif self.num_classes:
            labels = torch.randint(self.num_classes, (n,), generator=self.noise).to(self.device)
        return local(z), (local(labels) if labels is not None else None)

    def generate(self, z: torch.Tensor, labels: torch.Tensor | None) -> torch.Tensor:
        module = self.train_generator if torch.is_grad_enabled() else self.generator  # no backward: no gradient sync
        return module(z, labels) if self.num_classes else module(z)

    def discriminate(self, images: torch.Tensor, labels: torch.Tensor | None, eager: bool = False, reconstruct: int = 0) -> DiscriminatorOutput:
        """D's outputs in float32. ``eager`` bypasses ``torch.compile`` (its graphs have no double backward, which R1 and
        GP need); ``reconstruct=n`` asks a self-supervised D for its reconstruction loss on the first n images."""
        training = torch.is_grad_enabled() and next(self.discriminator.parameters()).requires_grad
        module = self.train_discriminator if training else self.discriminator  # D's gradients are shared only when D trains
        call = module.forward if eager and self.cfg.train.compile else module
        kwargs = {"reconstruct": reconstruct} if reconstruct else {}
        return as_output(call(images, labels, **kwargs) if self.num_classes else call(images, **kwargs)).float()

    def augment(self, images: torch.Tensor) -> torch.Tensor:
        if not self.augment_policy:
            return images
        return self.strategy.augment(lambda x: diff_augment(x, self.augment_policy, self.noise), images)

    def check_finite(self, name: str, value: torch.Tensor) -> None:
        self.strategy.check_finite(name, value, self.step)

    def check_finite_grads(self, name: str, module: nn.Module) -> torch.Tensor:
        return guard.finite_grad_norm(name, module, self.step)

    def update(self, name: str, loss: torch.Tensor, optimizer: torch.optim.Optimizer, module: nn.Module) -> torch.Tensor:
        """One optimiser step on ``loss`` for ``module`` (checked finite first); returns the gradient norm."""
        self.check_finite(f"{name} loss", loss)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        norm = self.check_finite_grads(name, module)
        optimizer.step()
        return norm

    # ----------------------------------------------------------------- one step
    def next_batch(self) -> tuple[torch.Tensor, torch.Tensor | None]:
        """This process's part of the step's real batch (B, C, H, W) in [-1, 1], on the device, and its labels."""
        idx = self.strategy.local(self.sampler.indices(self.step))
        real = self.dataset.batch(idx).to(self.device)
        real = real.contiguous(memory_format=self.memory_format) if real.ndim == 4 else real
        return real, (self.real_labels[idx].to(self.device) if self.num_classes else None)

    def d_step(self, real: torch.Tensor, real_labels: torch.Tensor | None, with_stats: bool = False) -> dict[str, float]:
        """One discriminator update on a real batch against a fresh fake batch (kept for the next :meth:`g_step`)."""
        return self.objective.d_step(real, real_labels, with_stats)

    def g_step(self, with_stats: bool = False) -> dict[str, float]:
        """One generator update through the discriminator, on the fake batch of the last :meth:`d_step`."""
        return self.objective.g_step(with_stats)

    def train_step(self, real: torch.Tensor, real_labels: torch.Tensor | None, with_stats: bool = False) -> dict[str, float]:
        """One training step on a real batch (B, C, H, W) in [-1, 1] (or (B, D) vectors); statistics when asked."""
        return self.strategy.reduce_stats(self.objective.train_step(real, real_labels, with_stats))

    # ----------------------------------------------------------------- state and files
    def checkpoint(self) -> Checkpoint:
        return state.training_checkpoint(self)

    def state_dict(self) -> dict[str, Any]:
        return self.checkpoint().to_dict()

    def load_state_dict(self, saved: Checkpoint | dict[str, Any], origin: str = "checkpoint") -> None:
        state.load_training_state(self, saved, origin)

    def save_checkpoint(self) -> Path:
        """Write the training state (rank 0 only); every process keeps it as the state a rollback returns to."""
        checkpoint, keep = self.checkpoint(), self.cfg.train.keep_checkpoints
        self._good_checkpoint = state.write_checkpoint(self.run, checkpoint, keep) if self.strategy.is_main else checkpoint.encode()
        return self.run.checkpoint_dir / checkpoint_name(self.step)

    def resume(self) -> Path | None:
        """Load the newest valid checkpoint of the run directory, if any."""
        found = self.run.latest_checkpoint()
        return None if found is None else (self.load_state_dict(found[1], str(found[0])) or found[0])

    def sample_spec(self) -> dict[str, Any]:
        """What rebuilds (and samples) this run's generator: see :func:`gankit.models.generator_spec`."""
        model = self.cfg.model
        return generator_spec(model.name, self.dataset.img_shape, model.latent_dim, self.num_classes, model.options, self.class_prior)

    def save_samples(self, name: str) -> Path:
        """``samples/NAME.png``: G's samples of the run's fixed noise (seed ``train.seed + 1``), classes in turn."""
        if not self.strategy.is_main:
            return self.run.samples_dir / f"{name}.png"
        num = self.cfg.train.num_samples
        labels = torch.arange(num) % self.num_classes if self.num_classes else None
        own = getattr(self.objective, "samples", None)  # an objective whose G restores images draws its own grid
        samples = own(num) if own else draw_samples(self.sampling_generator, self.sample_spec(), num, self.cfg.train.seed + 1, labels, batch_size=num)
        return self.run.write_samples(name, samples, self.dataset.images[:2000], f"{self.cfg.data.name}, {name}")

    def export(self) -> Path:
        """``export/``: the sampling generator and its spec at this step."""
        if self.strategy.is_main:
            self.run.write_export(self.sampling_generator, {**self.sample_spec(), "step": self.step})
        return self.run.export_dir

    def log_metrics(self, record: dict[str, Any]) -> None:
        if self.strategy.is_main:
            self.metrics_log.write(record)

    # ----------------------------------------------------------------- the loop
    def train(self, max_minutes: float | None = None, progress: bool = True) -> TrainResult:
        """Train until ``total_steps``, the time limit, or SIGINT/SIGTERM; checkpoint on every exit."""
        from tqdm import tqdm

        self.run_dir.mkdir(parents=True, exist_ok=True)
        if self.strategy.is_main:
            self.run.write_config(self.cfg)
            self.metrics_log.open_tensorboard()
            self.run.truncate_metrics(self.step)  # after a crash: each step logged once
        self.stopper.install(max_minutes)
        total, status = self.total_steps, "finished"
        self._good_checkpoint = self.checkpoint().encode()
        if self.step == 0:
            self.save_samples("epoch-0000")
        self._since = time.perf_counter()
        self.mark = self._since, self.step  # the time and step of the last metrics record
        bar = tqdm(total=total, initial=self.step, disable=not progress, unit="step", dynamic_ncols=True, mininterval=1.0)
        try:
            self.generator.train()
            self.discriminator.train()
            while self.step < total:
                self.set_learning_rates(total)
                real, labels = self.next_batch()
                log_now = (self.step + 1) % self.cfg.train.log_every == 0 or self.step + 1 == total
                try:
                    stats = self.train_step(real, labels, with_stats=log_now)
                    guard.check_weights({"generator": self.generator, "discriminator": self.discriminator}, self.step)
                except NonFiniteLossError as exc:
                    guard.roll_back(self, exc)
                    bar.update(self.step - bar.n)
                    continue
                self.step += 1
                bar.update(1)
                if log_now:
                    log_step(self, stats, bar)
                self._after_step(total)
                status = self.strategy.stop_reason(self.stopper.reason()) or status
                if status != "finished":
                    break
        finally:
            bar.close()
            self.stopper.restore()
            self.metrics_log.close()
        return self._finish(status)

    def _after_step(self, total: int) -> None:
        """Sample grids each ``sample_every_epochs``, reclustering, checkpoints, then the callbacks."""
        train, (epoch, in_epoch) = self.cfg.train, divmod(self.step, self.sampler.steps_per_epoch)
        if in_epoch == 0 and epoch % train.sample_every_epochs == 0:
            self.save_samples(f"epoch-{epoch:04d}")
        if self.cfg.data.clusters and self.step % self.cfg.data.recluster_every == 0 and self.step < total:
            self.recluster()
        if self.step % train.checkpoint_every == 0 and self.step < total:
            self._add_elapsed()
            self.save_checkpoint()
        for callback in self.callbacks:
            callback(self)

    def _finish(self, status: str) -> TrainResult:
        """The final checkpoint, sample grid, export and loss plot."""
        self._add_elapsed()
        self.save_checkpoint()
        self.save_samples("final")
        self.export()
        if self.strategy.is_main:
            self.run.write_loss_curve()
        return TrainResult(status, self.step, self.run_dir)

    def _add_elapsed(self) -> None:
        now = time.perf_counter()
        self.elapsed, self._since = self.elapsed + now - self._since, now

    def set_learning_rates(self, total: int) -> None:
        set_learning_rates(self, total)
