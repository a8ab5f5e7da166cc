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
became the digit; here (``benchmarks/code_digits.py`` measures it) it becomes the
digit of 70% of the samples, some digits taking two values and some none, and on
Stacked MNIST three codes track the three channels' digits for a third of the
samples only.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from gankit.errors import ConfigError
from gankit.models import register_model
from gankit.models.base import DiscriminatorOutput, GANPair
from gankit.models.dcgan import SIZES, DCGANDiscriminator, DCGANGenerator, DCGANNetworkOptions
from gankit.models.layers import NORMS, check_conditional, check_square_size, discrete_codes, pack, sn
from gankit.models.mlp import MLPConditionalDiscriminator, MLPDiscriminator, MLPGenerator
from gankit.models.options import option, refuse

ARCHS = ("mlp", "dcgan")
D_ARCHS = (*ARCHS, "mlp+dcgan")


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


@dataclass(frozen=True)
class HybridBaseOptions(DCGANNetworkOptions):
    """The options ``hybrid`` and ``hybrid_cond`` share: which network each half is, and the sizes of each kind."""

    generator: str = option("mlp", choices=ARCHS)
    """The generator: ``mlp``, fully connected (``g_hidden``), or ``dcgan``, convolutional (``g_width``, ``g_norm``)."""
    discriminator: str = option("dcgan", choices=D_ARCHS)
    """The discriminator: ``mlp`` (``d_hidden``, ``dropout``), ``dcgan`` (``d_width``, ``d_norm``, ``spectral_norm``)
    or ``mlp+dcgan``, both, their logits summed (global plus local, Iizuka et al. 2017)."""
    g_hidden: tuple[int, ...] = option((256, 512, 1024), min=1)
    """An MLP generator's hidden widths, from z to the image (each Linear, then LeakyReLU 0.2)."""
    d_hidden: tuple[int, ...] = option((512, 256), min=1)
    """An MLP discriminator's hidden widths, from the image to the logit (each Linear, LeakyReLU 0.2, dropout)."""
    dropout: float = option(0.3, min=0, max=1)
    """Dropout probability after each hidden layer of an MLP discriminator (Srivastava et al. 2014)."""
    # A narrow discriminator, spectrally normalised instead of batch normalised.
    d_width: int = option(32, min=1)
    d_norm: str = option("none", choices=NORMS)
    spectral_norm: bool = True

    def check(self) -> None:
        super().check()
        if self.mbstd_group > 0 and self.discriminator == "mlp":
            raise refuse("mbstd_group", self.mbstd_group, "mbstd_group > 0 needs a 'dcgan' or 'mlp+dcgan' discriminator; "
                         "use 0 with discriminator 'mlp'")


@dataclass(frozen=True)
class HybridOptions(HybridBaseOptions):
    """``hybrid``: an MLP or DCGAN generator against an MLP, DCGAN or summed discriminator, with PacGAN packing
    and InfoGAN codes."""

    pack: int = option(1, min=1)
    """PacGAN packing (Lin et al., NeurIPS 2018): D judges this many images at once, stacked along the channels;
    1 is off. ``train.batch_size`` must be a multiple of it."""
    components: int = option(0, min=0)
    """> 0: G reads ``codes`` categorical codes of this many equally likely values from the first coordinates of z,
    and a head on D's features predicts them (InfoGAN, Chen et al. 2016; ``reg.info_weight``). At least 2, with
    ``pack`` 1 and ``model.latent_dim`` > ``codes``; 0 is off."""
    codes: int = 1
    """How many categorical codes G reads when ``components`` > 0."""
    code_from: str = option("all", choices=("all", *ARCHS))
    """Which judges' features the code head reads: ``all``, or only the ``mlp`` or the ``dcgan`` one of an
    ``mlp+dcgan`` discriminator (with ``spectral_norm``, a Lipschitz code head)."""

    def check(self) -> None:
        super().check()
        if self.components == 1:
            raise refuse("components", self.components, "components must be 0 (no code) or a whole number >= 2")
        if self.codes < 1:
            raise refuse("codes", self.codes, "codes must be a whole number >= 1, the number of codes of `components` values")
        if self.components and self.pack > 1:
            raise refuse("pack", self.pack, f"components={self.components} (InfoGAN codes) needs pack=1")
        judges = self.discriminator.split("+")
        if self.components and self.code_from != "all" and self.code_from not in judges:
            raise refuse("code_from", self.code_from, f"code_from must be 'all' or a judge of discriminator "
                         f"{self.discriminator!r}: {', '.join(judges)}")


