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

``components=K`` (with ``codes=n``, default 1) gives the generator n categorical
codes of K equally likely values, read from the first n coordinates of z, and D a
linear head on its last hidden features that predicts them: InfoGAN (Chen et al.,
"InfoGAN: Interpretable Representation Learning by Information Maximizing
Generative Adversarial Nets", NeurIPS 2016). Both networks minimise the code's
cross-entropy (``reg.info_weight``), so each code value comes to mean something
G draws, in the share the code is drawn. In the paper a 10-valued code on MNIST
became the digit; here (``benchmarks/code_digits.py``) it became the digit of 70%
of the samples, some digits taking two values and some none, and on Stacked MNIST
three codes tracked the three channels' digits for a third of the samples only
(BENCHMARKS.md, [models] fifteenth session).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from gankit.errors import ConfigError
from gankit.models import register_model
from gankit.models.base import DiscriminatorOutput, GANPair
from gankit.models.dcgan import SIZES, DCGANDiscriminator, DCGANGenerator
from gankit.models.layers import check_choice, check_conditional, check_pack, check_square_size, discrete_codes, pack, sn
from gankit.models.mlp import MLPConditionalDiscriminator, MLPDiscriminator, MLPGenerator

ARCHS = ("mlp", "dcgan")
D_ARCHS = (*ARCHS, "mlp+dcgan")


def _check_mbstd(mbstd_group: int, discriminator: str) -> None:
    if mbstd_group < 0 or (mbstd_group > 0 and discriminator == "mlp"):
        raise ConfigError(f"model.options.mbstd_group: {mbstd_group} is not allowed with discriminator {discriminator!r}; "
                          "use 0, or a positive group size with a 'dcgan' or 'mlp+dcgan' discriminator")


class SumDiscriminator(nn.Module):
    """images (B, C, H, W) [, labels (B,)] -> logits (B,): the sum of a global and a local discriminator's logits
    (each with its own projection head when conditional)."""

    def __init__(self, global_d: nn.Module, local_d: nn.Module) -> None:
        super().__init__()
        self.global_d, self.local_d = global_d, local_d
        self.hidden_width = global_d.hidden_width + local_d.hidden_width

    def forward(self, images: torch.Tensor, labels: torch.Tensor | None = None) -> DiscriminatorOutput:
        if labels is None:
            return DiscriminatorOutput(self.global_d(images).logits + self.local_d(images).logits)  # (B,)
        return DiscriminatorOutput(self.global_d(images, labels).logits + self.local_d(images, labels).logits)  # (B,)

    def hidden(self, images: torch.Tensor) -> torch.Tensor:
        """images (B, C, H, W) -> both judges' last hidden features side by side (B, H_global + H_local)."""
        return torch.cat([self.global_d.hidden(images), self.local_d.hidden(images)], dim=1)


class PackedDiscriminator(nn.Module):
    """images (B, C, H, W) -> logits (B / pack,): ``inner``, built for (pack * C, H, W), judges ``pack`` images at once."""

    def __init__(self, inner: nn.Module, pack_size: int) -> None:
        super().__init__()
        self.inner, self.pack_size = inner, pack_size

    def forward(self, images: torch.Tensor) -> DiscriminatorOutput:
        return self.inner(pack(images, self.pack_size))  # logits (B / pack,)


class CodedGenerator(nn.Module):
    """z (B, latent_dim) -> images (B, C, H, W): ``inner`` reads ``codes`` categorical codes one-hot in place of z's
    first ``codes`` coordinates (InfoGAN's c, drawn from z so that z stays G's only input)."""

    def __init__(self, inner: nn.Module, latent_dim: int, codes: int, components: int) -> None:
        super().__init__()
        self.inner, self.latent_dim, self.codes, self.components = inner, latent_dim, codes, components
        self.img_shape = inner.img_shape

    def code(self, z: torch.Tensor) -> torch.Tensor:
        """(B, codes) values in 0..K-1 that z (B, latent_dim) selects: ``floor(K * Phi(z[:, :codes]))``."""
        return discrete_codes(z[:, : self.codes], self.components)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        assert z.ndim == 2 and z.shape[1] == self.latent_dim, f"expected z of shape (B, {self.latent_dim}), got {tuple(z.shape)}"
        one_hot = F.one_hot(self.code(z), self.components).flatten(1).to(z.dtype)  # (B, codes * K)
        return self.inner(torch.cat([one_hot, z[:, self.codes :]], dim=1))  # inner z: (B, codes * K + L - codes)


class InfoDiscriminator(nn.Module):
    """images (B, C, H, W) -> :class:`DiscriminatorOutput`: logits (B,), code logits (B, K, codes).

    The sum of its judges' logits (one judge: that D alone), and InfoGAN's Q network: a linear
    head on the last hidden features of the judges ``readers`` names, concatenated, sharing D's
    layers as in Chen et al. (2016). With ``spectral_norm`` the head is spectrally normalised, so
    a Q on a spectrally normalised judge is Lipschitz in the image: to be told apart, the code's
    values must draw images far apart, not hide in faint pixel patterns.
    """

    def __init__(self, judges: list[nn.Module], readers: list[int], codes: int, components: int, spectral_norm: bool) -> None:
        super().__init__()
        self.judges, self.readers = nn.ModuleList(judges), readers
        self.codes, self.code_components = codes, components
        self.code_head = sn(nn.Linear(sum(judges[i].hidden_width for i in readers), codes * components), spectral_norm)

    def forward(self, images: torch.Tensor) -> DiscriminatorOutput:
        hidden = [judge.hidden(images) for judge in self.judges]  # (B, H_j) each
        logits = sum(judge.logit(h) for judge, h in zip(self.judges, hidden, strict=True))  # (B,)
        read = torch.cat([hidden[i] for i in self.readers], dim=1)  # (B, sum of the readers' H_j)
        codes = self.code_head(read).view(images.shape[0], self.codes, self.code_components)
        return DiscriminatorOutput(logits, code_logits=codes.transpose(1, 2))  # (B,), (B, K, codes): the layout cross_entropy takes


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
    components: int = 0,
    codes: int = 1,
    code_from: str = "all",
) -> GANPair:
    """G and D each an MLP (``g_hidden``/``d_hidden``, ``dropout``) or a DCGAN half (``g_width``/``d_width``,
    ``g_norm``/``d_norm``, ``spectral_norm`` on D); D may also be ``"mlp+dcgan"``, the sum of both logits, and any D
    may judge ``pack`` images at once (PacGAN). ``mbstd_group`` > 0 gives a DCGAN D the minibatch standard-deviation
    channel (Karras et al. 2018). ``components`` > 0 gives G ``codes`` categorical codes of that many values and D a
    head that predicts them (InfoGAN; see the module docstring) from the features of ``code_from``: every judge of D
    (``"all"``), or only its ``"mlp"`` or ``"dcgan"`` one (with ``spectral_norm``, a Lipschitz Q)."""
    check_conditional("hybrid", num_classes, conditional=False)
    check_pack("hybrid", pack, num_classes)
    check_choice("generator", generator, ARCHS)
    check_choice("discriminator", discriminator, D_ARCHS)
    _check_mbstd(mbstd_group, discriminator)
    if components < 0 or components == 1 or codes < 1 or (components and (pack > 1 or latent_dim <= codes)):
        raise ConfigError(
            f"model 'hybrid': components must be 0 (no code) or at least 2, with codes >= 1, latent_dim > codes and pack 1; "
            f"got components={components}, codes={codes}, latent_dim={latent_dim}, pack={pack}"
        )
    check_choice("code_from", code_from, ("all", *ARCHS))
    if components and code_from != "all" and code_from not in discriminator.split("+"):
        raise ConfigError(f"model.options.code_from: {code_from!r} is not a judge of discriminator {discriminator!r}; "
                          f"use 'all' or one of: {', '.join(discriminator.split('+'))}")
    if generator == "dcgan" or discriminator != "mlp":
        check_square_size("hybrid", img_shape, SIZES)
    g_latent = latent_dim - codes + codes * components if components else latent_dim  # the codes enter one-hot
    g: nn.Module = (
        MLPGenerator(img_shape, g_latent, tuple(g_hidden)) if generator == "mlp"
        else DCGANGenerator(img_shape, g_latent, g_width, g_norm)
    )
    if components:
        g = CodedGenerator(g, latent_dim, codes, components)
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
    if components:
        kinds = discriminator.split("+")  # the judges, in the order the sum D holds them: mlp (global), dcgan (local)
        judges = [d.global_d, d.local_d] if isinstance(d, SumDiscriminator) else [d]
        readers = [i for i, kind in enumerate(kinds) if code_from in ("all", kind)]
        d = InfoDiscriminator(judges, readers, codes, components, spectral_norm)
    if pack > 1:
        d = PackedDiscriminator(d, pack)
    return GANPair(generator=g, discriminator=d)


