"""Building blocks shared by the model families.

- :func:`sn`: spectral normalisation (Miyato et al., "Spectral Normalization for
  Generative Adversarial Networks", ICLR 2018), optional per layer.
- :class:`ConditionalBatchNorm2d`: BatchNorm whose scale and shift come from the
  class label (de Vries et al. 2017; as used by Miyato & Koyama 2018).
- :class:`ProjectionHead`: the projection discriminator's output layer
  (Miyato & Koyama, "cGANs with Projection Discriminator", ICLR 2018).
- :class:`Dropout`: ``nn.Dropout`` (Srivastava et al., JMLR 2014) with a cheaper mask
  for bfloat16 activations.
- :class:`MinibatchStdDev`: the minibatch standard-deviation feature (Karras et
  al., "Progressive Growing of GANs", ICLR 2018, Sec. 3).
- :func:`pack`: PacGAN packing (Lin et al., "PacGAN: The
  power of two samples in generative adversarial networks", NeurIPS 2018).
- :class:`SkipLayerExcitation`, :class:`SelfSupervisedReconstruction`: FastGAN's
  skip-layer gates and self-supervised discriminator (Liu et al., "Towards Faster
  and Stabilized GAN Training for High-fidelity Few-shot Image Synthesis", ICLR 2021).
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn
from torch.nn.utils.parametrizations import spectral_norm

from gankit.errors import ConfigError

NORMS = ("batch", "none")


def sn(module: nn.Module, enabled: bool) -> nn.Module:
    """``module`` with its weight spectrally normalised (one power iteration per forward) when ``enabled``."""
    return spectral_norm(module) if enabled else module


def norm_2d(kind: str, channels: int) -> nn.Module:
    """``"batch"`` -> BatchNorm2d, ``"none"`` -> identity."""
    if kind not in NORMS:
        raise ValueError(f"norm {kind!r}: expected one of {NORMS}")
    return nn.BatchNorm2d(channels) if kind == "batch" else nn.Identity()


def check_square_size(family: str, img_shape: tuple[int, ...], sizes: tuple[int, ...]) -> tuple[int, int]:
    """Validate an image shape (C, S, S) with S in ``sizes``; return (C, S)."""
    if len(img_shape) != 3 or img_shape[1] != img_shape[2] or img_shape[1] not in sizes:
        allowed = ", ".join(f"{s}x{s}" for s in sizes)
        raise ConfigError(f"model {family!r}: images of shape {tuple(img_shape)} are not supported; it takes square images of {allowed} px")
    return img_shape[0], img_shape[1]


def check_conditional(family: str, num_classes: int, conditional: bool) -> None:
    """Conditional families need labels, unconditional ones refuse them; one clear line either way."""
    if conditional and num_classes <= 0:
        raise ConfigError(f"model {family!r} is class-conditional; set data.conditional=true on a labelled dataset, "
                          "or data.clusters=k to condition on clusters of D's features")
    if not conditional and num_classes > 0:
        raise ConfigError(f"model {family!r} is unconditional; set data.conditional=false or use {family}_cond")


def pack(x: torch.Tensor, pack_size: int) -> torch.Tensor:
    """Concatenate groups of ``pack_size`` consecutive samples along the feature axis.

    (B, C, ...) -> (B / pack_size, pack_size * C, ...). PacGAN (Lin et al. 2018):
    a discriminator that sees k samples at once can tell a collapsed generator
    from a diverse one, which punishes mode collapse.
    """
    if pack_size == 1:
        return x
    if x.shape[0] % pack_size:
        raise ConfigError(f"PacGAN: the batch of {x.shape[0]} is not a multiple of pack={pack_size}; change train.batch_size")
    return x.reshape(x.shape[0] // pack_size, pack_size * x.shape[1], *x.shape[2:])


def discrete_codes(z: torch.Tensor, components: int) -> torch.Tensor:
    """Categorical codes from Gaussian noise: ``floor(K * Phi(z))`` elementwise, uniform over 0..K-1 for z ~ N(0, 1).

    InfoGAN's discrete latent codes (Chen et al., NeurIPS 2016), read from coordinates of z so that z stays the
    generator's only input. z of any shape -> long tensor of the same shape.
    """
    u = 0.5 * (1 + torch.erf(z.float() / 2**0.5))  # uniform on [0, 1]
    return (u * components).long().clamp_(max=components - 1)


class Dropout(nn.Dropout):
    """``nn.Dropout`` (Srivastava et al., "Dropout: A Simple Way to Prevent Neural Networks from Overfitting",
    JMLR 2014), with a mask 5x cheaper to draw for bfloat16 activations (``train.precision: bf16``).

    PyTorch draws a CPU dropout mask with one ``bernoulli_`` per element, which here costs ~60x
    a bf16 multiply. For bf16 input, 16 random bits per element come from one full-range int64
    ``random_`` per four elements (the same global generator) and become the mask in integer
    arithmetic; each element is kept with probability 1 - p, p rounded to a multiple of 2^-15.
    float32 input takes ``F.dropout`` unchanged, so the default path's results do not move.
    """

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not (self.training and 0 < self.p < 1 and x.dtype == torch.bfloat16) or self.inplace:
            return super().forward(x)
        return x * bf16_dropout_mask(x.shape, self.p, x.device)


def bf16_dropout_mask(shape: torch.Size, p: float, device: torch.device) -> torch.Tensor:
    """A bf16 tensor of ``shape`` holding 0 (probability p, rounded to a multiple of 2^-15) or 1 / (1 - p)."""
    n = math.prod(shape)
    # random_(from=-2**63) covers all 64 bits; plain random_() leaves the top one 0, which would bias every 4th element.
    bits = torch.empty((n + 3) // 4, dtype=torch.int64, device=device).random_(-(2**63), None)
    r = bits.view(torch.int16)[:n] >> 1  # (n,) uniform on [-2^14, 2^14)
    threshold = round(p * 2**15) - 2**14  # r < threshold with probability round(p * 2^15) / 2^15
    dropped = (r - threshold) >> 15  # -1 where dropped, 0 where kept; no overflow: both terms lie in [-2^14, 2^14]
    scale = 1 / (1 - p)
    return dropped.to(torch.bfloat16).mul_(scale).add_(scale).reshape(shape)  # 0 where dropped, else 1 / (1 - p)


class MinibatchStdDev(nn.Module):
    """Append the mean over features of the per-group standard deviation as one extra channel.

    Karras et al. 2018, Sec. 3: samples are split into groups of ``group_size``; the
    standard deviation of each feature over a group, averaged over all features and
    positions, becomes a constant feature map for the members of that group. A
    collapsed generator makes it small, which D can see. Groups are runs of consecutive
    samples (the batch is shuffled, so any fixed split is a random one), so a batch
    [real; fake] whose halves :meth:`keeps_apart` gets the same features as two calls.
    (B, C, H, W) -> (B, C + 1, H, W); vectors (B, D) -> (B, D + 1).
    """

    def __init__(self, group_size: int = 4) -> None:
        super().__init__()
        self.group_size = group_size

    def group_for(self, batch: int) -> int:
        """The group size used for a batch: ``group_size``, or the largest divisor of ``batch`` below it."""
        group = min(self.group_size, batch)
        return next(g for g in range(group, 0, -1) if batch % g == 0)

    def keeps_apart(self, half: int) -> bool:
        """Whether a batch of 2 * ``half`` samples groups them as two calls on each half would."""
        return self.group_for(2 * half) == self.group_for(half)  # a divisor of half: no group straddles the halves

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        batch = x.shape[0]
        group = self.group_for(batch)
        y = x.reshape(batch // group, group, -1).float()  # (B / G, G, F) samples i and j share a group if i // G == j // G
        # The variance written out: torch.var over a middle dimension is ~40x slower on a CPU.
        var = (y - y.mean(dim=1, keepdim=True)).square().mean(dim=1)  # (B / G, F)
        std = (var + 1e-8).sqrt().mean(dim=1).to(x.dtype)  # (B / G,)
        feature = std.repeat_interleave(group)  # (B,)
        feature = feature.reshape(batch, 1, *([1] * (x.ndim - 2))).expand(batch, 1, *x.shape[2:])
        return torch.cat([x, feature], dim=1)


class ConditionalBatchNorm2d(nn.Module):
    """BatchNorm without its own affine part; scale and shift are looked up per class.

    (B, C, H, W), labels (B,) -> (B, C, H, W). Scales start at 1 and shifts at 0.
    """

    def __init__(self, channels: int, num_classes: int) -> None:
        super().__init__()
        self.norm = nn.BatchNorm2d(channels, affine=False)
        self.scale = nn.Embedding(num_classes, channels)
        self.shift = nn.Embedding(num_classes, channels)
        nn.init.ones_(self.scale.weight)
        nn.init.zeros_(self.shift.weight)

    def forward(self, x: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        h = self.norm(x)
        return h * self.scale(labels)[:, :, None, None] + self.shift(labels)[:, :, None, None]


class ProjectionHead(nn.Module):
    """Discriminator output for pooled features h (B, F): psi(h) + <embed(y), h> (Miyato & Koyama 2018, Eq. 3).

    With ``num_classes == 0`` it is a plain linear layer. With ``auxiliary`` it also
    returns class logits from a linear classifier (Odena et al., "Conditional Image
    Synthesis with Auxiliary Classifier GANs", ICML 2017), by default instead of
    projecting (``projection=True`` keeps both); with ``twin`` as well, a second
    classifier's logits follow in the same tensor, (B, 2K) (TAC-GAN, Gong et al.,
    "Twin Auxiliary Classifiers GAN", NeurIPS 2019).
    """

    def __init__(
        self, features: int, num_classes: int = 0, spectral: bool = True, auxiliary: bool = False, twin: bool = False,
        projection: bool | None = None,
    ) -> None:
        super().__init__()
        self.linear = sn(nn.Linear(features, 1), spectral)
        self.auxiliary = auxiliary and num_classes > 0
        self.embed = None
        self.classifier = None
        if self.auxiliary:
            # Two linear classifiers on the same features are one layer with 2K outputs.
            self.classifier = sn(nn.Linear(features, num_classes * (2 if twin else 1)), spectral)
        if num_classes > 0 and (not self.auxiliary if projection is None else projection):
            self.embed = sn(nn.Embedding(num_classes, features), spectral)

    def forward(self, h: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor | tuple[torch.Tensor, torch.Tensor]:
        logits = self.linear(h).squeeze(1)  # (B,)
        if self.embed is not None:
            logits = logits + (self.embed(labels) * h).sum(dim=1)
        if self.classifier is not None:
            return logits, self.classifier(h)  # (B,), (B, K) or (B, 2K) with the twin
        return logits


def upsampling_plan(size: int) -> tuple[int, int]:
    """(start size, number of 2x upsamplings) to reach ``size``: 28 -> (7, 2), 32 -> (4, 3), 64 -> (4, 4)."""
    start, steps = size, 0
    while start % 2 == 0 and start // 2 >= 4:
        start, steps = start // 2, steps + 1
    return start, steps


class SkipLayerExcitation(nn.Module):
    """Channel gates computed from a small feature map, applied to a larger one.

    Liu et al., "Towards Faster and Stabilized GAN Training for High-fidelity
    Few-shot Image Synthesis" (FastGAN), ICLR 2021, Sec. 3.1: the small map is
    pooled to 4x4, a 4x4 convolution and a 1x1 convolution give one sigmoid gate per
    channel of the large map. The gates carry global layout straight to the high
    resolutions and give their weights a short gradient path.
    small (B, C_s, s, s), big (B, C_b, S, S) -> (B, C_b, S, S).
    """

    def __init__(self, small_channels: int, big_channels: int) -> None:
        super().__init__()
        self.gate = nn.Sequential(
            nn.AdaptiveAvgPool2d(4),
            nn.Conv2d(small_channels, big_channels, 4, bias=False),  # (B, C_b, 1, 1)
            nn.SiLU(),
            nn.Conv2d(big_channels, big_channels, 1, bias=False),
            nn.Sigmoid(),
        )

    def forward(self, small: torch.Tensor, big: torch.Tensor) -> torch.Tensor:
        return big * self.gate(small)


class ReconstructionDecoder(nn.Module):
    """A small decoder that a self-supervised discriminator uses to redraw its input from its features.

    Liu et al. 2021 (FastGAN), Sec. 3.2 ("simple decoder"): nearest 2x upsampling,
    a 3x3 convolution and a gated linear unit per step, then a 3x3 convolution to the
    image channels and Tanh. No BatchNorm, so a discriminator carrying one can still
    judge real and fake images in one call.
    (B, C, s, s) -> (B, out_channels, s * 2**steps, s * 2**steps).
    """

    def __init__(self, in_channels: int, out_channels: int, width: int, steps: int = 2) -> None:
        super().__init__()
        layers: list[nn.Module] = []
        c = in_channels
        for k in range(steps):
            c_out = max(width // 2**k, 4)
            layers += [nn.Upsample(scale_factor=2, mode="nearest"), nn.Conv2d(c, 2 * c_out, 3, 1, 1), nn.GLU(dim=1)]
            c = c_out
        layers += [nn.Conv2d(c, out_channels, 3, 1, 1), nn.Tanh()]
        self.net = nn.Sequential(*layers)

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        return self.net(features)


class SelfSupervisedReconstruction(nn.Module):
    """The self-supervised loss of a discriminator that must redraw the real images it judges.

    Liu et al. 2021 (FastGAN), Sec. 3.2, Eq. 1: one decoder redraws the whole image
    from D's 8x8 features, another a random quarter of it from the matching quarter of
    D's 16x16 features; the loss (mean squared error here, LPIPS in the paper, which
    needs pretrained weights) is added to D's loss on real images only. A D that has to
    keep the content of its input cannot overfit a small training set by memorising a
    few cues. Targets are resized to the decoders' 32x32 output by area averaging.
    feat16 (B, C16, 16, 16), feat8 (B, C8, 8, 8), images (B, C, S, S) -> scalar.
    """

    output_size = 32

    def __init__(self, channels16: int, channels8: int, image_channels: int, width: int) -> None:
        super().__init__()
        self.whole = ReconstructionDecoder(channels8, image_channels, width)
        self.part = ReconstructionDecoder(channels16, image_channels, width)

    def forward(self, feat16: torch.Tensor, feat8: torch.Tensor, images: torch.Tensor) -> torch.Tensor:
        size = (self.output_size, self.output_size)
        quarter = int(torch.randint(4, (1,)))  # the global generator: saved and restored with every checkpoint
        row, col = divmod(quarter, 2)
        f, s = feat16.shape[-1] // 2, images.shape[-1] // 2
        part_features = feat16[..., row * f:(row + 1) * f, col * f:(col + 1) * f]  # (B, C16, 8, 8)
        part_images = images[..., row * s:(row + 1) * s, col * s:(col + 1) * s]  # (B, C, S/2, S/2)
        whole_target = F.interpolate(images.float(), size=size, mode="area")
        part_target = F.interpolate(part_images.float(), size=size, mode="area")
        return F.mse_loss(self.whole(feat8).float(), whole_target) + F.mse_loss(self.part(part_features).float(), part_target)