@register_model("hybrid")
def hybrid(img_shape: tuple[int, int, int], latent_dim: int, num_classes: int, options: HybridOptions) -> GANPair:
    """G and D each an MLP (``g_hidden``/``d_hidden``, ``dropout``) or a DCGAN half (``g_width``/``d_width``,
    ``g_norm``/``d_norm``, ``spectral_norm`` on D); D may also be ``"mlp+dcgan"``, the sum of both logits, and any D
    may judge ``pack`` images at once (PacGAN). ``mbstd_group`` > 0 gives a DCGAN D the minibatch standard-deviation
    channel (Karras et al. 2018). ``components`` > 0 gives G ``codes`` categorical codes of that many values and D a
    head that predicts them (InfoGAN; see the module docstring) from the features of ``code_from``: every judge of D
    (``"all"``), or only its ``"mlp"`` or ``"dcgan"`` one (with ``spectral_norm``, a Lipschitz Q)."""
    check_conditional("hybrid", num_classes, conditional=False)
    o = options
    if o.components and latent_dim <= o.codes:
        raise ConfigError(f"model 'hybrid': components={o.components} with codes={o.codes} needs model.latent_dim > codes, "
                          f"got {latent_dim}")
    if o.generator == "dcgan" or o.discriminator != "mlp":
        check_square_size("hybrid", img_shape, SIZES)
    g_latent = latent_dim - o.codes + o.codes * o.components if o.components else latent_dim  # the codes enter one-hot
    g: nn.Module = (
        MLPGenerator(img_shape, g_latent, o.g_hidden) if o.generator == "mlp"
        else DCGANGenerator(img_shape, g_latent, o.g_width, o.g_norm)
    )
    if o.components:
        g = CodedGenerator(g, latent_dim, o.codes, o.components)
    d_shape = (img_shape[0] * o.pack, *img_shape[1:])  # D's input: pack images stacked along the channels
    d: nn.Module
    if o.discriminator == "mlp":
        d = MLPDiscriminator(d_shape, o.d_hidden, o.dropout)
    elif o.discriminator == "dcgan":
        d = DCGANDiscriminator(d_shape, o.d_width, o.d_norm, o.spectral_norm, mbstd_group=o.mbstd_group)
    else:  # "mlp+dcgan"
        d = SumDiscriminator(
            MLPDiscriminator(d_shape, o.d_hidden, o.dropout), DCGANDiscriminator(d_shape, o.d_width, o.d_norm, o.spectral_norm, mbstd_group=o.mbstd_group)
        )
    if o.components:
        kinds = o.discriminator.split("+")  # the judges, in the order the sum D holds them: mlp (global), dcgan (local)
        judges = [d.global_d, d.local_d] if isinstance(d, SumDiscriminator) else [d]
        readers = [i for i, kind in enumerate(kinds) if o.code_from in ("all", kind)]
        d = InfoDiscriminator(judges, readers, o.codes, o.components, o.spectral_norm)
    if o.pack > 1:
        d = PackedDiscriminator(d, o.pack)
    return GANPair(generator=g, discriminator=d)


hybrid.tiny_kwargs = {"img_shape": (1, 28, 28), "options": {"g_hidden": [16], "d_width": 8}}


@dataclass(frozen=True)
class HybridCondOptions(HybridBaseOptions):
    """``hybrid_cond``: the class-conditional ``hybrid``, every judge of D with a projection head."""

    generator: str = option("dcgan", choices=ARCHS)
    """The generator: ``dcgan`` (conditional BatchNorm or an embedding, ``conditioning``) or ``mlp`` (reading the
    one-hot class next to z)."""
    discriminator: str = option("mlp+dcgan", choices=D_ARCHS)
    """The discriminator: ``mlp``, ``dcgan`` or ``mlp+dcgan`` (both, their logits summed), each with a projection
    head."""
    conditioning: str = option("cbn", choices=("cbn", "embed"))
    """How a DCGAN generator reads the class: ``cbn``, conditional BatchNorm (de Vries et al. 2017), or ``embed``,
    a learned class embedding concatenated to z."""


@register_model("hybrid_cond")
def hybrid_cond(img_shape: tuple[int, int, int], latent_dim: int, num_classes: int, options: HybridCondOptions) -> GANPair:
    """Class-conditional ``hybrid``: a DCGAN G with conditional BatchNorm (``conditioning: cbn``; de Vries et al.
    2017) or a class embedding beside z (``embed``), or an MLP G reading the one-hot class; every judge of D has a
    projection head (Miyato & Koyama, "cGANs with Projection Discriminator", ICLR 2018), and ``mlp+dcgan`` sums them."""
    check_conditional("hybrid_cond", num_classes, conditional=True)
    o = options
    if o.generator == "dcgan" or o.discriminator != "mlp":
        check_square_size("hybrid_cond", img_shape, SIZES)
    g: nn.Module = (
        MLPGenerator(img_shape, latent_dim, o.g_hidden, num_classes) if o.generator == "mlp"
        else DCGANGenerator(img_shape, latent_dim, o.g_width, o.g_norm, num_classes=num_classes, conditioning=o.conditioning)
    )
    judges = []
    if o.discriminator in ("mlp", "mlp+dcgan"):
        judges.append(MLPConditionalDiscriminator(img_shape, num_classes, o.d_hidden, o.dropout))
    if o.discriminator in ("dcgan", "mlp+dcgan"):
        judges.append(DCGANDiscriminator(img_shape, o.d_width, o.d_norm, o.spectral_norm, mbstd_group=o.mbstd_group, num_classes=num_classes))
    d = SumDiscriminator(*judges) if len(judges) == 2 else judges[0]
    return GANPair(generator=g, discriminator=d)


hybrid_cond.tiny_kwargs = {"img_shape": (1, 28, 28), "num_classes": 3, "options": {"g_width": 8, "d_hidden": [16], "d_width": 8}}
