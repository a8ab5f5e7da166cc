"""Training the domain evaluator (:mod:`gankit.metrics.evaluator`), and training it on first use.

Training is deterministic from ``EvaluatorConfig.seed``: it runs on the CPU on one thread, since
a different thread count changes the order of float sums, and a few epochs of that make a
different network whose FID scale differs (two MNIST evaluators trained on 1 and 2 threads put the
same samples at FID 36.3 and 37.3).
"""

from __future__ import annotations

import dataclasses
import logging
import math
import os
import time
from collections.abc import Callable

import torch
from torch.nn import functional as F

import gankit
from gankit.data import DatasetSpec, ImageDataset
from gankit.errors import ConfigError
from gankit.metrics.evaluator import (
    ARCH_VERSION,
    DomainEvaluator,
    EvaluatorConfig,
    EvaluatorMissingError,
    EvaluatorNet,
    auto_epochs,
    data_digest,
    evaluator_dir,
    evaluator_key,
    load_evaluator,
    load_evaluator_dir,
    save_evaluator,
    seeded_evaluator_dir,
)
from gankit.metrics.extractors import FeatureExtractor, default_extractor, evaluator_dataset

log = logging.getLogger("gankit")


def _shift(images: torch.Tensor, shift: int, gen: torch.Generator) -> torch.Tensor:
    """Translate each image by up to ``shift`` pixels in x and y (zero padding = black in [-1, 1] is -1)."""
    if shift <= 0:
        return images
    b, _, h, w = images.shape
    padded = F.pad(images, (shift, shift, shift, shift), value=-1.0)
    dy, dx = torch.randint(0, 2 * shift + 1, (2, b), generator=gen)
    rows = (dy[:, None] + torch.arange(h)[None, :])  # (B, H)
    cols = (dx[:, None] + torch.arange(w)[None, :])  # (B, W)
    batch = torch.arange(b)[:, None, None]
    out = padded.permute(0, 2, 3, 1)[batch, rows[:, :, None], cols[:, None, :]]  # (B, H, W, C)
    return out.permute(0, 3, 1, 2).contiguous()


def fit_evaluator_net(train: ImageDataset, cfg: EvaluatorConfig, transform: Callable[[torch.Tensor], torch.Tensor] | None = None,
                      progress_name: str | None = None) -> EvaluatorNet:
    """An :class:`EvaluatorNet` trained on ``train`` with the recipe ``cfg`` (``cfg.epochs`` set), seeded from
    ``cfg.seed``, in train mode. ``transform`` maps each augmented batch (B, C, H, W) before the network sees it (a
    degradation, for a classifier of degraded images); ``progress_name`` logs each epoch under that name."""
    torch.manual_seed(cfg.seed)
    net = EvaluatorNet(train.img_shape, train.num_classes, cfg.channels, cfg.feature_dim, cfg.dropout)
    steps_per_epoch = math.ceil(len(train) / cfg.batch_size)
    total = cfg.epochs * steps_per_epoch
    opt = torch.optim.AdamW(net.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
    schedule = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=cfg.lr, total_steps=total, pct_start=0.15)
    gen = torch.Generator().manual_seed(cfg.seed)
    started = time.perf_counter()
    net.train()
    for epoch in range(cfg.epochs):
        order = torch.randperm(len(train), generator=gen)
        running = 0.0
        for step in range(steps_per_epoch):
            idx = order[step * cfg.batch_size:(step + 1) * cfg.batch_size]
            x = _shift(train.batch(idx), cfg.shift, gen)
            if transform is not None:
                x = transform(x)
            loss = F.cross_entropy(net(x), train.labels[idx], label_smoothing=cfg.label_smoothing)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            schedule.step()
            running += loss.item()
        if progress_name:
            log.info("evaluator %s: epoch %d/%d, loss %.4f (%.0f s)", progress_name, epoch + 1, cfg.epochs, running / steps_per_epoch,
                     time.perf_counter() - started)
    return net


def train_evaluator(dataset: DatasetSpec | str, data_dir: str | os.PathLike | None = None, cfg: EvaluatorConfig = EvaluatorConfig(),
                    progress: bool = False) -> DomainEvaluator:
    """Train the domain evaluator of ``dataset`` on its train split and measure it on its test split.

    One thread, whatever torch's setting (restored afterwards): the same seed gives the same weights on any
    number of cores.
    """
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        return _train_evaluator(DatasetSpec.of(dataset, data_dir), cfg, progress)
    finally:
        torch.set_num_threads(threads)


