"""Model registry: ``@register_model(name)`` on a factory, ``create_model(name, ...)`` to build.

A family is an options class and a factory. The options class (a frozen
:class:`~gankit.models.options.ModelOptions` dataclass) lists the family's options
with their defaults, allowed values and docstrings; the factory takes the image
shape ``(C, H, W)``, the latent size, the number of classes (0 for unconditional
models) and an instance of that class, named by its annotation, and returns a
:class:`GANPair`::

    @register_model("tiny")
    def tiny(img_shape, latent_dim: int, num_classes: int, options: TinyOptions) -> GANPair: ...

Every registered model is exercised at tiny size by ``tests/models/test_registry.py``.
"""

from __future__ import annotations

import typing
from pathlib import Path
from typing import Any, Callable, Mapping

import torch
from torch import nn

from gankit.models.base import GANPair
from gankit.models.options import ModelOptions
from gankit.registry import Registry

MODELS: Registry[Callable[..., GANPair]] = Registry("model")
register_model = MODELS.register


def is_paired(name: str) -> bool:
    """Whether model family ``name`` restores images (its generator takes a degraded image, not noise)."""
    return bool(getattr(MODELS.get(name), "paired", False))


def options_class(name: str) -> type[ModelOptions]:
    """The options class of model ``name``: the annotation of its factory's ``options`` argument."""
    return typing.get_type_hints(MODELS.get(name))["options"]


def model_options(name: str) -> dict[str, Any]:
    """The family-specific options of model ``name`` and their defaults."""
    return options_class(name).defaults()


def create_options(name: str, options: Mapping[str, Any]) -> ModelOptions:
    """The options of model ``name`` from ``model.options``, every value checked.

    Raises:
        ConfigError: unknown model name or option, or a value the family does not allow, naming what is allowed.
    """
    return options_class(name).from_dict(name, options)


def create_model(
    name: str,
    img_shape: tuple[int, int, int],
    latent_dim: int,
    num_classes: int = 0,
    **options: Any,
) -> GANPair:
    """Build the generator/discriminator pair registered as ``name`` with ``model.options`` ``options``.

    Raises:
        ConfigError: unknown model name or option, a value the family does not allow, or data it cannot model,
            naming what is allowed.
    """
    return MODELS.get(name)(tuple(img_shape), latent_dim, num_classes, create_options(name, options))


def generator_spec(
    name: str, img_shape, latent_dim: int, num_classes: int, options: dict, class_prior: list[float] | None = None
) -> dict[str, Any]:
    """The JSON-serialisable arguments that rebuild a generator with :func:`create_model`.

    ``class_prior`` (conditional models) is the training set's share of each class; sampling draws labels in
    these proportions by default (see :func:`default_labels`).
    """
    spec = {
        "model": name,
        "img_shape": list(img_shape),
        "latent_dim": int(latent_dim),
        "num_classes": int(num_classes),
        "options": dict(options),
    }
    if num_classes and class_prior is not None:
        spec["class_prior"] = check_class_prior(class_prior, num_classes)
    return spec


def check_class_prior(prior: Any, num_classes: int) -> list[float]:
    """``prior`` as a list of ``num_classes`` finite shares >= 0 with a positive sum; ValueError otherwise."""
    if not isinstance(prior, (list, tuple)) or len(prior) != num_classes:
        raise ValueError(f"class_prior must be a list of {num_classes} shares")
    shares = [float(p) for p in prior]
    if not all(0 <= p < float("inf") for p in shares) or sum(shares) <= 0:
        raise ValueError("class_prior must hold finite shares >= 0 with a positive sum")
    return shares


def default_labels(num: int, spec: dict[str, Any]) -> torch.Tensor | None:
    """The labels a conditional generator gets when none are asked for: (num,) int64, or None when unconditional.

    Without a ``class_prior`` in the spec: the classes in turn (0, 1, ..., K-1, 0, ...). With one: each class
    k appears round(num * prior[k]) times (largest remainders, so the counts add up to ``num``), spread evenly
    through the sequence, so any prefix is a stratified sample of the training set's classes; a uniform prior
    gives the classes in turn again.
    """
    num_classes = int(spec.get("num_classes", 0))
    if not num_classes:
        return None
    prior = spec.get("class_prior")
    if prior is None:
        return torch.arange(num) % num_classes
    share = torch.tensor(prior, dtype=torch.float64)
    share = share / share.sum()
    exact = num * share
    counts = exact.floor().long()
    short = num - int(counts.sum())
    if short:
        # Largest remainders first; ties go to the lower class index (a stable sort).
        order = torch.sort(exact - counts, descending=True, stable=True).indices
        counts[order[:short]] += 1
    labels = torch.repeat_interleave(torch.arange(num_classes), counts)
    # The j-th of class k's n_k draws sits at (j + 1/2) / n_k of the way through the sequence.
    position = torch.cat([(torch.arange(n, dtype=torch.float64) + 0.5) / n for n in counts.tolist() if n])
    return labels[torch.sort(position, stable=True).indices]


def export_generator(generator: nn.Module, spec: dict[str, Any], directory: str | Path) -> None:
    """Write ``generator.safetensors`` and ``generator.json`` (format :data:`gankit.run.EXPORT_FORMAT`) into ``directory``.

    The pair rebuilds the generator with :func:`load_generator`, no pickles involved.
    """
    from gankit.run import write_export

    write_export(directory, generator, spec)


def load_generator(directory: str | Path, device: str | torch.device = "cpu") -> tuple[nn.Module, dict[str, Any]]:
    """Rebuild an exported generator from ``generator.json`` + ``generator.safetensors`` (any format up to the current).

    Returns:
        The generator in eval mode and its spec (migrated to the current format).

    Raises:
        CheckpointError: a missing, damaged or newer-format export.
    """
    from gankit.run import load_export

    return load_export(directory, device)


# Import the families so that their @register_model decorators run.
from gankit.models import mlp  # noqa: E402,F401
from gankit.models import conditional, dcgan, hybrid, mlp2d, pix2pix, resnet, vae  # noqa: E402,F401
