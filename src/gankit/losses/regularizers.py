"""Discriminator regularisers: pure functions that return a penalty to add to D's loss.

The trainer decides how often they run and with what weight (``reg`` in the
config); R1 is usually applied lazily, every k steps with its weight times k
(Karras et al., "Analyzing and Improving the Image Quality of StyleGAN", CVPR
2020, Sec. 3.1).
"""

from __future__ import annotations

from typing import Callable

import torch


def _squared_norms(grad: torch.Tensor) -> torch.Tensor:
    return grad.flatten(1).pow(2).sum(dim=1)  # (B,)


def gradient_penalty(
    critic: Callable[[torch.Tensor], torch.Tensor], real: torch.Tensor, fake: torch.Tensor, generator: torch.Generator | None = None,
) -> torch.Tensor:
    """WGAN-GP: E[(||grad_x D(x_hat)||_2 - 1)^2] at random interpolates x_hat = e x + (1 - e) x_fake.

    Gulrajani et al., "Improved Training of Wasserstein GANs", NeurIPS 2017, Alg. 1
    (the weight, lambda = 10 in the paper, is applied by the caller).

    Args:
        critic: images (B, ...) -> outputs (B',), e.g. ``lambda x: D(x, labels)``. With
            PacGAN packing B' = B / pack; the gradient norm is then taken per sample.
        real, fake: (B, ...) batches; ``fake`` should be detached.
        generator: RNG for the mixing weights e ~ U[0, 1] (one per sample).
    """
    shape = (real.shape[0],) + (1,) * (real.ndim - 1)
    eps = torch.rand(shape, generator=generator).to(device=real.device, dtype=real.dtype)
    mixed = (eps * real.detach() + (1 - eps) * fake.detach()).requires_grad_(True)
    outputs = critic(mixed)
    (grad,) = torch.autograd.grad(outputs.float().sum(), mixed, create_graph=True)
    norms = (_squared_norms(grad.float()) + 1e-12).sqrt()
    return (norms - 1.0).pow(2).mean()


def r1_penalty(real_outputs: torch.Tensor, real: torch.Tensor) -> torch.Tensor:
    """R1: E[||grad_x D(x)||^2] on real data (the caller multiplies by gamma / 2).

    Mescheder, Geiger & Nowozin, "Which Training Methods for GANs do actually
    Converge?", ICML 2018, Eq. 9. ``real`` must have ``requires_grad`` set before
    ``real_outputs = D(real)`` was computed; the graph is kept for the backward pass.
    """
    (grad,) = torch.autograd.grad(real_outputs.float().sum(), real, create_graph=True)
    return _squared_norms(grad.float()).mean()


def info_loss(code_logits: torch.Tensor, codes: torch.Tensor) -> torch.Tensor:
    """InfoGAN's L_I for categorical codes (Chen et al. 2016, Eq. 5): the cross-entropy of D's code
    predictions, summed over the codes and averaged over the batch.

    code_logits (B, K) for one code or (B, K, n) for n codes; codes (B,) or (B, n) in 0..K-1.
    """
    return torch.nn.functional.cross_entropy(code_logits, codes, reduction="sum") / codes.shape[0]
