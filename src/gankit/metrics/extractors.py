"""Feature extractors: what turns samples into :class:`Features` for the metrics.

An extractor is called on samples as the datasets hold them (uint8 (N, C, H, W)
images, or float32 (N, D) vectors) and has an ``id`` that names it in the
real-data statistics cache. Which one a dataset gets by default:

* vector data (the 2D mixtures): the points themselves (:class:`IdentityExtractor`);
* Stacked MNIST: the MNIST domain classifier on each channel (:class:`StackedExtractor`);
* any other labelled image dataset: its own domain classifier (:mod:`gankit.metrics.evaluator`);
* ``--extractor inception``: Inception-V3 from a local weights file (``gankit.metrics.inception``).
"""

from __future__ import annotations

import os
from typing import Protocol

import torch

from gankit.data import DatasetSpec
from gankit.errors import ConfigError
from gankit.metrics import Features

EXTRACTOR_CHOICES = ("domain", "inception")


class FeatureExtractor(Protocol):
    id: str

    def __call__(self, samples: torch.Tensor) -> Features: ...


class IdentityExtractor:
    """Vector data is its own feature space: features are the (N, D) points, no classifier."""

    id = "identity"

    def __call__(self, samples: torch.Tensor) -> Features:
        if samples.ndim != 2 or not samples.is_floating_point():
            raise ConfigError(f"the identity extractor takes float (N, D) vectors, got {samples.dtype} {tuple(samples.shape)}")
        return Features(samples.double())


class StackedExtractor:
    """The MNIST classifier applied to each channel of Stacked MNIST.

    Features are the three channels' features side by side (N, 3F); the class
    probabilities are the outer product of the three channels' softmaxes (N, 1000),
    so class ``100 a + 10 b + c`` is "red a, green b, blue c" as in the dataset's labels.
    """

    def __init__(self, digit_extractor: FeatureExtractor) -> None:
        self.digits = digit_extractor
        self.id = f"stacked-{digit_extractor.id}"

    def __call__(self, samples: torch.Tensor) -> Features:
        if samples.ndim != 4 or samples.shape[1] != 3:
            raise ConfigError(f"Stacked MNIST samples must be (N, 3, H, W), got {tuple(samples.shape)}")
        per_channel = [self.digits(samples[:, c:c + 1]) for c in range(3)]
        features = torch.cat([f.features for f in per_channel], dim=1)  # (N, 3F)
        p0, p1, p2 = (f.probs.double() for f in per_channel)  # each (N, 10)
        joint = torch.einsum("na,nb,nc->nabc", p0, p1, p2).reshape(len(samples), -1)  # (N, 1000)
        return Features(features, joint)

    def digits_of(self, samples: torch.Tensor) -> torch.Tensor:
        """(N, 3) predicted digit of each channel."""
        return torch.stack([self.digits(samples[:, c:c + 1]).probs.argmax(dim=1) for c in range(3)], dim=1)


def evaluator_dataset(spec: DatasetSpec) -> DatasetSpec:
    """The data whose evaluator scores ``spec``: Stacked MNIST is scored with the MNIST evaluator on each channel."""
    return DatasetSpec("mnist", spec.data_dir) if spec.name == "stacked-mnist" else spec


def default_extractor(dataset: DatasetSpec | str, data_dir: str | os.PathLike | None = None, kind: str = "domain",
                      inception_weights: str | os.PathLike | None = None) -> FeatureExtractor:
    """The extractor that fits ``dataset`` (``kind="domain"``), or Inception-V3 (``kind="inception"``).

    Raises:
        EvaluatorMissingError: the dataset's domain classifier has not been trained yet.
        InceptionWeightsError: Inception-V3 was asked for and no weights file is found.
    """
    if kind not in EXTRACTOR_CHOICES:
        raise ConfigError(f"--extractor: {kind!r} is not allowed; choose one of: {', '.join(EXTRACTOR_CHOICES)}")
    if kind == "inception":
        from gankit.metrics.inception import InceptionExtractor

        return InceptionExtractor.from_weights(inception_weights)
    from gankit.metrics.evaluator import load_evaluator

    spec = DatasetSpec.of(dataset, data_dir)
    if spec.name == "stacked-mnist":
        return StackedExtractor(load_evaluator(evaluator_dataset(spec)))
    if spec.load("train").images.ndim == 2:
        return IdentityExtractor()
    return load_evaluator(spec)
