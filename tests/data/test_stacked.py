"""Stacked MNIST: each channel is an independently drawn digit and the label names all three."""

import numpy as np
import torch

from gankit.data import DATASETS
from gankit.data.idx import write_idx
from gankit.data.stacked import split_stacked_label, stack_digits


def fake_digits(num: int = 50):
    """Digit d is an image filled with the value 10 * d + 1, so a channel tells its digit."""
    labels = torch.arange(num) % 10
    images = (labels * 10 + 1).to(torch.uint8)[:, None, None, None].expand(num, 1, 28, 28).contiguous()
    return images, labels


def test_channels_hold_the_digits_the_label_names():
    images, labels = fake_digits()
    stacked, stacked_labels = stack_digits(images, labels, 500, seed=0)
    assert stacked.shape == (500, 3, 28, 28) and stacked.dtype == torch.uint8
    digits_from_pixels = (stacked[:, :, 0, 0].long() - 1) // 10  # (N, 3)
    assert torch.equal(split_stacked_label(stacked_labels), digits_from_pixels)
    assert torch.equal(stacked_labels, digits_from_pixels[:, 0] * 100 + digits_from_pixels[:, 1] * 10 + digits_from_pixels[:, 2])


def test_channels_are_drawn_independently_and_cover_many_modes():
    images, labels = fake_digits()
    _, stacked_labels = stack_digits(images, labels, 20_000, seed=1)
    digits = split_stacked_label(stacked_labels).double()
    correlation = torch.corrcoef(digits.T)
    assert float((correlation - torch.eye(3, dtype=torch.float64)).abs().max()) < 0.03
    assert len(stacked_labels.unique()) > 990  # 1,000 modes, 20 draws each on average


def test_registered_dataset_stacks_the_mnist_split_it_is_asked_for(tmp_path):
    raw = tmp_path / "MNIST" / "raw"
    raw.mkdir(parents=True)
    for prefix, offset in (("train", 0), ("t10k", 5)):
        labels = (np.arange(40) + offset) % 10
        images = np.repeat((labels * 10 + 1).astype(np.uint8)[:, None, None], 28, 1).repeat(28, 2)
        write_idx(images, raw / f"{prefix}-images-idx3-ubyte")
        write_idx(labels.astype(np.uint8), raw / f"{prefix}-labels-idx1-ubyte")
    dataset = DATASETS.get("stacked-mnist")("test", tmp_path)
    assert dataset.images.shape == (10_000, 3, 28, 28)
    assert dataset.num_classes == 1000 and dataset.class_names[7] == "007"
    assert torch.equal(split_stacked_label(dataset.labels), (dataset.images[:, :, 0, 0].long() - 1) // 10)
