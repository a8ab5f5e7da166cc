"""What the trainer is built from: the device, the networks and their optimisers, the learning-rate schedule."""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from gankit.errors import ConfigError, first_line
from gankit.losses import create_loss
from gankit.models import create_model
from gankit.models.base import GANPair
from gankit.models.layers import MinibatchStdDev
from gankit.training.augment import parse_policy
from gankit.training.config import CUSTOM
from gankit.training.diagnostics import InstabilityMonitor
from gankit.training.ema import GeneratorEMA
from gankit.training.objectives import create_objective, objective_for_model


def resolve_device(name: str) -> torch.device:
    """``train.device`` as a device: ``auto`` is CUDA, else MPS, else the CPU."""
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


def set_learning_rates(trainer: Any, total: int) -> None:
    """The configured rates x ``rollback_lr_factor`` per rollback x the decay schedule."""
    optim = trainer.cfg.optim
    scale = trainer.cfg.train.rollback_lr_factor ** trainer.rollbacks * lr_multiplier(trainer.step, total, optim.lr_decay_start)
    for opt, base in ((trainer.opt_g, optim.lr_g), (trainer.opt_d, optim.lr_d)):
        for group in opt.param_groups:
            group["lr"] = base * scale


def make_adam(params, lr: float, betas: tuple[float, float], device: torch.device) -> torch.optim.Adam:
    """Adam with the fused single-kernel update where the device supports it (CPU and CUDA).

    The update is the same algorithm as the per-tensor loop; on a CPU it is several
    times faster for the MLP, whose step is otherwise dominated by optimiser traffic.
    """
    return torch.optim.Adam(params, lr=lr, betas=betas, fused=device.type in ("cpu", "cuda"))


def build_pair(cfg: Any, img_shape: tuple[int, ...], num_classes: int) -> GANPair:
    """The model family's two networks, or one ConfigError naming the options it cannot build."""
    if cfg.model.name == CUSTOM:
        raise ConfigError("model.name: a 'custom' run trains your own networks; continue it in Python with "
                          "gankit.train(generator=..., discriminator=..., data=..., run_dir=..., resume=True)")
    try:
        return create_model(cfg.model.name, img_shape, cfg.model.latent_dim, num_classes, **cfg.model.options)
    except (TypeError, ValueError, RuntimeError, OverflowError) as exc:  # option values the family cannot build
        first = first_line(exc)
        raise ConfigError(f"model.options: cannot build model {cfg.model.name!r} with {cfg.model.options} ({first})") from None


def check_labels(cfg: Any, dataset: Any) -> None:
    """Refuse label settings the dataset cannot serve."""
    if cfg.data.conditional and dataset.labels is None:
        raise ConfigError(f"data.conditional: dataset {cfg.data.name!r} has no labels")
    if cfg.data.clusters and cfg.data.conditional:
        raise ConfigError("data.clusters: self-conditioning makes its own labels from D's features; set data.conditional to false")
    if cfg.data.clusters > len(dataset):
        raise ConfigError(f"data.clusters: {cfg.data.clusters} is more than the {len(dataset)} training images")


def joint_pass_allowed(discriminator: nn.Module, half: int) -> bool:
    """Whether D may see real and fake in one call: no BatchNorm or minibatch statistic mixes the two halves.

    Minibatch-stddev groups are runs of consecutive samples, so they stay apart when they divide each half.
    """
    modules = list(discriminator.modules())
    packs = {getattr(m, "pack_size", 1) for m in modules}
    return not any(isinstance(m, nn.modules.batchnorm._BatchNorm) for m in modules) and all(
        half % p == 0 and m.keeps_apart(half // p) for m in modules if isinstance(m, MinibatchStdDev) for p in packs)


def build_networks(trainer: Any, cfg: Any, networks: GANPair | None = None) -> None:
    """Give ``trainer`` its networks (``networks``, else the config's model), optimisers, objective, loss, EMA,
    DiffAugment and diagnostics, as ``cfg`` asks."""
    pair = networks or build_pair(cfg, trainer.dataset.img_shape, trainer.num_classes)
    # channels_last converts the 4-D (conv) weights only; linear layers are unaffected.
    trainer.memory_format = torch.channels_last if cfg.train.channels_last else torch.contiguous_format
    trainer.generator = pair.generator.to(trainer.device, memory_format=trainer.memory_format)
    trainer.discriminator = pair.discriminator.to(trainer.device, memory_format=trainer.memory_format)  # a VAE's encoder
    trainer.loss = create_loss(cfg.loss.name)
    betas = (cfg.optim.beta1, cfg.optim.beta2)
    trainer.opt_g = make_adam(trainer.generator.parameters(), cfg.optim.lr_g, betas, trainer.device)
    trainer.opt_d = make_adam(trainer.discriminator.parameters(), cfg.optim.lr_d, betas, trainer.device)
    trainer.objective_name = cfg.train.objective or objective_for_model(cfg.model.name)
    trainer.objective = create_objective(trainer.objective_name, trainer)
    trainer.joint_d_pass = joint_pass_allowed(trainer.discriminator, cfg.train.batch_per_process or cfg.train.batch_size)
    trainer.n_critic, trainer.autocast_enabled = cfg.optim.n_critic, cfg.train.precision == "bf16"
    trainer.augment_policy = parse_policy(cfg.augment.policy)
    if trainer.augment_policy and len(trainer.dataset.img_shape) != 3:
        raise ConfigError(f"augment.policy: DiffAugment works on images; dataset {cfg.data.name!r} holds vectors, set it to ''")
    trainer.ema = GeneratorEMA(trainer.generator, cfg.ema.half_life_kimg, cfg.ema.rampup) if cfg.ema.half_life_kimg > 0 else None
    trainer.monitor = InstabilityMonitor()
    if cfg.train.compile:
        trainer.generator.compile()
        trainer.discriminator.compile()
    if cfg.data.clusters and not callable(getattr(trainer.discriminator, "hidden", None)):
        raise ConfigError(f"data.clusters: model {cfg.model.name!r} has no discriminator features to cluster; use hybrid_cond or dcgan_cond")
