"""Paths through the latent space: linear and spherical interpolation, and the noise of a seed.

Spherical interpolation (Shoemake, "Animating Rotation with Quaternion Curves", SIGGRAPH 1985; proposed for
GAN latents by White, "Sampling Generative Networks", 2016) follows the great circle between two codes, so that
the intermediate codes keep the norm that z ~ N(0, I) concentrates on; linear interpolation cuts through the
middle of the sphere, where the generator has seen few codes.
"""

from __future__ import annotations

import torch

from gankit.errors import ConfigError

INTERPOLATIONS = ("linear", "spherical")


def lerp(a: torch.Tensor, b: torch.Tensor, t: torch.Tensor | float) -> torch.Tensor:
    """``(1 - t) a + t b``; a, b (..., L), t broadcastable to (..., 1)."""
    t = torch.as_tensor(t, dtype=a.dtype, device=a.device)
    return a + (b - a) * t


def slerp(a: torch.Tensor, b: torch.Tensor, t: torch.Tensor | float, eps: float = 1e-7) -> torch.Tensor:
    """Spherical interpolation between a and b (..., L): ``sin((1-t) w)/sin w * a + sin(t w)/sin w * b``.

    w is the angle between a and b; the norm is interpolated linearly, so between codes of equal norm every
    point keeps that norm. Nearly parallel codes (sin w < ``eps``) fall back to :func:`lerp`.
    """
    t = torch.as_tensor(t, dtype=a.dtype, device=a.device)
    na, nb = a.norm(dim=-1, keepdim=True), b.norm(dim=-1, keepdim=True)  # (..., 1)
    ua, ub = a / na.clamp_min(eps), b / nb.clamp_min(eps)
    cos = (ua * ub).sum(-1, keepdim=True).clamp(-1.0, 1.0)
    omega = torch.arccos(cos)
    sin = torch.sin(omega)
    direction = (torch.sin((1 - t) * omega) * ua + torch.sin(t * omega) * ub) / sin.clamp_min(eps)
    spherical = direction * (na + (nb - na) * t)
    return torch.where(sin > eps, spherical, lerp(a, b, t))


def interpolate(codes: torch.Tensor, frames: int, method: str = "spherical") -> torch.Tensor:
    """A path through ``codes`` (K, L), K >= 2: ``frames`` codes per leg, the last code once at the end.

    Returns:
        (frames * (K - 1) + 1, L): leg k runs t = 0, 1/frames, ... from codes[k] towards codes[k + 1].
    """
    if method not in INTERPOLATIONS:
        raise ConfigError(f"interpolation {method!r} is not allowed; choose one of: {', '.join(INTERPOLATIONS)}")
    if codes.ndim != 2 or len(codes) < 2:
        raise ConfigError(f"interpolation needs at least two codes (K, L), got {tuple(codes.shape)}")
    if frames < 1:
        raise ConfigError(f"frames: {frames} is below the minimum 1")
    step = slerp if method == "spherical" else lerp
    t = (torch.arange(frames, dtype=codes.dtype) / frames)[:, None]  # (frames, 1)
    legs = [step(codes[k][None], codes[k + 1][None], t) for k in range(len(codes) - 1)]
    return torch.cat([*legs, codes[-1:]])


def seed_codes(seeds: list[int], latent_dim: int) -> torch.Tensor:
    """The z of each seed, (K, L): ``torch.randn(1, L)`` under that seed, the code of ``gankit sample --seed S --num 1``."""
    return torch.stack([torch.randn(1, latent_dim, generator=torch.Generator().manual_seed(s))[0] for s in seeds])
