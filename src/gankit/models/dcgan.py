"""DCGAN: all-convolutional generator and discriminator for 28, 32 and 64 px images.

Radford, Metz & Chintala, "Unsupervised Representation Learning with Deep
Convolutional Generative Adversarial Networks", ICLR 2016: strided (transposed)
4x4 convolutions instead of pooling, BatchNorm in both networks (optional here),
ReLU in G and LeakyReLU(0.2) in D, Tanh output. The generator starts from a
linear projection to a 7x7 (28 px) or 4x4 (32, 64 px) map and doubles the size
with each transposed convolution, halving the channels.

Two options borrow from FastGAN (Liu et al., ICLR 2021), made for small data sets:
``skip_excitation`` gates each generator map 4x larger than an earlier one with
channel weights computed from that earlier map, and ``reconstruction`` makes the
discriminator redraw the real images it judges from its 8x8 and 16x16 features.

The classes also serve the class-conditional variant (``dcgan_cond`` in
:mod:`gankit.models.conditional`) when built with ``num_classes > 0``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import torch
from torch import nn

from gankit.errors import ConfigError
from gankit.models import register_model
from gankit.models.base import DiscriminatorOutput, GANPair, head_output
from gankit.models.layers import (
    NORMS,
    ConditionalBatchNorm2d,
    MinibatchStdDev,
    ProjectionHead,
    SelfSupervisedReconstruction,
    SkipLayerExcitation,
    check_conditional,
    check_square_size,
    norm_2d,
    pack,
    sn,
    upsampling_plan,
)
from gankit.models.options import ClassHeadOptions, ModelOptions, option, refuse

SIZES = (28, 32, 64)
G_CONDITIONING = ("cbn", "embed")


class DCGANGenerator(nn.Module):
    """z (B, latent_dim) [, labels (B,)] -> images (B, C, S, S) in [-1, 1].

    Args:
        img_shape: (C, S, S) with S in 28, 32, 64.
        latent_dim: size of z.
        width: channels of the last hidden map; earlier maps have 2x, 4x, ... as many.
        norm: ``"batch"`` or ``"none"``.
        num_classes: > 0 for a class-conditional generator.
        conditioning: ``"cbn"`` (conditional BatchNorm; needs norm="batch") or
            ``"embed"`` (a label embedding concatenated to z).
        skip_excitation: FastGAN's skip-layer excitation (Liu et al. 2021) from every
            hidden map to the one 4x its size (64 px: 4 -> 16 and 8 -> 32).
        dense: > 0 puts a fully connected hidden layer of this size (with the same norm, ReLU) before the
            projection to the first map, as in InfoGAN's MNIST generator (Chen et al. 2016, appendix C.1).
    """

    def __init__(
        self, img_shape: tuple[int, int, int], latent_dim: int, width: int, norm: str,
        num_classes: int = 0, conditioning: str = "cbn", skip_excitation: bool = False, dense: int = 0,
    ) -> None:
        super().__init__()
        channels, size = img_shape[0], img_shape[1]
        self.img_shape, self.latent_dim, self.num_classes = tuple(img_shape), latent_dim, num_classes
        self.start, steps = upsampling_plan(size)
        self.use_cbn = num_classes > 0 and conditioning == "cbn"
        self.embed = nn.Embedding(num_classes, latent_dim) if num_classes > 0 and not self.use_cbn else None
        widths = [width * 2 ** (steps - 1 - i) for i in range(steps)]  # e.g. 32 px, width 64: [256, 128, 64]
        z_in = latent_dim * (2 if self.embed is not None else 1)
        self.dense: nn.Module = nn.Identity()  # z (B, z_in) -> (B, dense) when dense > 0
        if dense > 0:
            dense_norm = nn.BatchNorm1d(dense) if norm == "batch" else nn.Identity()
            self.dense = nn.Sequential(nn.Linear(z_in, dense, bias=norm != "batch"), dense_norm, nn.ReLU())
        self.project = nn.Linear(dense or z_in, widths[0] * self.start * self.start, bias=norm != "batch")
        self.norms = nn.ModuleList([self._norm(norm, widths[0])])
        self.ups = nn.ModuleList()
        for i in range(steps - 1):
            self.ups.append(nn.ConvTranspose2d(widths[i], widths[i + 1], 4, 2, 1, bias=norm != "batch"))
            self.norms.append(self._norm(norm, widths[i + 1]))
        self.to_image = nn.ConvTranspose2d(widths[-1], channels, 4, 2, 1)
        self.widths = widths
        # Hidden map i (size start * 2**i) gates map i + 2, keyed by the target's index.
        self.excite = nn.ModuleDict(
            {str(i + 2): SkipLayerExcitation(widths[i], widths[i + 2]) for i in range(steps - 2)} if skip_excitation else {}
        )

    def _norm(self, kind: str, channels: int) -> nn.Module:
        return ConditionalBatchNorm2d(channels, self.num_classes) if self.use_cbn else norm_2d(kind, channels)

    def _apply_norm(self, i: int, h: torch.Tensor, labels: torch.Tensor | None) -> torch.Tensor:
        return self.norms[i](h, labels) if self.use_cbn else self.norms[i](h)

    def forward(self, z: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        return torch.tanh(self.pre_activation(z, labels))  # (B, C, S, S)

    def pre_activation(self, z: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        """The output before the final Tanh, (B, C, S, S)."""
        assert z.ndim == 2 and z.shape[1] == self.latent_dim, f"expected z of shape (B, {self.latent_dim}), got {tuple(z.shape)}"
        assert (labels is not None) == (self.num_classes > 0), "labels must be given exactly when the generator is conditional"
        if self.embed is not None:
            z = torch.cat([z, self.embed(labels)], dim=1)  # (B, 2 * latent_dim)
        h = self.project(self.dense(z)).view(z.shape[0], self.widths[0], self.start, self.start)  # (B, 8w, s0, s0)
        h = torch.relu(self._apply_norm(0, h, labels))
        maps = [h]
        for i, up in enumerate(self.ups):
            h = torch.relu(self._apply_norm(i + 1, up(h), labels))  # (B, w_i, 2s, 2s)
            if str(i + 1) in self.excite:
                h = self.excite[str(i + 1)](maps[i - 1], h)  # gated by the map 4x smaller
            maps.append(h)
        return self.to_image(h)  # (B, C, S, S)


class DCGANDiscriminator(nn.Module):
    """images (B, C, S, S) [, labels (B,)] -> :class:`DiscriminatorOutput`: logits (B / pack,) [, class logits (B, K)].

    With ``reconstruct=n`` (a D built with ``reconstruction``) the output also holds the
    self-supervised reconstruction loss of the first n images (the real ones).

    Args:
        img_shape: (C, S, S) with S in 28, 32, 64.
        width: channels of the first convolution; each later one doubles them.
        norm: ``"batch"`` or ``"none"`` (never on the first layer, as in DCGAN).
        spectral_norm: spectral normalisation on every weight (Miyato et al. 2018).
        pack: PacGAN packing degree (Lin et al. 2018): D judges ``pack`` samples at once.
        mbstd_group: > 0 adds a minibatch standard-deviation channel (Karras et al. 2018).
        num_classes: > 0 for a projection (or auxiliary-classifier) discriminator.
        auxiliary: AC-GAN head (Odena et al. 2017) instead of projection.
        twin: with ``auxiliary``, a twin classifier for the fakes (TAC-GAN, Gong et al. 2019).
        projection: with ``auxiliary``, keep the projection term as well (both heads on the same features).
        reconstruction: FastGAN's self-supervised decoders on the 16x16 and 8x8 feature maps (Liu et al. 2021).
        dense: > 0 puts a fully connected hidden layer of this size (LeakyReLU) between the flattened maps and
            the head: a global judge on local features, as in InfoGAN's MNIST discriminator (Chen et al. 2016,
            appendix C.1) and the MNIST/Fashion networks of Lucic et al. 2018 ("Are GANs Created Equal?").
    """

    # Whether the head has the AC-GAN classifier (and the TAC-GAN twin).
    auxiliary_classifier: bool = False
    twin_classifier: bool = False

    def __init__(
        self, img_shape: tuple[int, int, int], width: int, norm: str, spectral_norm: bool = False,
        pack: int = 1, mbstd_group: int = 0, num_classes: int = 0, auxiliary: bool = False, twin: bool = False,
        projection: bool | None = None, reconstruction: bool = False, dense: int = 0,
    ) -> None:
        super().__init__()
        channels, size = img_shape[0], img_shape[1]
        self.img_shape, self.pack_size, self.num_classes = tuple(img_shape), pack, num_classes
        self.auxiliary_classifier = auxiliary and num_classes > 0
        self.twin_classifier = twin and self.auxiliary_classifier
        start, steps = upsampling_plan(size)
        layers: list[nn.Module] = [sn(nn.Conv2d(channels * pack, width, 4, 2, 1), spectral_norm), nn.LeakyReLU(0.2)]
        w = width
        for _ in range(steps - 1):
            layers += [sn(nn.Conv2d(w, 2 * w, 4, 2, 1, bias=norm != "batch"), spectral_norm), norm_2d(norm, 2 * w), nn.LeakyReLU(0.2)]
            w *= 2
        if mbstd_group > 0:
            layers.append(MinibatchStdDev(mbstd_group))
            w += 1
        features = w * start * start
        tail: list[nn.Module] = [nn.Flatten()]  # (B, w * s0 * s0)
        if dense > 0:
            tail += [sn(nn.Linear(features, dense), spectral_norm), nn.LeakyReLU(0.2)]  # (B, dense)
            features = dense
        self.features = nn.Sequential(*layers, *tail)
        self.hidden_width = features
        self.head = ProjectionHead(features, num_classes, spectral_norm, auxiliary, twin, projection)
        # The maps after the activations at 16x16 and 8x8 (64 px: the 2nd and 3rd; 32 px: the 1st and 2nd).
        self.reconstruction = None
        if reconstruction:
            acts = [i for i, m in enumerate(layers) if isinstance(m, nn.LeakyReLU)]
            first = len(acts) - 3  # the activations are at sizes ..., 16, 8, 4
            self.map_layers = (acts[first], acts[first + 1])
            self.reconstruction = SelfSupervisedReconstruction(width * 2 ** first, width * 2 ** (first + 1), channels, max(width // 2, 4))

    def forward(self, images: torch.Tensor, labels: torch.Tensor | None = None, reconstruct: int = 0) -> DiscriminatorOutput:
        assert tuple(images.shape[1:]) == self.img_shape, f"expected images of shape (B, {self.img_shape}), got {tuple(images.shape)}"
        if not reconstruct:
            h = self.features(pack(images, self.pack_size))  # (B / pack, F)
            return head_output(self.head(h, labels), self.twin_classifier)  # (B / pack,) [, (B, K)]
        assert self.reconstruction is not None, "reconstruct needs a discriminator built with reconstruction=True"
        h, maps = images, []
        for i, layer in enumerate(self.features):
            h = layer(h)
            if i in self.map_layers:
                maps.append(h[:reconstruct])  # (n, C, 16, 16), then (n, 2C, 8, 8)
        return head_output(self.head(h, labels), self.twin_classifier, self.reconstruction(maps[0], maps[1], images[:reconstruct]))

    def hidden(self, images: torch.Tensor) -> torch.Tensor:
        """images (B, C, S, S) -> the flattened features (B / pack, F) that an unconditional ``logit`` reads."""
        return self.features(pack(images, self.pack_size))

    def logit(self, hidden: torch.Tensor) -> torch.Tensor:
        """(B / pack, F) -> logits (B / pack,) of an unconditional D: ``forward(x) == logit(hidden(x))``."""
        return self.head(hidden, None)


@dataclass(frozen=True)
class DCGANNetworkOptions(ModelOptions):
    """The options of a DCGAN generator and discriminator, in every family built from them."""

    g_width: int = option(64, min=1)
    """Channels of the DCGAN generator's last hidden map; each map before it has twice as many (at 32 px and width
    64: 256, 128, 64)."""
    d_width: int = option(64, min=1)
    """Channels of the DCGAN discriminator's first convolution; each later one doubles them."""
    g_norm: str = option("batch", choices=NORMS)
    """Normalisation in the DCGAN generator: ``batch`` (BatchNorm, as in DCGAN) or ``none``."""
    d_norm: str = option("batch", choices=NORMS)
    """Normalisation after each DCGAN discriminator convolution but the first: ``batch`` or ``none``."""
    spectral_norm: bool = False
    """Spectral normalisation on every weight of the DCGAN discriminator (Miyato et al., ICLR 2018)."""
    mbstd_group: int = option(0, min=0)
    """> 0: the DCGAN discriminator appends a minibatch standard-deviation channel over groups of this many images
    to its last map (Karras et al., ICLR 2018); 0 is off."""


