"""Class-conditional variants of the DCGAN and ResNet families.

Called as ``generator(z, labels)`` and ``discriminator(images, labels)`` (the
trainer does so when ``data.conditional`` is true).

- Generator: conditional BatchNorm, per-class scale and shift (de Vries et al.
  2017; Miyato & Koyama 2018), or for DCGAN a label embedding concatenated to z.
- Discriminator: the projection discriminator (Miyato & Koyama, "cGANs with
  Projection Discriminator", ICLR 2018), or with ``auxiliary=True`` an auxiliary
  classifier (Odena et al., "Conditional Image Synthesis with Auxiliary Classifier
  GANs", ICML 2017): D then returns ``(logits, class_logits)`` and the trainer adds
  the cross-entropy of the class logits to both players' losses. AC-GAN's
  generator learns a distribution biased towards easily classified samples; with
  ``twin=True`` a second classifier learns the classes of the fakes, and G also
  maximises its cross-entropy, which removes that bias (TAC-GAN, Gong et al.,
  "Twin Auxiliary Classifiers GAN", NeurIPS 2019, Eq. 9). ``projection=True`` with
  ``auxiliary=True`` keeps the projection term next to the classifier.
"""

from __future__ import annotations

from gankit.models import register_model
from gankit.models.base import GANPair
from gankit.models.dcgan import DCGANCondOptions, build_dcgan
from gankit.models.layers import check_conditional
from gankit.models.resnet import ResNetCondOptions, build_resnet


@register_model("dcgan_cond")
def dcgan_cond(img_shape: tuple[int, int, int], latent_dim: int, num_classes: int, options: DCGANCondOptions) -> GANPair:
    """Conditional DCGAN: G with conditional BN (or a z-embedding), D with a projection (or AC-GAN / TAC-GAN) head;
    FastGAN's skip-layer excitation and self-supervised D (Liu et al. 2021) as in ``dcgan``."""
    check_conditional("dcgan_cond", num_classes, conditional=True)
    return build_dcgan("dcgan_cond", img_shape, latent_dim, num_classes, options)


dcgan_cond.tiny_kwargs = {"img_shape": (1, 28, 28), "num_classes": 3, "options": {"g_width": 8, "d_width": 8}}


@register_model("resnet_cond")
def resnet_cond(img_shape: tuple[int, int, int], latent_dim: int, num_classes: int, options: ResNetCondOptions) -> GANPair:
    """Conditional SNGAN ResNet: conditional BN in G, projection (or AC-GAN / TAC-GAN) head in D."""
    check_conditional("resnet_cond", num_classes, conditional=True)
    return build_resnet("resnet_cond", img_shape, latent_dim, num_classes, options)


resnet_cond.tiny_kwargs = {"img_shape": (3, 32, 32), "num_classes": 3, "options": {"g_width": 4, "d_width": 4}}
