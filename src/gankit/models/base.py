"""What every registered model family provides."""

from __future__ import annotations

from dataclasses import dataclass

from torch import Tensor, nn


@dataclass
class GANPair:
    """A generator and a discriminator built together from one spec.

    The networks do not own optimisers or training steps: the trainer does.
    """

    generator: nn.Module
    discriminator: nn.Module


@dataclass
class DiscriminatorOutput:
    """What a discriminator returns: its logits, and the extra outputs its options give it.

    Attributes:
        logits: the adversarial logits (B / pack,).
        class_logits: an auxiliary classifier's class logits (B, K) (AC-GAN, Odena et al. 2017), else None.
        twin_logits: the twin classifier's class logits (B, K) for the fakes (TAC-GAN, Gong et al. 2019), else None.
        code_logits: InfoGAN's predictions of the generator's codes (B, K) or (B, K, n) (Chen et al. 2016), else None.
        reconstruction_loss: a self-supervised D's loss on redrawing the first images it was asked to (a scalar;
            FastGAN, Liu et al. 2021), else None.
    """

    logits: Tensor
    class_logits: Tensor | None = None
    twin_logits: Tensor | None = None
    code_logits: Tensor | None = None
    reconstruction_loss: Tensor | None = None

    def float(self) -> DiscriminatorOutput:
        """The same outputs in float32 (the losses are computed in float32 under bf16 autocast)."""
        def f(t: Tensor | None) -> Tensor | None:
            return None if t is None else t.float()

        return DiscriminatorOutput(self.logits.float(), f(self.class_logits), f(self.twin_logits), f(self.code_logits),
                                   self.reconstruction_loss)


def as_output(result: Tensor | DiscriminatorOutput) -> DiscriminatorOutput:
    """A discriminator's result as a :class:`DiscriminatorOutput`: a network that returns its logits (B,) alone,
    as a user's own ``nn.Module`` may, gets them wrapped."""
    return result if isinstance(result, DiscriminatorOutput) else DiscriminatorOutput(result)


def head_output(head: Tensor | tuple[Tensor, Tensor], twin: bool = False, reconstruction_loss: Tensor | None = None) -> DiscriminatorOutput:
    """A :class:`~gankit.models.layers.ProjectionHead`'s result as a :class:`DiscriminatorOutput`.

    Args:
        head: logits (B,), or logits and class logits (B, K) (with ``twin``: (B, 2K), the classifier's then the twin's).
        twin: the class logits hold the twin classifier's too.
        reconstruction_loss: a self-supervised D's loss, if it computed one.
    """
    if not isinstance(head, tuple):
        return DiscriminatorOutput(head, reconstruction_loss=reconstruction_loss)
    logits, classes = head
    twin_logits = None
    if twin:
        classes, twin_logits = classes.chunk(2, dim=1)  # (B, K) each
    return DiscriminatorOutput(logits, classes, twin_logits, reconstruction_loss=reconstruction_loss)
