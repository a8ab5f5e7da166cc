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


def search_codes(run: GeneratorRun, images: torch.Tensor, num: int, labels: torch.Tensor | None = None,
                 known: torch.Tensor | None = None, seed: int = 0, chunk: int = 1000) -> torch.Tensor:
    """For each uint8 image (N, C, H, W), the code among ``num`` random ones (of ``seed``) whose image is nearest
    over the known pixels: (N, L). Conditional runs draw every candidate with each image's class."""
    target = images.double().flatten(1)  # (N, D)
    weight = torch.ones_like(target) if known is None else known.expand(len(images), images.shape[1], *images.shape[2:]).double().flatten(1)
    best = torch.full((len(images),), float("inf"), dtype=torch.float64)
    codes = torch.zeros(len(images), run.latent_dim)
    gen = torch.Generator().manual_seed(seed)
    for start in range(0, num, chunk):
        z = torch.randn(min(chunk, num - start), run.latent_dim, generator=gen)  # (B, L)
        groups = [(torch.arange(len(images)), None)] if labels is None else [
            ((labels == k).nonzero()[:, 0], int(k)) for k in labels.unique()]
        for rows, k in groups:
            drawn = run.generate(z, None if k is None else torch.full((len(z),), k)).double().flatten(1)  # (B, D)
            w, t = weight[rows], target[rows]
            # sum_d w (t - x)^2 = w.t^2 - 2 (w t).x + w.x^2, for every pair at once: (n, B)
            dist = (w * t * t).sum(1, keepdim=True) - 2 * (w * t) @ drawn.T + w @ (drawn * drawn).T
            value, index = dist.min(dim=1)
            better = value < best[rows]
            best[rows[better]] = value[better]
            codes[rows[better]] = z[index[better]]
    return codes


def project(
    run: GeneratorRun, images: torch.Tensor, cfg: ProjectorConfig = ProjectorConfig(), *, labels: torch.Tensor | None = None,
    encoder: nn.Module | None = None, missing: torch.Tensor | None = None, features: FeatureNet | None = None,
    discriminator: nn.Module | None = None, seed: int = 0, search: int = 0,
) -> Inversion:
    """Invert uint8 ``images`` (N, C, H, W) with ``run``'s generator.

    Args:
        labels: (N,) classes for a conditional generator.
        encoder: start from its codes (hybrid initialisation, Zhu et al. 2016); None: from zeros.
        missing: (N or 1, 1, H, W) bool, True on the pixels to fill (masked inversion, Yeh et al. 2017); the
            returned images then hold the input's known pixels and G's completion in the missing ones
            (``generated`` keeps G's whole image).
        features, discriminator: the feature net and D for ``cfg``'s feature and prior terms.
        search: without an encoder, start from the nearest of this many random codes (:func:`search_codes`, seed
            ``seed``); 0: from zeros, G's mean code.
    """
    known = None if missing is None else ~missing
    init = None
    if encoder is not None:
        init = encode(encoder, images)
    elif search > 0:
        init = search_codes(run, images, search, labels, known, seed)
    result = invert(run.generator, images, cfg=cfg, labels=labels, init=init, known=known, features=features,
                    discriminator=discriminator, seed=seed, latent_dim=run.latent_dim)
    if known is not None:
        result.generated, result.images = result.images, blend(result.images, images, known)
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


__all__ = ["DIRECTION_SAMPLES", "change_class", "fit_directions", "interpolation_frames", "project", "search_codes", "seed_codes"]
