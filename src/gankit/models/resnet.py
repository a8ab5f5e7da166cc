"""SNGAN-style residual generator and discriminator for 28, 32, 64 and 128 px images.

Miyato et al., "Spectral Normalization for Generative Adversarial Networks",
ICLR 2018, Appendix B (the ResNet of Gulrajani et al. 2017 with spectral norm in
D): G blocks are BN-ReLU-up-conv3-BN-ReLU-conv3 with an upsampled 1x1 shortcut;
D blocks are ReLU-conv3-ReLU-conv3-avgpool with a 1x1 shortcut, global sum
pooling and a (projection) linear output. With ``num_classes > 0`` G uses
conditional BatchNorm and D the projection head of Miyato & Koyama (2018); that
variant is registered as ``resnet_cond`` in :mod:`gankit.models.conditional`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import torch
import torch.nn.functional as F
from torch import nn

from gankit.models import register_model
from gankit.models.base import DiscriminatorOutput, GANPair, head_output
from gankit.models.layers import (
    ConditionalBatchNorm2d,
    MinibatchStdDev,
    ProjectionHead,
    check_conditional,
    check_square_size,
    pack,
    sn,
    upsampling_plan,
)
from gankit.models.options import ClassHeadOptions, ModelOptions, option

SIZES = (28, 32, 64, 128)


def _channels(width: int, steps: int, i: int) -> int:
    """Channels at resolution level i of ``steps``: width * 2^(steps-1-i), at most 8 * width (as SNGAN's 64/128 px nets)."""
    return width * min(2 ** max(steps - 1 - i, 0), 8)


class GBlock(nn.Module):
    """(B, C_in, H, W) [, labels] -> (B, C_out, 2H, 2W)."""

    def __init__(self, c_in: int, c_out: int, num_classes: int = 0) -> None:
        super().__init__()
        self.conditional = num_classes > 0
        make_norm = (lambda c: ConditionalBatchNorm2d(c, num_classes)) if self.conditional else nn.BatchNorm2d
        self.norm1, self.norm2 = make_norm(c_in), make_norm(c_out)
        self.conv1 = nn.Conv2d(c_in, c_out, 3, 1, 1)
        self.conv2 = nn.Conv2d(c_out, c_out, 3, 1, 1)
        self.shortcut = nn.Conv2d(c_in, c_out, 1)

    def _norm(self, norm: nn.Module, h: torch.Tensor, labels: torch.Tensor | None) -> torch.Tensor:
        return norm(h, labels) if self.conditional else norm(h)

    def forward(self, x: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        h = F.interpolate(torch.relu(self._norm(self.norm1, x, labels)), scale_factor=2, mode="nearest")
        h = self.conv2(torch.relu(self._norm(self.norm2, self.conv1(h), labels)))
        return h + self.shortcut(F.interpolate(x, scale_factor=2, mode="nearest"))


class DBlock(nn.Module):
    """(B, C_in, H, W) -> (B, C_out, H/2, W/2) when ``down`` else same size. ``first`` is SNGAN's optimised first block."""

    def __init__(self, c_in: int, c_out: int, down: bool, first: bool, spectral: bool) -> None:
        super().__init__()
        self.down, self.first = down, first
        self.conv1 = sn(nn.Conv2d(c_in, c_out, 3, 1, 1), spectral)
        self.conv2 = sn(nn.Conv2d(c_out, c_out, 3, 1, 1), spectral)
        self.shortcut = sn(nn.Conv2d(c_in, c_out, 1), spectral) if (c_in != c_out or down) else None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = x if self.first else torch.relu(x)
        h = self.conv2(torch.relu(self.conv1(h)))
        if self.down:
            h = F.avg_pool2d(h, 2)
        s = x
        if self.first:
            s = self.shortcut(F.avg_pool2d(s, 2) if self.down else s)
        elif self.shortcut is not None:
            s = self.shortcut(s)
            s = F.avg_pool2d(s, 2) if self.down else s
        return h + s


class ResNetGenerator(nn.Module):
    """z (B, latent_dim) [, labels (B,)] -> images (B, C, S, S) in [-1, 1]."""

    def __init__(self, img_shape: tuple[int, int, int], latent_dim: int, width: int, num_classes: int = 0) -> None:
        super().__init__()
        channels, size = img_shape[0], img_shape[1]
        self.img_shape, self.latent_dim, self.num_classes = tuple(img_shape), latent_dim, num_classes
        self.start, steps = upsampling_plan(size)
        widths = [_channels(width, steps, i) for i in range(-1, steps)]  # one per level, start map first
        self.first_channels = widths[0]
        self.project = nn.Linear(latent_dim, widths[0] * self.start * self.start)
        self.blocks = nn.ModuleList([GBlock(widths[i], widths[i + 1], num_classes) for i in range(steps)])
        self.out_norm = nn.BatchNorm2d(widths[-1])
        self.to_image = nn.Conv2d(widths[-1], channels, 3, 1, 1)

    def forward(self, z: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        assert z.ndim == 2 and z.shape[1] == self.latent_dim, f"expected z of shape (B, {self.latent_dim}), got {tuple(z.shape)}"
        assert (labels is not None) == (self.num_classes > 0), "labels must be given exactly when the generator is conditional"
        h = self.project(z).view(z.shape[0], self.first_channels, self.start, self.start)  # (B, C0, s0, s0)
        for block in self.blocks:
            h = block(h, labels)  # doubles H, W
        return torch.tanh(self.to_image(torch.relu(self.out_norm(h))))  # (B, C, S, S)


class ResNetDiscriminator(nn.Module):
    """images (B, C, S, S) [, labels (B,)] -> :class:`DiscriminatorOutput`: logits (B / pack,) [, class logits (B, K)]."""

    auxiliary_classifier: bool = False
    twin_classifier: bool = False

    def __init__(
        self, img_shape: tuple[int, int, int], width: int, spectral_norm: bool, pack: int = 1,
        mbstd_group: int = 0, num_classes: int = 0, auxiliary: bool = False, twin: bool = False,
        projection: bool | None = None,
    ) -> None:
        super().__init__()
        channels, size = img_shape[0], img_shape[1]
        self.img_shape, self.pack_size = tuple(img_shape), pack
        self.auxiliary_classifier = auxiliary and num_classes > 0
        self.twin_classifier = twin and self.auxiliary_classifier
        _, steps = upsampling_plan(size)
        widths = [_channels(width, steps, steps - 1 - i) for i in range(steps)]  # width, 2w, 4w, ...
        blocks: list[nn.Module] = [DBlock(channels * pack, widths[0], down=True, first=True, spectral=spectral_norm)]
        for i in range(1, steps):
            blocks.append(DBlock(widths[i - 1], widths[i], down=True, first=False, spectral=spectral_norm))
        last = widths[-1]
        if mbstd_group > 0:
            blocks.append(MinibatchStdDev(mbstd_group))
        blocks.append(DBlock(last + (1 if mbstd_group > 0 else 0), last, down=False, first=False, spectral=spectral_norm))
        self.blocks = nn.Sequential(*blocks)
        self.head = ProjectionHead(last, num_classes, spectral_norm, auxiliary, twin, projection)

    def forward(self, images: torch.Tensor, labels: torch.Tensor | None = None) -> DiscriminatorOutput:
        assert tuple(images.shape[1:]) == self.img_shape, f"expected images of shape (B, {self.img_shape}), got {tuple(images.shape)}"
        h = self.blocks(pack(images, self.pack_size))  # (B / pack, F, s0, s0)
        h = torch.relu(h).sum(dim=(2, 3))  # global sum pooling (B / pack, F)
        return head_output(self.head(h, labels), self.twin_classifier)


@dataclass(frozen=True)
class ResNetBaseOptions(ModelOptions):
    """The options ``resnet`` and ``resnet_cond`` share."""

    g_width: int = option(64, min=1)
    """Channels of the generator's last residual block; the blocks before it have up to 8x as many (as SNGAN's
    64 and 128 px networks)."""
    d_width: int = option(64, min=1)
    """Channels of the discriminator's first residual block; each later one doubles them, up to 8x."""
    spectral_norm: bool = True
    """Spectral normalisation on every discriminator weight (Miyato et al., ICLR 2018)."""
    mbstd_group: int = option(0, min=0)
    """> 0: D appends a minibatch standard-deviation channel over groups of this many images before its last
    block (Karras et al., ICLR 2018); 0 is off."""


@dataclass(frozen=True)
class ResNetOptions(ResNetBaseOptions):
    """``resnet``: the SNGAN ResNet (Miyato et al., ICLR 2018, appendix B) for 28, 32, 64 and 128 px images."""

    pack: int = option(1, min=1)
    """PacGAN packing (Lin et al., NeurIPS 2018): D judges this many images at once, stacked along the channels;
    1 is off. ``train.batch_size`` must be a multiple of it."""

    # An unconditional pair: the class head is that of no classes.
    auxiliary: ClassVar[bool] = False
    twin: ClassVar[bool] = False
    projection: ClassVar[bool | None] = None


@dataclass(frozen=True)
class ResNetCondOptions(ClassHeadOptions, ResNetBaseOptions):
    """``resnet_cond``: the class-conditional SNGAN ResNet, conditional BatchNorm in G and a projection (Miyato &
    Koyama 2018), AC-GAN or TAC-GAN head on D (see :mod:`gankit.models.conditional`)."""

    pack: ClassVar[int] = 1  # one image per judgement


def build_resnet(family: str, img_shape, latent_dim: int, num_classes: int, options: ResNetOptions | ResNetCondOptions) -> GANPair:
    """The ResNet pair of ``resnet`` (``num_classes`` 0) and ``resnet_cond``, once the image size is checked."""
    check_square_size(family, img_shape, SIZES)
    o = options
    return GANPair(
        generator=ResNetGenerator(img_shape, latent_dim, o.g_width, num_classes),
        discriminator=ResNetDiscriminator(img_shape, o.d_width, o.spectral_norm, o.pack, o.mbstd_group, num_classes, o.auxiliary, o.twin,
                                          o.projection),
    )


@register_model("resnet")
def resnet(img_shape: tuple[int, int, int], latent_dim: int, num_classes: int, options: ResNetOptions) -> GANPair:
    """SNGAN ResNet (Miyato et al. 2018) for 28/32/64/128 px; SN in D on by default."""
    check_conditional("resnet", num_classes, conditional=False)
    return build_resnet("resnet", img_shape, latent_dim, 0, options)


resnet.tiny_kwargs = {"img_shape": (3, 32, 32), "options": {"g_width": 4, "d_width": 4}}
