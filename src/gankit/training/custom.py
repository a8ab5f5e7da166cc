"""Training the user's own networks on the user's own data: :func:`train` (``gankit.train``).

The networks and the data come in as Python objects; everything else is gankit's: the losses and
loss terms (``loss``, ``reg``), EMA, DiffAugment, the NaN guard, checkpoints that resume bit for bit,
``metrics.jsonl`` and the sample grids. The run's config records ``model.name: custom`` and
``data.name: custom``: its checkpoints and ``export/`` hold the weights, and rebuilding the generator
needs the user's class (``gankit.load(run_dir, generator=MyGenerator())``).

The generator maps z (B, latent_dim) (and labels (B,) when conditional) to images (B, C, H, W) in
[-1, 1], or to vectors (B, D); the discriminator maps them (and labels) to logits (B,).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch
from torch import nn

from gankit.data import ImageDataset
from gankit.errors import ConfigError, DataError, first_line
from gankit.training.config import CUSTOM, apply_overrides, config_from_dict


def as_dataset(data: torch.Tensor | torch.utils.data.Dataset, labels: torch.Tensor | None = None) -> ImageDataset:
    """The user's data as an in-memory :class:`ImageDataset`.

    Args:
        data: images uint8 (N, C, H, W) or float (N, C, H, W) in [0, 1] (what torchvision's ``ToTensor`` gives),
            vectors float (N, D); or a ``Dataset`` of such items, or of ``(item, label)`` pairs.
        labels: (N,) class labels for a tensor (a ``Dataset`` of pairs carries its own).

    Raises:
        DataError: data of another shape, type or range, naming what is allowed.
    """
    if not isinstance(data, torch.Tensor):
        data, labels = _stack(data)
    if data.ndim == 4 and data.is_floating_point():
        if float(data.min()) < 0 or float(data.max()) > 1:
            raise DataError(f"data: float images must lie in [0, 1], found [{float(data.min()):.3g}, {float(data.max()):.3g}]")
        data = (data * 255).round().to(torch.uint8)
    elif data.ndim == 2 and data.is_floating_point():
        data = data.float()
    elif not (data.ndim == 4 and data.dtype == torch.uint8):
        raise DataError(f"data: expected images (N, C, H, W) as uint8 or float in [0, 1], or vectors (N, D) as float; "
                        f"got {data.dtype} {tuple(data.shape)}")
    if labels is not None:
        labels = torch.as_tensor(labels).long()
        if labels.shape != (len(data),) or int(labels.min()) < 0:
            raise DataError(f"labels: expected {len(data)} class indices >= 0, got {tuple(labels.shape)}")
    num_classes = int(labels.max()) + 1 if labels is not None else 0
    return ImageDataset(CUSTOM, data.contiguous(), labels, num_classes, source="the user's data")


def _stack(dataset: torch.utils.data.Dataset) -> tuple[torch.Tensor, torch.Tensor | None]:
    """A map-style dataset's items stacked into one tensor, and their labels when items are ``(x, y)`` pairs."""
    try:
        items = [dataset[i] for i in range(len(dataset))]
    except TypeError:
        raise DataError("data: expected a tensor or a map-style torch Dataset (with __len__ and __getitem__)") from None
    if not items:
        raise DataError("data: the dataset is empty")
    if isinstance(items[0], (tuple, list)):
        return torch.stack([torch.as_tensor(x[0]) for x in items]), torch.tensor([int(x[1]) for x in items])
    return torch.stack([torch.as_tensor(x) for x in items]), None


def check_networks(generator: nn.Module, discriminator: nn.Module, dataset: ImageDataset, latent_dim: int,
                   num_classes: int) -> None:
    """One forward pass of two samples through both networks: the shapes they must give, or one ConfigError."""
    device = next(generator.parameters()).device
    z = torch.zeros(2, latent_dim, device=device)
    labels = torch.zeros(2, dtype=torch.long, device=device) if num_classes else None
    modes = generator.training, discriminator.training
    try:
        with torch.no_grad():  # in eval mode: BatchNorm statistics stay as they are
            fake = _forward("generator", generator.eval(), z, labels, f"z (2, {latent_dim})")
            if not isinstance(fake, torch.Tensor) or tuple(fake.shape) != (2, *dataset.img_shape):
                raise ConfigError(f"generator: z (2, {latent_dim}) gave {tuple(getattr(fake, 'shape', ()))}; the data needs "
                                  f"(2, {', '.join(map(str, dataset.img_shape))}) (set latent_dim to the generator's input size)")
            out = _forward("discriminator", discriminator.eval(), fake, labels, f"samples {tuple(fake.shape)}")
    finally:
        generator.train(modes[0])
        discriminator.train(modes[1])
    logits = out if isinstance(out, torch.Tensor) else getattr(out, "logits", None)
    if logits is None or tuple(logits.shape) != (2,):
        shape = tuple(logits.shape) if isinstance(logits, torch.Tensor) else type(out).__name__
        raise ConfigError(f"discriminator: gave {shape} for 2 samples; it must return logits of shape (2,) (end it with nn.Flatten(0))")


def _forward(name: str, module: nn.Module, x: torch.Tensor, labels: torch.Tensor | None, what: str) -> Any:
    try:
        return module(x, labels) if labels is not None else module(x)
    except (RuntimeError, TypeError, ValueError, IndexError) as exc:
        hint = " (set latent_dim to the generator's input size)" if name == "generator" else ""
        raise ConfigError(f"{name}: fails on {what} ({first_line(exc)}){hint}") from None


def train(generator: nn.Module, discriminator: nn.Module, data: torch.Tensor | torch.utils.data.Dataset,
          run_dir: str | Path, steps: int, latent_dim: int, loss: str = "non_saturating", batch_size: int = 64,
          labels: torch.Tensor | None = None, conditional: bool = False, seed: int = 0, device: str = "cpu",
          overrides: list[str] | tuple[str, ...] = (), resume: bool = False, max_minutes: float | None = None,
          progress: bool = False) -> Any:
    """Train the user's generator and discriminator on the user's data with gankit's loop.

    Args:
        generator: G, z (B, latent_dim) [and labels (B,)] -> images (B, C, H, W) in [-1, 1] or vectors (B, D).
        discriminator: D, images [and labels] -> logits (B,) (or a :class:`~gankit.models.base.DiscriminatorOutput`).
        data: see :func:`as_dataset`.
        run_dir: where checkpoints, samples, metrics.jsonl and export/ go.
        steps: training steps (``train.max_steps``).
        latent_dim: the size of z.
        loss: an adversarial loss from ``gankit.losses.LOSSES`` (``non_saturating``, ``hinge``, ``wgan``, ...).
        batch_size: images per step.
        labels: class labels of a tensor ``data``; with ``conditional``, G and D are called with labels.
        conditional: feed labels to G and D.
        seed: seeds the data order, the noise and the augmentations (not the networks' initial weights: seed
            torch before building them).
        device: ``cpu``, ``cuda``, ``mps`` or ``auto``.
        overrides: further config keys as ``section.key=value`` (``reg.r1_gamma=1``, ``ema.half_life_kimg=10``,
            ``augment.policy=translation``, ``optim.lr_g=1e-4``, ...), as ``gankit train --set`` takes them.
        resume: continue the newest checkpoint in ``run_dir`` (the same networks' classes and data).
        max_minutes: stop (with a checkpoint) after this long.
        progress: show a progress bar.

    Returns:
        The trained generator as a :class:`gankit.hub.GeneratorPipeline` (its EMA copy when ``ema`` is on).
    """
    from gankit.hub import GeneratorPipeline
    from gankit.models.base import GANPair
    from gankit.run import RunDir
    from gankit.training.config import config_to_dict
    from gankit.training.trainer import Trainer

    dataset = as_dataset(data, labels)
    raw = {"data": {"name": CUSTOM, "conditional": conditional}, "model": {"name": CUSTOM, "latent_dim": latent_dim},
           "loss": {"name": loss}, "train": {"max_steps": steps, "batch_size": batch_size, "seed": seed, "device": device}}
    cfg = config_from_dict(apply_overrides(raw, list(overrides)))
    num_classes = dataset.num_classes if conditional else 0
    check_networks(generator, discriminator, dataset, latent_dim, num_classes)
    if not resume and RunDir(run_dir).checkpoints():
        raise ConfigError(f"run_dir: {run_dir} holds a run; pass resume=True to continue it, or choose another run_dir")
    trainer = Trainer(cfg, run_dir, dataset=dataset, networks=GANPair(generator, discriminator))
    if resume:
        trainer.resume()
    trainer.train(max_minutes=max_minutes, progress=progress)
    spec = {**trainer.sample_spec(), "step": trainer.step}
    return GeneratorPipeline(trainer.sampling_generator, spec, config_to_dict(cfg), origin=str(run_dir))
