"""Extractors: raw vectors as features, Stacked MNIST through the digit classifier on each channel."""

import pytest
import torch

from gankit.errors import ConfigError
from gankit.metrics import Features
from gankit.metrics.extractors import IdentityExtractor, StackedExtractor, default_extractor


class PixelDigits:
    """A stand-in digit classifier: an image filled with 10 * d + 1 is digit d, with certainty."""

    id = "pixel"

    def __call__(self, images):
        digits = (images[:, 0, 0, 0].long() - 1) // 10
        return Features(images[:, 0, :2, 0].double(), torch.eye(10, dtype=torch.float64)[digits])


def stacked_images(triples):
    values = (torch.tensor(triples) * 10 + 1).to(torch.uint8)  # (N, 3)
    return values[:, :, None, None].expand(-1, -1, 28, 28).contiguous()


def test_stacked_probabilities_name_the_three_digits_as_one_of_1000_classes():
    extractor = StackedExtractor(PixelDigits())
    images = stacked_images([[1, 2, 3], [9, 0, 7]])
    out = extractor(images)
    assert out.features.shape == (2, 6) and out.probs.shape == (2, 1000)
    assert out.probs.argmax(dim=1).tolist() == [123, 907]
    torch.testing.assert_close(out.probs.sum(dim=1), torch.ones(2, dtype=torch.float64))
    assert extractor.digits_of(images).tolist() == [[1, 2, 3], [9, 0, 7]]
    assert extractor.id == "stacked-pixel"


def test_stacked_extractor_refuses_single_channel_images():
    with pytest.raises(ConfigError, match=r"\(N, 3, H, W\)"):
        StackedExtractor(PixelDigits())(torch.zeros(2, 1, 28, 28, dtype=torch.uint8))


def test_vector_datasets_are_their_own_features():
    assert isinstance(default_extractor("ring"), IdentityExtractor)
    points = torch.randn(5, 2)
    out = IdentityExtractor()(points)
    torch.testing.assert_close(out.features, points.double())
    assert out.probs is None
    with pytest.raises(ConfigError, match="--extractor: 'clip' is not allowed"):
        default_extractor("ring", kind="clip")
