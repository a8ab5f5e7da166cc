"""Class-prediction losses of a discriminator with a classifier head: pure functions of class logits.

AC-GAN: Odena, Olah & Shlens, "Conditional Image Synthesis with Auxiliary Classifier
GANs", ICML 2017 (Sec. 3): D's classifier learns the classes of real and fake
images, G makes its fakes easy to classify as the class they were drawn for.
TAC-GAN: Gong et al., "Twin Auxiliary Classifiers GAN", NeurIPS 2019 (Eq. 9): the
classifier learns the real classes only and a twin learns the fakes', and G is read
as its class by the classifier but not by the twin, which removes AC-GAN's bias
towards easily classified samples.
"""

from __future__ import annotations

import torch.nn.functional as F
from torch import Tensor


def auxiliary_classifier_loss_dis(real_class_logits: Tensor, real_labels: Tensor, fake_class_logits: Tensor, fake_labels: Tensor) -> Tensor:
    """AC-GAN's D term: CE(real classes) + CE(fake classes); logits (B, K), labels (B,)."""
    return F.cross_entropy(real_class_logits, real_labels) + F.cross_entropy(fake_class_logits, fake_labels)


def auxiliary_classifier_loss_gen(fake_class_logits: Tensor, fake_labels: Tensor) -> Tensor:
    """AC-GAN's G term: the cross-entropy of D's classifier on the fakes and the classes they were drawn for."""
    return F.cross_entropy(fake_class_logits, fake_labels)


def twin_classifier_loss_dis(real_class_logits: Tensor, real_labels: Tensor, fake_twin_logits: Tensor, fake_labels: Tensor) -> Tensor:
    """TAC-GAN's D term: the classifier's CE on the real images + the twin's CE on the fakes; logits (B, K)."""
    return F.cross_entropy(real_class_logits, real_labels) + F.cross_entropy(fake_twin_logits, fake_labels)


def twin_classifier_loss_gen(fake_class_logits: Tensor, fake_twin_logits: Tensor, fake_labels: Tensor) -> Tensor:
    """TAC-GAN's G term (Eq. 9): read as its class by the classifier, and not by the twin."""
    return F.cross_entropy(fake_class_logits, fake_labels) - F.cross_entropy(fake_twin_logits, fake_labels)
