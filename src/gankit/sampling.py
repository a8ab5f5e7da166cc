"""Load a trained generator from a run and draw images from it.

Optionally through its discriminator: :func:`select_by_discriminator` keeps the share
of a larger draw that the run's final D rates most real, a deterministic form of
discriminator rejection sampling (Azadi et al., "Discriminator Rejection Sampling",
ICLR 2019), which trades variety for typical images.
"""

from __future__ import annotations

import io
import math
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from gankit.data import to_uint8
from gankit.data.base import to_unit_range
from gankit.errors import CheckpointError, ConfigError, GankitError, first_line
from gankit.models import create_model, default_labels, generator_spec, load_generator
from gankit.models.base import DiscriminatorOutput
from gankit.models.layers import MinibatchStdDev
from gankit.training.checkpoint import atomic_write_bytes, load_checkpoint, load_latest_checkpoint

OUTPUT_SUFFIXES = (".png", ".npz")


def generator_from_state(state: dict[str, Any], origin: str) -> tuple[nn.Module, dict[str, Any]]:
    """Rebuild the generator stored in a training checkpoint (its EMA copy when there is one)."""
    try:
        cfg = state["config"]
        model = cfg["model"]
        weights = state.get("generator_ema") or state["generator"]
        img_shape = tuple(state.get("img_shape") or _img_shape_from_config(cfg))
        num_classes = int(state.get("num_classes", 0))
        spec = generator_spec(model["name"], img_shape, model["latent_dim"], num_classes, model.get("options", {}), state.get("class_prior"))
        generator = create_model(spec["model"], img_shape, spec["latent_dim"], num_classes, **spec["options"]).generator
        generator.load_state_dict(weights)
    except (KeyError, TypeError, RuntimeError, ValueError, AttributeError, IndexError) as exc:
        first = first_line(exc)
        raise CheckpointError(f"{origin}: cannot rebuild the generator ({first})") from None
    return generator.eval(), spec


def _img_shape_from_config(cfg: dict[str, Any]) -> tuple[int, int, int]:
    from gankit.data import load_dataset

    # Older checkpoints without "img_shape": the data root is the default one, never a path the checkpoint names.
    return load_dataset(cfg["data"]["name"], "train").img_shape


def load_run_generator(run_dir: str | Path, checkpoint: str | Path | None = None) -> tuple[nn.Module, dict[str, Any]]:
    """The generator of a run: ``checkpoint`` if given, else the newest valid checkpoint, else ``export/``."""
    run_dir = Path(run_dir)
    if checkpoint is not None:
        return generator_from_state(load_checkpoint(checkpoint), str(checkpoint))
    if not run_dir.is_dir():
        raise ConfigError(f"{run_dir}: run directory not found")
    found = load_latest_checkpoint(run_dir / "checkpoints")
    if found is not None:
        return generator_from_state(found[1], str(found[0]))
    if (run_dir / "export" / "generator.json").is_file():
        return load_generator(run_dir / "export")
    raise CheckpointError(f"{run_dir}: no valid checkpoint in checkpoints/ and no export/ to sample from")


def load_run_discriminator(run_dir: str | Path, checkpoint: str | Path | None = None) -> nn.Module:
    """The final discriminator of a run's training checkpoint (``checkpoint``, else the newest valid one).

    Only an unconditional D will do, and not one with a minibatch-stddev channel (its
    score depends on the rest of the batch). A PacGAN D, which judges ``pack_size``
    images at once, is scored image by image by :func:`select_by_discriminator`.
    """
    if checkpoint is not None:
        origin, state = str(checkpoint), load_checkpoint(checkpoint)
    else:
        found = load_latest_checkpoint(Path(run_dir) / "checkpoints") if Path(run_dir).is_dir() else None
        if found is None:
            raise CheckpointError(f"{run_dir}: --d-keep needs a training checkpoint with the discriminator (export/ holds only G)")
        origin, state = str(found[0]), found[1]
    try:
        model = state["config"]["model"]
        img_shape = tuple(state.get("img_shape") or _img_shape_from_config(state["config"]))
        num_classes = int(state.get("num_classes", 0))
        if num_classes:
            raise ConfigError(f"{origin}: --d-keep works with unconditional runs only (this D needs class labels)")
        if model["name"] == "vae":
            raise ConfigError(f"{origin}: --d-keep needs a GAN; a VAE run has an encoder, not a discriminator")
        discriminator = create_model(model["name"], img_shape, model["latent_dim"], 0, **model.get("options", {})).discriminator
        discriminator.load_state_dict(state["discriminator"])
    except (KeyError, TypeError, RuntimeError, ValueError, AttributeError, IndexError) as exc:
        first = first_line(exc)
        raise CheckpointError(f"{origin}: cannot rebuild the discriminator ({first})") from None
    if any(isinstance(m, MinibatchStdDev) for m in discriminator.modules()):
        raise ConfigError(f"{origin}: --d-keep needs a D that scores each image alone (this one reads batch statistics)")
    return discriminator.eval()


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


@torch.no_grad()
def generate(
    generator: nn.Module, spec: dict[str, Any], num: int, seed: int, labels: torch.Tensor | None = None,
    batch_size: int = 256, truncation: float | None = None,
) -> tuple[torch.Tensor, torch.Tensor | None]:
    """Draw ``num`` images as uint8 (N, C, H, W); the same seed gives the same images.

    Conditional generators get ``labels`` (default: :func:`gankit.models.default_labels`, the training set's class
    shares when the spec has them, else the classes in turn). ``truncation`` t draws z from the standard normal
    cut to [-t, t], the truncation trick of BigGAN (Brock et al., ICLR 2019): typical images at the cost of variety.
    """
    gen = torch.Generator().manual_seed(seed)
    if truncation is None:
        z = torch.randn(num, spec["latent_dim"], generator=gen)
    else:
        z = torch.nn.init.trunc_normal_(torch.empty(num, spec["latent_dim"]), a=-truncation, b=truncation, generator=gen)
    num_classes = spec.get("num_classes", 0)
    if num_classes and labels is None:
        labels = default_labels(num, spec)
    device = next(generator.parameters()).device
    chunks = []
    for start in range(0, num, batch_size):
        zb = z[start:start + batch_size].to(device)
        out = generator(zb, labels[start:start + batch_size].to(device)) if num_classes else generator(zb)
        chunks.append(to_uint8(out).cpu())
    return torch.cat(chunks), (labels if num_classes else None)


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


def write_images(images: torch.Tensor, out: str | Path, labels: torch.Tensor | None = None) -> Path:
    """Write uint8 (N, C, H, W) images as a PNG grid or an ``.npz`` (key ``images``, plus ``labels``)."""
    from PIL import Image
    from torchvision.utils import make_grid

    out = check_output_path(out)
    buffer = io.BytesIO()
    if out.suffix.lower() == ".png":
        grid = make_grid(images, nrow=int(math.ceil(math.sqrt(len(images)))), padding=2)  # (C, H', W') uint8
        array = grid.permute(1, 2, 0).numpy()
        Image.fromarray(array[:, :, 0] if array.shape[2] == 1 else array).save(buffer, format="PNG")
    else:
        arrays = {"images": images.numpy()}
        if labels is not None:
            arrays["labels"] = labels.numpy().astype(np.int64)
        np.savez(buffer, **arrays)
    try:
        atomic_write_bytes(out, buffer.getvalue())
    except OSError as exc:
        raise GankitError(f"--out {out}: cannot write ({exc.strerror})") from None
    return out
