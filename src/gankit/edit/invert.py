"""Inversion: find the latent code z whose image G(z) reconstructs a given image, many images at once.

Zhu et al., "Generative Visual Manipulation on the Natural Image Manifold", ECCV 2016 (optimise z, optionally from
an encoder's guess: "hybrid" initialisation); Abdal et al., "Image2StyleGAN", ICCV 2019 (pixel MSE plus a
perceptual distance); the schedule is stylegan2-ada-pytorch's ``projector.py`` (Karras et al., NeurIPS 2020):
Adam on z with a cosine learning-rate warm-up and ramp-down, and Gaussian noise added to z whose scale decays
quadratically to 0 over the first ``noise_ramp`` of the steps. The projector works in W; gankit's generators have
no mapping network, so the code is z itself, whose spread is 1 per coordinate.

Sphere-constrained inversion (Menon et al., "PULSE: Self-Supervised Photo Upsampling via Latent Space Exploration
of Generative Models", CVPR 2020): the mass of z ~ N(0, I_L) lies near the sphere of radius sqrt(L), so with
``sphere=True`` the code starts on that sphere and is projected back onto it after every Adam step, and the
inverted code stays where G's training codes were drawn.

Masked inversion (Yeh et al., "Semantic Image Inpainting with Deep Generative Models", CVPR 2017): the pixel
loss counts the known pixels only, a prior term from the run's discriminator keeps G(z) on the image manifold
(``prior_weight * softplus(-D(G(z)))``, the non-saturating form of Yeh's ``log(1 - D(G(z)))``), and the
completion is blended into the known pixels (:func:`blend`).

Each image's loss is summed over the batch, so the images are optimised independently (Adam's update of one
code does not depend on the others' losses), and G runs in eval mode (BatchNorm uses its running statistics).
"""

from __future__ import annotations

import contextlib
import math
from dataclasses import dataclass, field
from typing import Callable, Iterator

import torch
from torch import nn
from torch.nn import functional as F

from gankit.data import to_uint8
from gankit.data.base import to_unit_range
from gankit.errors import ConfigError
from gankit.models.base import as_output

FeatureNet = Callable[[torch.Tensor], torch.Tensor]
"""images (B, C, H, W) in [-1, 1] -> features (B, F), differentiable (see :mod:`gankit.edit.features`)."""


@dataclass(frozen=True)
class ProjectorConfig:
    """The optimisation's settings; the defaults are stylegan2-ada's projector's where they apply.

    Attributes:
        steps: Adam steps.
        lr: the peak learning rate.
        lr_rampup: share of the steps over which the rate rises from 0 (cosine).
        lr_rampdown: share of the steps at the end over which it falls to 0 (cosine).
        noise: the scale of the noise added to z at step 0, in units of z's spread (1).
        noise_ramp: share of the steps after which the noise is 0 (its scale falls as (1 - t / noise_ramp)^2).
        pixel_weight: weight of the mean squared pixel error (in [-1, 1] units) over the known pixels.
        feature_weight: weight of the mean squared distance between the feature net's features.
        prior_weight: weight of the discriminator's prior term ``softplus(-D(G(z)))`` (masked inversion).
        latent_weight: weight of ``mean(z^2)``, which keeps z near the shell where G's training codes lie (0: off).
        sphere: keep every code on the sphere of radius sqrt(L) (PULSE): the start is scaled onto it (a zero start
            becomes a random point of it, from the seed) and each step's result is projected back.
    """

    steps: int = 300
    lr: float = 0.1
    lr_rampup: float = 0.05
    lr_rampdown: float = 0.25
    noise: float = 0.05
    noise_ramp: float = 0.75
    pixel_weight: float = 1.0
    feature_weight: float = 0.0
    prior_weight: float = 0.0
    latent_weight: float = 0.0
    sphere: bool = False

    def __post_init__(self) -> None:
        if self.steps < 1:
            raise ConfigError(f"steps: {self.steps} is below the minimum 1")
        if not self.lr > 0:
            raise ConfigError(f"lr: {self.lr} must be greater than 0")
        for name in ("lr_rampup", "lr_rampdown", "noise_ramp"):
            if not 0 < getattr(self, name) <= 1:
                raise ConfigError(f"{name}: {getattr(self, name)} is outside (0, 1]")
        for name in ("noise", "pixel_weight", "feature_weight", "prior_weight", "latent_weight"):
            if getattr(self, name) < 0:
                raise ConfigError(f"{name}: {getattr(self, name)} is below the minimum 0")


