"""Mixed pairs: a fully connected generator against a convolutional discriminator, or the reverse.

On a CPU the two halves of a GAN cost very different amounts: the MLP generator of
Goodfellow et al. (2014) is cheap but free of any locality prior, so its digits carry
isolated bright pixels; a narrow DCGAN discriminator (Radford et al. 2016) judges
local strokes for little more than the MLP's cost at 28 px. ``hybrid`` pairs either
generator with either discriminator so the trade can be measured.

``discriminator="mlp+dcgan"`` judges each image with both: its logit is the sum of
the MLP's (the whole image at once) and the narrow DCGAN's (local strokes), the
global-plus-local discriminator of Iizuka, Simo-Serra & Ishikawa, "Globally and
Locally Consistent Image Completion", SIGGRAPH 2017, fused by addition.

``pack=k`` makes any of these discriminators a PacGAN one (Lin et al., "PacGAN: The
power of two samples in generative adversarial networks", NeurIPS 2018): it judges
k images at once, stacked along the channel axis.
"""

from __future__ import annotations

import torch
from torch import nn

from gankit.errors import ConfigError
from gankit.models import register_model
from gankit.models.base import GANPair
from gankit.models.dcgan import SIZES, DCGANDiscriminator, DCGANGenerator
from gankit.models.layers import check_choice, check_conditional, check_pack, check_square_size, pack
from gankit.models.mlp import MLPDiscriminator, MLPGenerator

ARCHS = ("mlp", "dcgan")
D_ARCHS = (*ARCHS, "mlp+dcgan")


class SumDiscriminator(nn.Module):
    """images (B, C, H, W) -> logits (B,): the sum of a global and a local discriminator's logits."""

    def __init__(self, global_d: nn.Module, local_d: nn.Module) -> None:
        super().__init__()
        self.global_d, self.local_d = global_d, local_d

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        return self.global_d(images) + self.local_d(images)  # (B,)


class PackedDiscriminator(nn.Module):
    """images (B, C, H, W) -> logits (B / pack,): ``inner``, built for (pack * C, H, W), judges ``pack`` images at once."""

    def __init__(self, inner: nn.Module, pack_size: int) -> None:
        super().__init__()
        self.inner, self.pack_size = inner, pack_size

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        return self.inner(pack(images, self.pack_size))  # (B / pack,)


@register_model("hybrid")
def hybrid(
    img_shape: tuple[int, int, int],
    latent_dim: int,
    num_classes: int = 0,
    *,
    generator: str = "mlp",
    discriminator: str = "dcgan",
    g_hidden: tuple[int, ...] = (256, 512, 1024),
    d_hidden: tuple[int, ...] = (512, 256),
    dropout: float = 0.3,
    g_width: int = 64,
    d_width: int = 32,
    g_norm: str = "batch",
    d_norm: str = "none",
    spectral_norm: bool = True,
    pack: int = 1,
    mbstd_group: int = 0,
) -> GANPair:
    """G and D each an MLP (``g_hidden``/``d_hidden``, ``dropout``) or a DCGAN half (``g_width``/``d_width``,
    ``g_norm``/``d_norm``, ``spectral_norm`` on D); D may also be ``"mlp+dcgan"``, the sum of both logits, and any D
    may judge ``pack`` images at once (PacGAN). ``mbstd_group`` > 0 gives a DCGAN D the minibatch standard-deviation
    channel (Karras et al. 2018)."""
    check_conditional("hybrid", num_classes, conditional=False)
    check_pack("hybrid", pack, num_classes)
    check_choice("generator", generator, ARCHS)
    check_choice("discriminator", discriminator, D_ARCHS)
    if mbstd_group < 0 or (mbstd_group > 0 and discriminator == "mlp"):
        raise ConfigError(f"model.options.mbstd_group: {mbstd_group} is not allowed with discriminator {discriminator!r}; "
                          "use 0, or a positive group size with a 'dcgan' or 'mlp+dcgan' discriminator")
    if generator == "dcgan" or discriminator != "mlp":
        check_square_size("hybrid", img_shape, SIZES)
    g: nn.Module = (
        MLPGenerator(img_shape, latent_dim, tuple(g_hidden)) if generator == "mlp"
        else DCGANGenerator(img_shape, latent_dim, g_width, g_norm)
    )
    d_shape = (img_shape[0] * pack, *img_shape[1:])  # D's input: pack images stacked along the channels
    d: nn.Module
    if discriminator == "mlp":
        d = MLPDiscriminator(d_shape, tuple(d_hidden), dropout)
    elif discriminator == "dcgan":
        d = DCGANDiscriminator(d_shape, d_width, d_norm, spectral_norm, mbstd_group=mbstd_group)
    else:  # "mlp+dcgan"
        d = SumDiscriminator(
            MLPDiscriminator(d_shape, tuple(d_hidden), dropout), DCGANDiscriminator(d_shape, d_width, d_norm, spectral_norm, mbstd_group=mbstd_group)
        )
    if pack > 1:
        d = PackedDiscriminator(d, pack)
    return GANPair(generator=g, discriminator=d)


hybrid.tiny_kwargs = {"img_shape": (1, 28, 28), "options": {"g_hidden": [16], "d_width": 8}}
