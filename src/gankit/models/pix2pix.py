"""Image-to-image models for restoration: the pix2pix U-Net, an SRResNet, and a conditional PatchGAN.

A restoration ("paired") family maps a degraded image to a clean one instead of noise to an image. Its generator
takes the degraded input (B, C_in, H / scale, W / scale), where C_in is C, or C + 1 with the inpainting mask as
the last channel, and returns the restored image (B, C, H, W) in [-1, 1]; its discriminator judges an image
(B, C, H, W) beside the input it was restored from and returns one logit per patch (B, P, P). Both are built for
the image shape (C, H, W) of the *clean* images, with ``scale`` and ``mask_input`` naming the input.

- ``pix2pix``: Isola et al., "Image-to-Image Translation with Conditional Adversarial Networks", CVPR 2017: a
  U-Net generator (Ronneberger et al. 2015: 4x4 stride-2 convolutions down, transposed ones up, skip connections
  between mirrored levels) and a PatchGAN discriminator (Sec. 3.2.2) that classifies overlapping patches.
- ``srresnet``: Ledig et al., "Photo-Realistic Single Image Super-Resolution Using a Generative Adversarial
  Network", CVPR 2017: residual blocks at the input's resolution, then sub-pixel convolutions (Shi et al. 2016,
  ``PixelShuffle``) up by 2 per step; with the same PatchGAN.

Both generators add their output to the bicubic upscale of the input (``residual``), so they learn the missing
detail only (Kim et al., "Accurate Image Super-Resolution Using Very Deep Convolutional Networks", CVPR 2016);
for inpainting the known pixels are passed through and only the masked ones are generated.

The ``paired`` objective (:mod:`gankit.training.objectives.paired`) trains them.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from gankit.models import register_model
from gankit.models.base import GANPair
from gankit.models.layers import check_conditional, sn
from gankit.models.options import ModelOptions, option, refuse

PAIRED_FAMILIES = ("pix2pix", "srresnet")
"""The registered families whose generator restores an image rather than drawing one from noise."""
G_NORMS = ("batch", "instance", "none")


def _norm(kind: str, channels: int) -> nn.Module:
    if kind == "batch":
        return nn.BatchNorm2d(channels)
    if kind == "instance":
        return nn.InstanceNorm2d(channels, affine=True)
    return nn.Identity()


def upscale_input(inputs: torch.Tensor, channels: int, scale: int) -> tuple[torch.Tensor, torch.Tensor | None]:
    """The model input (B, C [+ 1], h, w) as the bicubic upscale of its images (B, C, H, W) and its mask (B, 1, H, W) or None."""
    images, mask = inputs[:, :channels], (inputs[:, channels:] if inputs.shape[1] > channels else None)
    if scale > 1:
        images = F.interpolate(images, scale_factor=scale, mode="bicubic", align_corners=False)
    return images, mask


class RestorationGenerator(nn.Module):
    """What both generators share: input checks, the bicubic skip, and passing the known pixels through."""

    def __init__(self, img_shape: tuple[int, int, int], scale: int, mask_input: bool, residual: bool) -> None:
        super().__init__()
        self.img_shape, self.scale, self.mask_input, self.residual = tuple(img_shape), scale, mask_input, residual
        c, h, w = self.img_shape
        self.input_shape = (c + int(mask_input), h // scale, w // scale)

    def body(self, inputs: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError

    def extra_repr(self) -> str:
        return f"scale={self.scale}, mask_input={self.mask_input}, residual={self.residual}"

    def forward(self, inputs: torch.Tensor) -> torch.Tensor:
        """Degraded input (B, C [+ 1], H / scale, W / scale) in [-1, 1] -> restored images (B, C, H, W)."""
        assert tuple(inputs.shape[1:]) == self.input_shape, f"expected inputs of shape (B, {self.input_shape}), got {tuple(inputs.shape)}"
        base, mask = upscale_input(inputs, self.img_shape[0], self.scale)  # (B, C, H, W), (B, 1, H, W) | None
        out = self.body(inputs)  # (B, C, H, W)
        out = base + out if self.residual else torch.tanh(out)
        if mask is not None:
            out = base * (1.0 - mask) + out * mask  # known pixels kept exactly
        return out


class ChannelwiseFC(nn.Module):
    """The channel-wise fully connected layer of context encoders (Pathak et al., CVPR 2016, Sec. 3.1): each channel's
    h x w map goes through its own fully connected layer, so every position sees the whole map (a 3x3 convolution
    sees its neighbours only), then a 1x1 convolution mixes the channels. C * (hw)^2 weights instead of C^2 * (hw)^2."""

    def __init__(self, channels: int, h: int, w: int) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.randn(channels, h * w, h * w) / (h * w) ** 0.5)
        self.bias = nn.Parameter(torch.zeros(channels, 1, h * w))
        self.mix = nn.Conv2d(channels, channels, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, c, h, w = x.shape
        y = torch.matmul(x.reshape(b, c, h * w).transpose(0, 1), self.weight) + self.bias  # (C, B, hw)
        return self.mix(y.transpose(0, 1).reshape(b, c, h, w))  # (B, C, h, w)


class UNetGenerator(RestorationGenerator):
    """The pix2pix U-Net: a 3x3 stem, ``depth`` 4x4 stride-2 convolutions down (width doubling, at most 8x), a
    bottleneck (a 3x3 convolution, or the channel-wise fully connected layer of context encoders), and as many 4x4
    transposed convolutions up, each concatenated with its mirror's features."""

    def __init__(self, img_shape: tuple[int, int, int], scale: int, mask_input: bool, residual: bool, width: int,
                 depth: int, norm: str, dropout: float, bottleneck: str = "conv") -> None:
        super().__init__(img_shape, scale, mask_input, residual)
        c, h, w = self.img_shape
        if h % 2**depth or w % 2**depth:
            raise ValueError(f"a U-Net of depth {depth} needs image sides divisible by {2**depth}, got {h}x{w}")
        widths = [width * min(2**i, 8) for i in range(depth + 1)]
        self.stem = nn.Sequential(nn.Conv2d(c + int(mask_input), widths[0], 3, 1, 1), nn.LeakyReLU(0.2))
        self.down = nn.ModuleList(
            nn.Sequential(nn.Conv2d(widths[i], widths[i + 1], 4, 2, 1, bias=norm == "none"), _norm(norm, widths[i + 1]), nn.LeakyReLU(0.2))
            for i in range(depth))
        if bottleneck == "channel_fc":
            middle: nn.Module = ChannelwiseFC(widths[-1], h // 2**depth, w // 2**depth)
        else:
            middle = nn.Conv2d(widths[-1], widths[-1], 3, 1, 1)
        self.bottleneck = nn.Sequential(middle, nn.ReLU())
        self.up = nn.ModuleList(
            nn.Sequential(nn.ConvTranspose2d(2 * widths[i + 1], widths[i], 4, 2, 1, bias=norm == "none"), _norm(norm, widths[i]),
                          nn.Dropout(dropout) if dropout > 0 else nn.Identity(), nn.ReLU())
            for i in reversed(range(depth)))
        self.head = nn.Conv2d(2 * widths[0], c, 3, 1, 1)

    def body(self, inputs: torch.Tensor) -> torch.Tensor:
        x, _ = upscale_input(inputs, self.img_shape[0], self.scale)
        if self.mask_input:
            x = torch.cat([x, inputs[:, -1:]], dim=1)  # (B, C + 1, H, W)
        skips = [self.stem(x)]  # (B, w, H, W)
        for block in self.down:
            skips.append(block(skips[-1]))  # (B, w_i, H / 2^i, W / 2^i)
        x = self.bottleneck(skips[-1])
        for block, skip in zip(self.up, reversed(skips[1:])):
            x = block(torch.cat([x, skip], dim=1))  # up one level
        return self.head(torch.cat([x, skips[0]], dim=1))  # (B, C, H, W)


class ResidualBlock(nn.Module):
    """conv3x3 - norm - PReLU - conv3x3 - norm, plus the input (Ledig et al. 2017, Fig. 4)."""

    def __init__(self, width: int, norm: str) -> None:
        super().__init__()
        self.body = nn.Sequential(nn.Conv2d(width, width, 3, 1, 1), _norm(norm, width), nn.PReLU(width),
                                  nn.Conv2d(width, width, 3, 1, 1), _norm(norm, width))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.body(x)


class SRResNetGenerator(RestorationGenerator):
    """SRResNet: a 9x9 stem, ``blocks`` residual blocks and a long skip at the input's resolution, log2(scale)
    sub-pixel steps (conv to 4x the channels, ``PixelShuffle(2)``, PReLU), a 9x9 head."""

    def __init__(self, img_shape: tuple[int, int, int], scale: int, mask_input: bool, residual: bool, width: int,
                 blocks: int, norm: str) -> None:
        super().__init__(img_shape, scale, mask_input, residual)
        c = self.img_shape[0]
        self.stem = nn.Sequential(nn.Conv2d(c + int(mask_input), width, 9, 1, 4), nn.PReLU(width))
        self.blocks = nn.Sequential(*(ResidualBlock(width, norm) for _ in range(blocks)),
                                    nn.Conv2d(width, width, 3, 1, 1), _norm(norm, width))
        self.upsample = nn.Sequential(*(layer for _ in range(int(math.log2(scale)))
                                        for layer in (nn.Conv2d(width, 4 * width, 3, 1, 1), nn.PixelShuffle(2), nn.PReLU(width))))
        self.head = nn.Conv2d(width, c, 9, 1, 4)

    def body(self, inputs: torch.Tensor) -> torch.Tensor:
        features = self.stem(inputs)  # (B, w, h, w)
        return self.head(self.upsample(features + self.blocks(features)))  # (B, C, H, W)


class PatchDiscriminator(nn.Module):
    """PatchGAN conditioned on the degraded input: [image; bicubic-upscaled input] (B, 2C [+ 1], H, W) -> patch logits.

    ``layers`` 4x4 stride-2 convolutions (width doubling, LeakyReLU 0.2), one 4x4 stride-1 convolution, and a 4x4
    stride-1 convolution to one channel, as the 70x70 PatchGAN of Isola et al. with fewer layers for 28-64 px images:
    two stride-2 layers see 22x22 patches (a 5x5 map at 28 px), three see 46x46 (a 6x6 map at 64 px).
    No normalisation that mixes the batch, so real and fake may share a pass.
    """

    def __init__(self, img_shape: tuple[int, int, int], scale: int, mask_input: bool, width: int, layers: int,
                 spectral_norm: bool) -> None:
        super().__init__()
        self.img_shape, self.scale, self.mask_input = tuple(img_shape), scale, mask_input
        c, h, w = self.img_shape
        self.input_shape = (c + int(mask_input), h // scale, w // scale)
        chans, blocks = 2 * c + int(mask_input), []
        for i in range(layers):
            out = width * min(2**i, 8)
            blocks += [sn(nn.Conv2d(chans, out, 4, 2, 1), spectral_norm), nn.LeakyReLU(0.2)]
            chans = out
        out = width * min(2**layers, 8)
        blocks += [sn(nn.Conv2d(chans, out, 4, 1, 1), spectral_norm), nn.LeakyReLU(0.2), sn(nn.Conv2d(out, 1, 4, 1, 1), spectral_norm)]
        self.net = nn.Sequential(*blocks)

    def forward(self, images: torch.Tensor, inputs: torch.Tensor) -> torch.Tensor:
        """images (B, C, H, W) and the degraded inputs they answer (B, C [+ 1], H / scale, W / scale) -> (B, P, P)."""
        assert tuple(images.shape[1:]) == self.img_shape, f"expected images of shape (B, {self.img_shape}), got {tuple(images.shape)}"
        assert tuple(inputs.shape[1:]) == self.input_shape, f"expected inputs of shape (B, {self.input_shape}), got {tuple(inputs.shape)}"
        base, mask = upscale_input(inputs, self.img_shape[0], self.scale)
        parts = [images, base] + ([mask] if mask is not None else [])
        return self.net(torch.cat(parts, dim=1)).squeeze(1)  # (B, P, P)


@dataclass(frozen=True)
class RestorationOptions(ModelOptions):
    """What the input of a restoration model is, and its discriminator (shared by ``pix2pix`` and ``srresnet``)."""

    scale: int = option(1, min=1, max=4)
    """How much smaller the input is than the output: 1 (denoising, inpainting), 2 or 4 (super-resolution);
    must match ``restore.degradation``."""
    mask_input: bool = False
    """The input carries the inpainting mask as one more channel (1 = missing); must be true for the ``mask_*``
    degradations and false otherwise."""
    residual: bool = True
    """Add G's output to the bicubic upscale of the input (Kim et al. 2016); false ends G in tanh instead."""
    g_width: int = option(32, min=1)
    """Channels of G's first layer."""
    g_norm: str = option("none", choices=G_NORMS)
    """Normalisation in G: ``batch`` (pix2pix, SRResNet), ``instance`` or ``none`` (EDSR, Lim et al. 2017)."""
    d_width: int = option(32, min=1)
    """Channels of the PatchGAN's first convolution; each stride-2 layer doubles them (at most 8x)."""
    d_layers: int = option(2, min=1, max=4)
    """Stride-2 convolutions in the PatchGAN: 2 for 28 px images, 3 for 64 px."""
    spectral_norm: bool = True
    """Spectral normalisation on every PatchGAN weight (Miyato et al. 2018)."""

    def check(self) -> None:
        super().check()
        if self.scale not in (1, 2, 4):
            raise refuse("scale", self.scale, "scale must be 1, 2 or 4")
        if self.scale > 1 and self.mask_input:
            raise refuse("mask_input", self.mask_input, "a super-resolution model (scale > 1) takes no mask; set mask_input=false")


@dataclass(frozen=True)
class Pix2PixOptions(RestorationOptions):
    """``pix2pix``: a U-Net generator and a conditional PatchGAN (Isola et al., CVPR 2017)."""

    depth: int = option(2, min=1, max=5)
    """Stride-2 levels of the U-Net; the image sides must be divisible by 2^depth (2 for 28 px, up to 4 for 64 px)."""
    dropout: float = option(0.0, min=0.0, max=0.9)
    """Dropout in the U-Net's up path (pix2pix uses 0.5 as its noise; 0 makes G deterministic)."""
    bottleneck: str = option("conv", choices=("conv", "channel_fc"))
    """The U-Net's innermost layer: ``conv`` (3x3) or ``channel_fc``, the channel-wise fully connected layer of context
    encoders (Pathak et al. 2016), through which every position of the innermost map sees all of it: for inpainting,
    where the middle of a hole is far from the known pixels."""


@dataclass(frozen=True)
class SRResNetOptions(RestorationOptions):
    """``srresnet``: an SRResNet generator with sub-pixel upsampling (Ledig et al., CVPR 2017) and a conditional PatchGAN."""

    blocks: int = option(4, min=1, max=32)
    """Residual blocks (16 in SRResNet; fewer for 28-64 px images on a CPU)."""


def _discriminator(img_shape, o: RestorationOptions) -> PatchDiscriminator:
    return PatchDiscriminator(img_shape, o.scale, o.mask_input, o.d_width, o.d_layers, o.spectral_norm)


def _check(family: str, img_shape: tuple[int, ...], num_classes: int, o: RestorationOptions) -> None:
    check_conditional(family, num_classes, conditional=False)
    if len(img_shape) != 3:
        raise ValueError(f"model {family!r} restores images (C, H, W), got data of shape {tuple(img_shape)}")
    c, h, w = img_shape
    size = max(3 * 2 ** (o.d_layers + 1), 2)
    if h % o.scale or w % o.scale or min(h, w) < size:
        raise ValueError(f"model {family!r} needs image sides divisible by scale={o.scale} and at least {size} px "
                         f"for d_layers={o.d_layers}, got {h}x{w}")


@register_model("pix2pix")
def pix2pix(img_shape: tuple[int, int, int], latent_dim: int, num_classes: int, options: Pix2PixOptions) -> GANPair:
    """U-Net generator and conditional PatchGAN (Isola et al. 2017); ``latent_dim`` is unused (G takes no noise)."""
    o = options
    _check("pix2pix", img_shape, num_classes, o)
    generator = UNetGenerator(img_shape, o.scale, o.mask_input, o.residual, o.g_width, o.depth, o.g_norm, o.dropout, o.bottleneck)
    return GANPair(generator, _discriminator(img_shape, o))


@register_model("srresnet")
def srresnet(img_shape: tuple[int, int, int], latent_dim: int, num_classes: int, options: SRResNetOptions) -> GANPair:
    """SRResNet generator with sub-pixel upsampling (Ledig et al. 2017) and conditional PatchGAN; ``latent_dim`` unused."""
    o = options
    _check("srresnet", img_shape, num_classes, o)
    generator = SRResNetGenerator(img_shape, o.scale, o.mask_input, o.residual, o.g_width, o.blocks, o.g_norm)
    return GANPair(generator, _discriminator(img_shape, o))


for _factory in (pix2pix, srresnet):
    _factory.paired = True
    _factory.tiny_kwargs = {"img_shape": (1, 28, 28), "options": {"scale": 2, "g_width": 4, "d_width": 4}}
