"""The classic tutorial GAN loop, kept as the baseline that gankit is measured against.

Written the way the popular tutorials do it: a torchvision MNIST dataset with
per-sample ``ToTensor``/``Normalize`` transforms in a ``DataLoader``, a
discriminator ending in ``nn.Sigmoid`` with ``nn.BCELoss``, and the generator run
twice per step (once for the D update, once more for the G update).
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

import numpy as np
import torch
from torch import nn

from gankit.data.idx import write_idx
from gankit.models import create_model


def torchvision_mnist(images: torch.Tensor, labels: torch.Tensor, root: Path):
    """A ``torchvision.datasets.MNIST`` over our arrays, with the tutorial's transforms."""
    import torchvision
    from torchvision import transforms

    raw = root / "MNIST" / "raw"
    raw.mkdir(parents=True, exist_ok=True)
    write_idx(images[:, 0].numpy(), raw / "train-images-idx3-ubyte")
    write_idx(labels.numpy().astype(np.uint8), raw / "train-labels-idx1-ubyte")
    for name in ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"):
        write_idx(np.zeros((1,) + ((28, 28) if "images" in name else ()), np.uint8), raw / name)
    transform = transforms.Compose([transforms.ToTensor(), transforms.Normalize([0.5], [0.5])])
    return torchvision.datasets.MNIST(str(root), train=True, download=False, transform=transform)


class Logits(nn.Module):
    """The adversarial logits (B,) of a gankit discriminator's :class:`~gankit.models.base.DiscriminatorOutput`."""

    def forward(self, out):
        return out.logits


class ClassicGAN:
    """The reference MLP G and D, trained the tutorial way."""

    def __init__(self, images: torch.Tensor, labels: torch.Tensor, batch_size: int = 64, seed: int = 0, latent_dim: int = 100):
        torch.manual_seed(seed)
        self._tmp = tempfile.TemporaryDirectory()
        self.dataset = torchvision_mnist(images, labels, Path(self._tmp.name))
        self.loader = torch.utils.data.DataLoader(self.dataset, batch_size=batch_size, shuffle=True, drop_last=True)
        pair = create_model("mlp", (1, 28, 28), latent_dim)
        self.generator = pair.generator
        self.discriminator = nn.Sequential(pair.discriminator, Logits(), nn.Sigmoid())
        self.latent_dim = latent_dim
        self.adversarial_loss = nn.BCELoss()
        self.opt_g = torch.optim.Adam(self.generator.parameters(), lr=2e-4, betas=(0.5, 0.999))
        self.opt_d = torch.optim.Adam(self.discriminator.parameters(), lr=2e-4, betas=(0.5, 0.999))

    def train_epoch(self, max_steps: int | None = None) -> int:
        """One pass over the loader (or ``max_steps`` batches); returns the number of images used."""
        seen = 0
        for i, (imgs, _) in enumerate(self.loader):
            if max_steps is not None and i >= max_steps:
                break
            valid = torch.ones(imgs.size(0))
            fake = torch.zeros(imgs.size(0))
            # Discriminator
            self.opt_d.zero_grad()
            z = torch.randn(imgs.size(0), self.latent_dim)
            gen_imgs = self.generator(z)
            real_loss = self.adversarial_loss(self.discriminator(imgs), valid)
            fake_loss = self.adversarial_loss(self.discriminator(gen_imgs.detach()), fake)
            d_loss = (real_loss + fake_loss) / 2
            d_loss.backward()
            self.opt_d.step()
            # Generator (a fresh generator forward, as in the tutorials)
            self.opt_g.zero_grad()
            z = torch.randn(imgs.size(0), self.latent_dim)
            g_loss = self.adversarial_loss(self.discriminator(self.generator(z)), valid)
            g_loss.backward()
            self.opt_g.step()
            seen += imgs.size(0)
        return seen

    def images_per_second(self, steps: int) -> float:
        start = time.perf_counter()
        seen = self.train_epoch(max_steps=steps)
        return seen / (time.perf_counter() - start)