@dataclass(frozen=True)
class DCGANBaseOptions(DCGANNetworkOptions):
    """The options ``dcgan`` and ``dcgan_cond`` share."""

    skip_excitation: bool = False
    """FastGAN's skip-layer excitation (Liu et al., ICLR 2021): channel weights computed from each hidden map of the
    generator gate the map 4x its size. 32 and 64 px only."""
    reconstruction: bool = False
    """FastGAN's self-supervised discriminator (Liu et al., ICLR 2021): small decoders redraw the real images from
    D's 16x16 and 8x8 feature maps, and D also minimises their reconstruction loss (``reg.recon_weight``). 32 and
    64 px only, ``pack`` 1."""


@dataclass(frozen=True)
class DCGANOptions(DCGANBaseOptions):
    """``dcgan``: the all-convolutional GAN of Radford et al. (ICLR 2016) for 28, 32 and 64 px images."""

    pack: int = option(1, min=1)
    """PacGAN packing (Lin et al., NeurIPS 2018): D judges this many images at once, stacked along the channels;
    1 is off. ``train.batch_size`` must be a multiple of it."""
    g_dense: int = option(0, min=0)
    """> 0: a fully connected hidden layer of this size (with ``g_norm``, ReLU) between z and the projection to the
    first map, as in InfoGAN's MNIST generator (Chen et al. 2016, appendix C.1); 0 is none."""
    d_dense: int = option(0, min=0)
    """> 0: a fully connected hidden layer of this size (LeakyReLU 0.2) between D's flattened maps and its output, a
    global judge of local features (InfoGAN's MNIST discriminator; Lucic et al. 2018); 0 is none."""

    # An unconditional pair: the class conditioning and class head are those of no classes.
    conditioning: ClassVar[str] = "cbn"
    auxiliary: ClassVar[bool] = False
    twin: ClassVar[bool] = False
    projection: ClassVar[bool | None] = None

    def check(self) -> None:
        super().check()
        if self.reconstruction and self.pack > 1:
            raise refuse("pack", self.pack, "reconstruction=true needs pack=1 (the decoders redraw single images)")