def learning_rate(step: int, cfg: ProjectorConfig) -> float:
    """The projector's rate at ``step`` (0-based): ``lr * cos-ramp-down * linear-ramp-up``."""
    t = step / cfg.steps
    ramp = min(1.0, (1.0 - t) / cfg.lr_rampdown)
    ramp = 0.5 - 0.5 * math.cos(ramp * math.pi)
    ramp *= min(1.0, t / cfg.lr_rampup)
    return cfg.lr * ramp


def noise_scale(step: int, cfg: ProjectorConfig) -> float:
    """The scale of the noise added to z at ``step``: ``noise * max(0, 1 - t / noise_ramp)^2``."""
    t = step / cfg.steps
    return cfg.noise * max(0.0, 1.0 - t / cfg.noise_ramp) ** 2


@dataclass
class Inversion:
    """What :func:`invert` found.

    Attributes:
        z: (N, L) the codes.
        images: uint8 (N, C, H, W), G(z).
        losses: (steps, N) each image's loss at each step (before that step's update).
        final_loss: (N,) each image's loss at the returned z, without noise.
        generated: uint8 (N, C, H, W), G(z) itself where ``images`` were blended into the known pixels, else None.
    """

    z: torch.Tensor
    images: torch.Tensor
    losses: torch.Tensor
    final_loss: torch.Tensor = field(default_factory=lambda: torch.empty(0))
    generated: torch.Tensor | None = None


@contextlib.contextmanager
def frozen(*modules: nn.Module | None) -> Iterator[None]:
    """Modules in eval mode with no parameter gradients, restored afterwards."""
    saved = []
    for module in modules:
        if module is None:
            continue
        saved.append((module, module.training, [p.requires_grad for p in module.parameters()]))
        module.eval().requires_grad_(False)
    try:
        yield
    finally:
        for module, training, flags in saved:
            module.train(training)
            for p, flag in zip(module.parameters(), flags):
                p.requires_grad_(flag)


def _generate(generator: nn.Module, z: torch.Tensor, labels: torch.Tensor | None) -> torch.Tensor:
    return generator(z, labels) if labels is not None else generator(z)


def image_loss(fake: torch.Tensor, target: torch.Tensor, known: torch.Tensor | None = None) -> torch.Tensor:
    """Each image's mean squared error over its known pixels: (B,).

    Args:
        fake, target: (B, C, H, W).
        known: (B or 1, 1, H, W) with 1 on the pixels that count and 0 on the missing ones; None: all count.
    """
    diff = (fake - target) ** 2  # (B, C, H, W)
    if known is None:
        return diff.flatten(1).mean(1)
    known = known.to(diff.dtype).expand(diff.shape[0], 1, *diff.shape[2:])
    counted = (known.flatten(1).sum(1) * diff.shape[1]).clamp_min(1.0)  # (B,)
    return (diff * known).flatten(1).sum(1) / counted


def blend(completion: torch.Tensor, target: torch.Tensor, known: torch.Tensor) -> torch.Tensor:
    """The known pixels from ``target``, the others from ``completion``: (B, C, H, W), any dtype of the inputs."""
    known = known.expand(completion.shape[0], 1, *completion.shape[2:]).bool()
    return torch.where(known, target, completion)


def invert(
    generator: nn.Module, targets: torch.Tensor, *, cfg: ProjectorConfig = ProjectorConfig(),
    labels: torch.Tensor | None = None, init: torch.Tensor | None = None, known: torch.Tensor | None = None,
    features: FeatureNet | None = None, discriminator: nn.Module | None = None, seed: int = 0,
    batch_size: int = 500, latent_dim: int | None = None,
) -> Inversion:
    """Optimise one code per target image so that G(z) reconstructs it.

    Args:
        generator: G, z (B, L) [and labels (B,)] -> images (B, C, H, W) in [-1, 1].
        targets: uint8 (N, C, H, W) images to reconstruct.
        cfg: the optimisation's settings.
        labels: (N,) classes for a conditional G.
        init: (N, L) starting codes (an encoder's guess); None: zeros, G's mean code.
        known: (N or 1, 1, H, W) bool, True on the pixels the loss counts (masked inversion); None: all.
        features: a differentiable feature net for the feature distance (``cfg.feature_weight`` > 0).
        discriminator: D for the prior term (``cfg.prior_weight`` > 0).
        seed: seeds the noise added to the codes.
        batch_size: images optimised together (each independently).
        latent_dim: z's size (default: ``init``'s, else ``generator.latent_dim``).

    Returns:
        An :class:`Inversion`.
    """
    if targets.dtype != torch.uint8 or targets.ndim != 4:
        raise ConfigError(f"targets must be uint8 (N, C, H, W), got {targets.dtype} {tuple(targets.shape)}")
    if cfg.feature_weight > 0 and features is None:
        raise ConfigError("feature_weight > 0 needs a feature net")
    if cfg.prior_weight > 0 and discriminator is None:
        raise ConfigError("prior_weight > 0 needs the run's discriminator")
    latent_dim = latent_dim or _latent_dim(generator, init)
    device = next(generator.parameters()).device
    parts = []
    gen = torch.Generator().manual_seed(seed)
    with frozen(generator, discriminator, features if isinstance(features, nn.Module) else None):
        for start in range(0, len(targets), batch_size):
            sl = slice(start, start + batch_size)
            part_known = None if known is None else (known[sl] if len(known) > 1 else known)
            parts.append(_invert_batch(
                generator, to_unit_range(targets[sl]).to(device), cfg, latent_dim,
                None if labels is None else labels[sl].to(device), None if init is None else init[sl].to(device),
                None if part_known is None else part_known.to(device), features, discriminator, gen))
    return Inversion(
        z=torch.cat([p.z for p in parts]), images=torch.cat([p.images for p in parts]),
        losses=torch.cat([p.losses for p in parts], dim=1), final_loss=torch.cat([p.final_loss for p in parts]))


