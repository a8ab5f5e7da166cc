"""Draw samples from a generator in the form the datasets hold them (what the metrics take)."""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from gankit.data import to_uint8
from gankit.models import default_labels


@torch.no_grad()
def draw_samples(generator: nn.Module, spec: dict[str, Any], num: int, seed: int, batch_size: int = 500) -> torch.Tensor:
    """``num`` samples: uint8 (N, C, H, W) for image generators, float32 (N, D) for vector ones.

    Conditional generators get :func:`gankit.models.default_labels`: the training set's class shares when the
    spec has them, else the classes in turn.
    """
    gen = torch.Generator().manual_seed(seed)
    z = torch.randn(num, spec["latent_dim"], generator=gen)
    labels = default_labels(num, spec)
    device = next(generator.parameters()).device
    was_training = generator.training
    generator.eval()
    chunks = []
    for start in range(0, num, batch_size):
        zb = z[start:start + batch_size].to(device)
        out = generator(zb, labels[start:start + batch_size].to(device)) if labels is not None else generator(zb)
        out = out.float().cpu()
        chunks.append(to_uint8(out) if out.ndim == 4 else out)
    generator.train(was_training)
    return torch.cat(chunks)