@dataclass(frozen=True)
class DCGANCondOptions(ClassHeadOptions, DCGANBaseOptions):
    """``dcgan_cond``: the class-conditional DCGAN, G with conditional BatchNorm or a label embedding, D with a
    projection, AC-GAN or TAC-GAN head (see :mod:`gankit.models.conditional`)."""

    # A spectrally normalised D without BatchNorm by default, as the projection discriminator of Miyato & Koyama.
    d_norm: str = option("none", choices=NORMS)
    spectral_norm: bool = True
    conditioning: str = option("cbn", choices=G_CONDITIONING)
    """How the generator reads the label: ``cbn``, conditional BatchNorm, a per-class scale and shift (de Vries et
    al. 2017; needs ``g_norm: batch``), or ``embed``, a learned label embedding concatenated to z."""

    # A conditional pair: one image per judgement, no fully connected hidden layers.
    pack: ClassVar[int] = 1
    g_dense: ClassVar[int] = 0
    d_dense: ClassVar[int] = 0

    def check(self) -> None:
        super().check()
        if self.conditioning == "cbn" and self.g_norm != "batch":
            raise refuse("g_norm", self.g_norm, "conditioning='cbn' needs g_norm='batch'; use conditioning='embed' with g_norm='none'")


def build_dcgan(family: str, img_shape, latent_dim: int, num_classes: int, options: DCGANOptions | DCGANCondOptions) -> GANPair:
    """The DCGAN pair of ``dcgan`` (``num_classes`` 0) and ``dcgan_cond``, once the image size is checked."""
    check_square_size(family, img_shape, SIZES)
    if options.skip_excitation and img_shape[1] < 32:
        raise ConfigError(f"model {family!r}: skip_excitation needs images of 32 or 64 px (at {img_shape[1]} px no map is 4x another)")
    if options.reconstruction and img_shape[1] < 32:
        raise ConfigError(f"model {family!r}: reconstruction needs images of 32 or 64 px (its decoders read 16x16 and 8x8 maps), "
                          f"got {img_shape[1]} px")
    o = options
    return GANPair(
        generator=DCGANGenerator(img_shape, latent_dim, o.g_width, o.g_norm, num_classes, o.conditioning, o.skip_excitation, o.g_dense),
        discriminator=DCGANDiscriminator(img_shape, o.d_width, o.d_norm, o.spectral_norm, o.pack, o.mbstd_group, num_classes, o.auxiliary,
                                          o.twin, o.projection, o.reconstruction, o.d_dense),
    )


@register_model("dcgan")
def dcgan(img_shape: tuple[int, int, int], latent_dim: int, num_classes: int, options: DCGANOptions) -> GANPair:
    """DCGAN (Radford et al. 2016) for 28/32/64 px; optional SN, PacGAN packing and minibatch-stddev in D,
    FastGAN's skip-layer excitation in G and self-supervised reconstruction in D (Liu et al. 2021), and
    InfoGAN-style fully connected hidden layers (``g_dense``, ``d_dense``; Chen et al. 2016)."""
    check_conditional("dcgan", num_classes, conditional=False)
    return build_dcgan("dcgan", img_shape, latent_dim, 0, options)


dcgan.tiny_kwargs = {"img_shape": (1, 28, 28), "options": {"g_width": 8, "d_width": 8}}
