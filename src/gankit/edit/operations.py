"""The edit operations on a loaded run: project images, find class directions, change a class, interpolate.

Each takes a :class:`~gankit.edit.runs.GeneratorRun` and tensors, and returns tensors; the CLI
(``gankit project``, ``gankit interpolate``, ``gankit edit``) reads the user's files and writes the results.
"""

from __future__ import annotations

import torch
from torch import nn

from gankit.edit.directions import ClassBoundaries, class_boundaries
from gankit.edit.invert import FeatureNet, Inversion, ProjectorConfig, blend, invert
from gankit.edit.latent import interpolate, seed_codes
from gankit.edit.runs import GeneratorRun, encode

DIRECTION_SAMPLES = 10_000
"""Codes drawn to fit the class boundaries of an unconditional generator."""


def project(
    run: GeneratorRun, images: torch.Tensor, cfg: ProjectorConfig = ProjectorConfig(), *, labels: torch.Tensor | None = None,
    encoder: nn.Module | None = None, missing: torch.Tensor | None = None, features: FeatureNet | None = None,
    discriminator: nn.Module | None = None, seed: int = 0,
) -> Inversion:
    """Invert uint8 ``images`` (N, C, H, W) with ``run``'s generator.

    Args:
        labels: (N,) classes for a conditional generator.
        encoder: start from its codes (hybrid initialisation, Zhu et al. 2016); None: from zeros.
        missing: (N or 1, 1, H, W) bool, True on the pixels to fill (masked inversion, Yeh et al. 2017); the
            returned images then hold the input's known pixels and G's completion in the missing ones.
        features, discriminator: the feature net and D for ``cfg``'s feature and prior terms.
    """
    init = encode(encoder, images) if encoder is not None else None
    known = None if missing is None else ~missing
    result = invert(run.generator, images, cfg=cfg, labels=labels, init=init, known=known, features=features,
                    discriminator=discriminator, seed=seed, latent_dim=run.latent_dim)
    if known is not None:
        result.images = blend(result.images, images, known)
    return result


def fit_directions(run: GeneratorRun, classify, num: int = DIRECTION_SAMPLES, seed: int = 0) -> ClassBoundaries:
    """Class boundaries in z of an unconditional ``run``: ``num`` codes of ``seed``, labelled by ``classify``.

    Args:
        classify: uint8 images (N, C, H, W) -> class probabilities (N, K) (the domain evaluator's ``probs``).
    """
    z = torch.randn(num, run.latent_dim, generator=torch.Generator().manual_seed(seed))
    probs = classify(run.generate(z))
    return class_boundaries(z, probs.argmax(dim=1), probs.shape[1])


def change_class(run: GeneratorRun, z: torch.Tensor, target: int) -> torch.Tensor:
    """A conditional generator's images (N, C, H, W) of codes ``z`` (N, L) with the class set to ``target``."""
    return run.generate(z, torch.full((len(z),), target, dtype=torch.long))


def interpolation_frames(run: GeneratorRun, codes: torch.Tensor, frames: int, method: str = "spherical",
                         labels: torch.Tensor | None = None) -> torch.Tensor:
    """G's images along the path through ``codes`` (K, L): uint8 (frames * (K - 1) + 1, C, H, W).

    A conditional generator takes ``labels`` (K,); the class switches halfway along each leg.
    """
    path = interpolate(codes, frames, method)
    path_labels = None
    if labels is not None:
        legs = [labels[k].repeat(frames) for k in range(len(codes) - 1)]
        for k, leg in enumerate(legs):
            leg[frames // 2:] = labels[k + 1]
        path_labels = torch.cat([*legs, labels[-1:]])
    return run.generate(path, path_labels)


__all__ = ["DIRECTION_SAMPLES", "change_class", "fit_directions", "interpolation_frames", "project", "seed_codes"]