def _train_evaluator(spec: DatasetSpec, cfg: EvaluatorConfig, progress: bool) -> DomainEvaluator:
    dataset = spec.name
    train, test = spec.load("train"), spec.load("test")
    if train.images.ndim != 4 or train.labels is None or train.num_classes < 2:
        raise ConfigError(f"--dataset {dataset}: a domain evaluator needs labelled images; {dataset!r} has none")
    if cfg.epochs is None:
        cfg = dataclasses.replace(cfg, epochs=auto_epochs(len(train)))
    started = time.perf_counter()
    net = fit_evaluator_net(train, cfg, progress_name=dataset if progress else None)
    key = evaluator_key(train, cfg)
    meta = {
        "dataset": dataset,
        "key": key,
        "data_digest": data_digest(train),
        "config": dataclasses.asdict(cfg),
        "arch_version": ARCH_VERSION,
        "img_shape": list(train.img_shape),
        "num_classes": train.num_classes,
        "train_count": len(train),
        "test_count": len(test),
        "data_source": train.source,
        "train_seconds": round(time.perf_counter() - started, 1),
        "gankit_version": gankit.__version__,
    }
    evaluator = DomainEvaluator(net, meta)
    meta["test_accuracy"] = evaluator.accuracy_on(test)
    return evaluator


def ensure_evaluator(dataset: DatasetSpec | str, data_dir: str | os.PathLike | None = None,
                     cfg: EvaluatorConfig = EvaluatorConfig()) -> DomainEvaluator:
    """The cached evaluator of ``dataset``; when there is none yet, train it (saying so, with progress) and cache it."""
    spec = DatasetSpec.of(dataset, data_dir)
    try:
        return load_evaluator(spec)
    except EvaluatorMissingError:
        pass
    train = spec.load("train")
    epochs = cfg.epochs or auto_epochs(len(train))
    log.info("no domain evaluator for dataset %r yet: training it once (%d epochs on %d images, cached for later runs)",
             spec.name, epochs, len(train))
    evaluator = train_evaluator(spec, cfg=cfg, progress=True)
    log.info("saved %s (test accuracy %.2f%%)", save_evaluator(evaluator), 100 * evaluator.accuracy)
    return load_evaluator(spec)


SEEDED_RECIPE = EvaluatorConfig()
"""The recipe of :func:`evaluator_with_seed`'s evaluators (its seed replaced): the default evaluator's."""


def seeded_evaluator_id(dataset: DatasetSpec | str, seed: int, data_dir: str | os.PathLike | None = None) -> str:
    """The id (``evaluator-<key>``) of :func:`evaluator_with_seed`'s evaluator of ``seed``, from its key alone."""
    spec = evaluator_dataset(DatasetSpec.of(dataset, data_dir))
    return f"evaluator-{evaluator_key(spec.load('train'), dataclasses.replace(SEEDED_RECIPE, seed=seed))[:16]}"


def evaluator_with_seed(dataset: DatasetSpec | str, seed: int, data_dir: str | os.PathLike | None = None,
                        train: bool = True) -> DomainEvaluator:
    """The domain evaluator of ``dataset`` trained with :data:`SEEDED_RECIPE` from ``seed``, found by its key.

    It is looked up in the default evaluator's cache folder, then in :func:`~gankit.metrics.evaluator.seeded_evaluator_dir`;
    when missing and ``train`` is set it is trained (one thread, deterministic) and cached in the latter, so that the
    default evaluator that scores every other run stays the one :func:`load_evaluator` picks.

    Raises:
        EvaluatorMissingError: it is not cached and ``train`` is False.
        ConfigError: the dataset has no labels to train an evaluator on.
    """
    spec = evaluator_dataset(DatasetSpec.of(dataset, data_dir))
    cfg = dataclasses.replace(SEEDED_RECIPE, seed=seed)
    key = evaluator_key(spec.load("train"), cfg)
    for folder in (evaluator_dir(spec.name, key), seeded_evaluator_dir(spec.name, key)):
        if (folder / "evaluator.json").is_file():
            return load_evaluator_dir(folder)
    if not train:
        raise EvaluatorMissingError(f"no {spec.name} domain evaluator of seed {seed} is cached (key {key[:16]}); "
                                    f"gankit eval trains it on first use")
    log.info("training the %s domain evaluator of seed %d once (cached for later runs)", spec.name, seed)
    evaluator = train_evaluator(spec, cfg=cfg, progress=True)
    folder = save_evaluator(evaluator, seeded_evaluator_dir(spec.name, key))
    log.info("saved %s (test accuracy %.2f%%)", folder, 100 * evaluator.accuracy)
    return load_evaluator_dir(folder)


def extractor_for(dataset: DatasetSpec | str, data_dir: str | os.PathLike | None = None, kind: str = "domain",
                  inception_weights: str | os.PathLike | None = None) -> FeatureExtractor:
    """:func:`~gankit.metrics.extractors.default_extractor`, training the domain evaluator first when it is missing."""
    spec = DatasetSpec.of(dataset, data_dir)
    try:
        return default_extractor(spec, kind=kind, inception_weights=inception_weights)
    except EvaluatorMissingError:
        ensure_evaluator(evaluator_dataset(spec))
        return default_extractor(spec, kind=kind, inception_weights=inception_weights)
