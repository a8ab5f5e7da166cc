"""Draw samples from a trained generator.

:func:`draw_samples` is the one function that turns a seed into samples (``gankit sample``,
the metrics and the trainer's sample grids call it), in the form the datasets hold them: uint8 images
(N, C, H, W), or float32 points (N, D) for vector data (the 2D rings and grids). The same
generator, seed, count and labels give the same samples, whatever calls it.

Optionally through the run's discriminator: :func:`select_by_discriminator` keeps the share
of a larger draw that the run's final D rates most real, a deterministic form of
discriminator rejection sampling (Azadi et al., "Discriminator Rejection Sampling",
ICLR 2019), which trades variety for typical images.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import torch
from torch import nn

from gankit.data import to_uint8
from gankit.data.base import to_unit_range
from gankit.errors import CheckpointError, ConfigError, GankitError
from gankit.models import default_labels
from gankit.models.base import DiscriminatorOutput
from gankit.run import Checkpoint, RunDir, write_samples_file

OUTPUT_SUFFIXES = (".png", ".npz")
CLI_BATCH = 256
"""Samples per forward pass of ``gankit sample`` (:func:`generate`)."""


@torch.no_grad()
def draw_samples(
    generator: nn.Module, spec: dict[str, Any], num: int, seed: int, labels: torch.Tensor | None = None,
    truncation: float | None = None, batch_size: int = 500,
) -> torch.Tensor:
    """``num`` samples of ``generator``: uint8 images (N, C, H, W), or float32 points (N, D) for vector data.

    z is ``torch.randn(num, latent_dim)`` from a CPU generator seeded with ``seed``; ``truncation`` t
    draws it from the standard normal cut to [-t, t] instead, the truncation trick of BigGAN (Brock
    et al., ICLR 2019): typical samples at the cost of variety. Conditional generators get ``labels``
    (N,) int64, by default :func:`gankit.models.default_labels` (the training set's class shares when
    the spec has them, else the classes in turn). The generator runs in eval mode, ``batch_size`` at a
    time, and is put back in the mode it was in.

    Args:
        generator: G, on any device.
        spec: its spec (:func:`gankit.models.generator_spec`): ``latent_dim``, ``num_classes``, ``class_prior``.
        num: how many samples.
        seed: the noise seed.
        labels: (num,) class labels for a conditional G.
        truncation: t > 0 for truncated noise, None for the plain normal.
        batch_size: samples per forward pass.
    """
    gen = torch.Generator().manual_seed(seed)
    if truncation is None:
        z = torch.randn(num, spec["latent_dim"], generator=gen)  # (N, latent)
    else:
        z = torch.nn.init.trunc_normal_(torch.empty(num, spec["latent_dim"]), a=-truncation, b=truncation, generator=gen)
    if labels is None:
        labels = default_labels(num, spec)  # (N,) int64, or None for an unconditional G
    device = next(generator.parameters()).device
    was_training = generator.training
    generator.eval()
    chunks = []
    try:
        for start in range(0, num, batch_size):
            zb = z[start:start + batch_size].to(device)
            out = generator(zb, labels[start:start + batch_size].to(device)) if labels is not None else generator(zb)
            out = out.float().cpu()  # (b, C, H, W) in [-1, 1], or (b, D)
            chunks.append(to_uint8(out) if out.ndim == 4 else out)
    finally:
        generator.train(was_training)
    return torch.cat(chunks)


def generate(
    generator: nn.Module, spec: dict[str, Any], num: int, seed: int, labels: torch.Tensor | None = None,
    batch_size: int = CLI_BATCH, truncation: float | None = None,
) -> tuple[torch.Tensor, torch.Tensor | None]:
    """:func:`draw_samples` as ``gankit sample`` calls it: the samples and the labels they were drawn with."""
    if labels is None:
        labels = default_labels(num, spec)
    return draw_samples(generator, spec, num, seed, labels, truncation, batch_size), labels


def generator_from_state(state: dict[str, Any], origin: str) -> tuple[nn.Module, dict[str, Any]]:
    """Rebuild the generator stored in a plain training state (its EMA copy when there is one), and its spec.

    Raises:
        CheckpointError: ``{origin}: cannot rebuild the generator (what is wrong)``.
    """
    try:
        checkpoint = Checkpoint.from_dict(state, origin)
    except CheckpointError as exc:
        detail = str(exc).removeprefix(f"{origin}: ")
        raise CheckpointError(f"{origin}: cannot rebuild the generator ({detail})") from None
    return checkpoint.build_generator(origin)


def load_run_generator(run_dir: str | Path, checkpoint: str | Path | None = None) -> tuple[nn.Module, dict[str, Any]]:
    """The generator of a run: ``checkpoint`` if given, else the newest valid checkpoint, else ``export/``."""
    return RunDir(run_dir).load_generator(checkpoint)


def load_run_discriminator(run_dir: str | Path, checkpoint: str | Path | None = None) -> nn.Module:
    """The final discriminator of a run's training checkpoint (``checkpoint``, else the newest valid one).

    Only an unconditional D will do, and not one with a minibatch-stddev channel (its
    score depends on the rest of the batch). A PacGAN D, which judges ``pack_size``
    images at once, is scored image by image by :func:`select_by_discriminator`.
    """
    return RunDir(run_dir).load_discriminator(checkpoint)


def data_reference(run_dir: str | Path, checkpoint: str | Path | None = None, num: int = 2000) -> torch.Tensor | None:
    """The first ``num`` training points of a vector-data run, the backdrop of its scatter plots; None if unknown.

    The data is loaded by name from the default data root, never from a path the run's files name.
    """
    from gankit.data import load_dataset

    name = RunDir(run_dir).data_name(checkpoint)
    if name is None:
        return None
    try:
        return load_dataset(name, "train").images[:num]
    except GankitError:
        return None


@torch.no_grad()
def select_by_discriminator(
    discriminator: nn.Module, samples: torch.Tensor, num: int, batch_size: int = 500, rounds: int = 8, seed: int = 0,
) -> torch.Tensor:
    """The ``num`` of ``samples`` the discriminator rates most real, in their original order.

    ``samples`` are uint8 images (N, C, H, W), scored in [-1, 1], or float vectors (N, D).
    A PacGAN D (``pack_size`` k > 1; Lin et al. 2018) judges k samples at once: each sample's
    score is then its pack's logit averaged over ``rounds`` packs, in which it takes each
    slot in turn beside k - 1 partners drawn at random from ``samples`` (seeded by ``seed``),
    so that a sample is not rated by the company it happens to keep.
    """
    if not 0 < num <= len(samples):
        raise ValueError(f"cannot keep {num} of {len(samples)} samples")
    device = next(discriminator.parameters()).device
    pack_size = getattr(discriminator, "pack_size", 1)
    gen = torch.Generator().manual_seed(seed)

    def unit(batch: torch.Tensor) -> torch.Tensor:
        return to_unit_range(batch) if batch.dtype == torch.uint8 else batch.float()

    def score(packs: torch.Tensor) -> torch.Tensor:  # (b, k, ...) -> (b,)
        scores = discriminator(packs.flatten(0, 1).to(device))  # packs of k consecutive samples
        if isinstance(scores, DiscriminatorOutput) and scores.class_logits is None and scores.code_logits is None:
            scores = scores.logits
        if not isinstance(scores, torch.Tensor) or scores.shape != (len(packs),):
            raise ConfigError("--d-keep needs a discriminator that gives one score per sample (per pack for a PacGAN D)")
        return scores.float().cpu()

    logits = []
    for start in range(0, len(samples), batch_size):
        batch = unit(samples[start:start + batch_size])  # (b, ...)
        if pack_size == 1:
            logits.append(score(batch[:, None]))  # (b,)
            continue
        total = torch.zeros(len(batch))
        for r in range(rounds):
            partners = unit(samples[torch.randint(len(samples), (len(batch) * (pack_size - 1),), generator=gen)])
            partners = partners.reshape(len(batch), pack_size - 1, *batch.shape[1:])  # (b, k - 1, ...)
            slot = r % pack_size
            total += score(torch.cat([partners[:, :slot], batch[:, None], partners[:, slot:]], dim=1))  # (b, k, ...)
        logits.append(total / rounds)
    keep = torch.cat(logits).argsort(descending=True, stable=True)[:num]
    return samples[keep.sort().values]


def candidates_for(num: int, keep: float) -> int:
    """How many samples to draw so that keeping the share ``keep`` leaves ``num``."""
    if not 0 < keep <= 1:
        raise ConfigError(f"--d-keep: {keep} is outside (0, 1]")
    return math.ceil(num / keep - 1e-9)


def check_output_path(out: str | Path) -> Path:
    """Refuse an output path with an unknown suffix or a missing folder, before any work is done."""
    out = Path(out)
    if out.suffix.lower() not in OUTPUT_SUFFIXES:
        raise ConfigError(f"--out {out}: unknown file type {out.suffix!r}; use one of: {', '.join(OUTPUT_SUFFIXES)}")
    if not out.parent.is_dir():
        raise ConfigError(f"--out {out}: the folder {out.parent} does not exist")
    if out.is_dir():
        raise ConfigError(f"--out {out}: is a directory; give a file name")
    return out


def write_images(samples: torch.Tensor, out: str | Path, labels: torch.Tensor | None = None,
                 reference: torch.Tensor | None = None) -> Path:
    """Write samples to ``--out``: a PNG (image grid, or 2D points over ``reference``) or an ``.npz``.

    The archive holds uint8 images (N, C, H, W) under ``images``, or float32 points (N, D) under
    ``points``, and ``labels`` when given (see :func:`gankit.run.write_samples_file`).
    """
    out = check_output_path(out)
    try:
        return write_samples_file(out, samples, labels, reference, title=out.stem)
    except OSError as exc:
        raise GankitError(f"--out {out}: cannot write ({exc.strerror})") from None