def _latent_dim(generator: nn.Module, init: torch.Tensor | None) -> int:
    if init is not None:
        return init.shape[1]
    dim = getattr(generator, "latent_dim", None)
    if not isinstance(dim, int):
        raise ConfigError("the generator does not say its latent size; pass init codes")
    return dim


def _losses(generator, z, target, labels, known, features, target_features, discriminator, cfg) -> tuple[torch.Tensor, torch.Tensor]:
    """(B,) each image's loss, and G(z) (B, C, H, W)."""
    fake = _generate(generator, z, labels).float()
    loss = cfg.pixel_weight * image_loss(fake, target, known)
    if cfg.feature_weight > 0:
        loss = loss + cfg.feature_weight * (features(fake) - target_features).pow(2).flatten(1).mean(1)
    if cfg.prior_weight > 0:
        out = as_output(discriminator(fake, labels) if labels is not None else discriminator(fake))
        loss = loss + cfg.prior_weight * F.softplus(-out.logits.float())
    if cfg.latent_weight > 0:
        loss = loss + cfg.latent_weight * z.pow(2).mean(1)
    return loss, fake


def to_sphere(z: torch.Tensor) -> torch.Tensor:
    """Each code (N, L) scaled onto the sphere of radius sqrt(L); a zero code stays zero."""
    norm = z.norm(dim=1, keepdim=True)  # (N, 1)
    return z * (math.sqrt(z.shape[1]) / norm.clamp_min(1e-12))


def _start(init: torch.Tensor | None, n: int, latent_dim: int, device, cfg: ProjectorConfig, gen: torch.Generator) -> torch.Tensor:
    """The starting codes (n, L): ``init``, else zeros; on the sphere, zero rows are replaced by random codes."""
    z = init.detach().clone().float() if init is not None else torch.zeros(n, latent_dim, device=device)
    if cfg.sphere:
        zero = z.norm(dim=1) < 1e-6  # (n,)
        if bool(zero.any()):
            z[zero] = torch.randn(int(zero.sum()), latent_dim, generator=gen).to(device)
        z = to_sphere(z)
    return z


def _invert_batch(generator, target, cfg, latent_dim, labels, init, known, features, discriminator, gen) -> Inversion:
    device = target.device
    z = _start(init, len(target), latent_dim, device, cfg, gen).requires_grad_(True)
    optimizer = torch.optim.Adam([z], lr=cfg.lr, betas=(0.9, 0.999))
    target_features = None
    if cfg.feature_weight > 0:
        with torch.no_grad():
            target_features = features(target)
    history = []
    for step in range(cfg.steps):
        for group in optimizer.param_groups:
            group["lr"] = learning_rate(step, cfg)
        scale = noise_scale(step, cfg)
        noisy = z + scale * torch.randn(z.shape, generator=gen).to(device) if scale > 0 else z
        loss, _ = _losses(generator, noisy, target, labels, known, features, target_features, discriminator, cfg)
        optimizer.zero_grad(set_to_none=True)
        loss.sum().backward()
        optimizer.step()
        if cfg.sphere:
            with torch.no_grad():
                z.copy_(to_sphere(z))
        history.append(loss.detach().cpu())
    with torch.no_grad():
        final, fake = _losses(generator, z, target, labels, known, features, target_features, discriminator, cfg)
    return Inversion(z=z.detach().cpu(), images=to_uint8(fake.cpu()), losses=torch.stack(history), final_loss=final.cpu())