hybrid.tiny_kwargs = {"img_shape": (1, 28, 28), "options": {"g_hidden": [16], "d_width": 8}}


@register_model("hybrid_cond")
def hybrid_cond(
    img_shape: tuple[int, int, int],
    latent_dim: int,
    num_classes: int = 0,
    *,
    generator: str = "dcgan",
    discriminator: str = "mlp+dcgan",
    g_hidden: tuple[int, ...] = (256, 512, 1024),
    d_hidden: tuple[int, ...] = (512, 256),
    dropout: float = 0.3,
    g_width: int = 64,
    d_width: int = 32,
    g_norm: str = "batch",
    d_norm: str = "none",
    spectral_norm: bool = True,
    mbstd_group: int = 0,
    conditioning: str = "cbn",
) -> GANPair:
    """Class-conditional ``hybrid``: a DCGAN G with conditional BatchNorm (``conditioning: cbn``; de Vries et al.
    2017) or a class embedding beside z (``embed``), or an MLP G reading the one-hot class; every judge of D has a
    projection head (Miyato & Koyama, "cGANs with Projection Discriminator", ICLR 2018), and ``mlp+dcgan`` sums them."""
    check_conditional("hybrid_cond", num_classes, conditional=True)
    check_choice("generator", generator, ARCHS)
    check_choice("discriminator", discriminator, D_ARCHS)
    check_choice("conditioning", conditioning, ("cbn", "embed"))
    _check_mbstd(mbstd_group, discriminator)
    if generator == "dcgan" or discriminator != "mlp":
        check_square_size("hybrid_cond", img_shape, SIZES)
    g: nn.Module = (
        MLPGenerator(img_shape, latent_dim, tuple(g_hidden), num_classes) if generator == "mlp"
        else DCGANGenerator(img_shape, latent_dim, g_width, g_norm, num_classes=num_classes, conditioning=conditioning)
    )
    judges = []
    if discriminator in ("mlp", "mlp+dcgan"):
        judges.append(MLPConditionalDiscriminator(img_shape, num_classes, tuple(d_hidden), dropout))
    if discriminator in ("dcgan", "mlp+dcgan"):
        judges.append(DCGANDiscriminator(img_shape, d_width, d_norm, spectral_norm, mbstd_group=mbstd_group, num_classes=num_classes))
    d = SumDiscriminator(*judges) if len(judges) == 2 else judges[0]
    return GANPair(generator=g, discriminator=d)


hybrid_cond.tiny_kwargs = {"img_shape": (1, 28, 28), "num_classes": 3, "options": {"g_width": 8, "d_hidden": [16], "d_width": 8}}
