"""Feature nets for the perceptual term of inversion: the domain evaluator's features, or the user's VGG weights.

The distance between features is the perceptual part of Abdal et al.'s loss (Image2StyleGAN, ICCV 2019, who use
VGG-16; stylegan2-ada's projector uses LPIPS, Zhang et al., CVPR 2018, on VGG-16). gankit downloads no weights:

* :func:`evaluator_features`: the **domain evaluator's features** (:mod:`gankit.metrics.evaluator`), the penultimate
  layer of the small classifier trained on the run's own data. Scores of reconstructions made with this term are
  then measured with an evaluator trained from another seed, so the loss does not grade itself.
* :func:`vgg_features`: VGG-16's convolutional layers (Simonyan & Zisserman, ICLR 2015) from a weights file the
  user brings (``--perceptual-weights FILE``: a torchvision ``vgg16`` state dict, or an LPIPS ``vgg`` backbone's
  ``features.*`` keys), read with safetensors or ``torch.load(weights_only=True)``. Gray images are repeated to
  three channels and normalised with ImageNet's mean and spread; the features of conv1_2, conv2_2, conv3_3 and
  conv4_3 are each normalised to unit length per position (as LPIPS does) and concatenated.
"""

from __future__ import annotations

from pathlib import Path

import torch
from torch import nn

from gankit.errors import ConfigError, first_line

VGG_TAPS = (3, 8, 15, 22)
"""Indices in ``vgg16().features`` after which the features are taken: relu1_2, relu2_2, relu3_3, relu4_3."""
_IMAGENET_MEAN = (0.485, 0.456, 0.406)
_IMAGENET_STD = (0.229, 0.224, 0.225)


class EvaluatorFeatures(nn.Module):
    """images (B, C, H, W) in [-1, 1] -> the domain evaluator's features (B, F), differentiable."""

    def __init__(self, net: nn.Module) -> None:
        super().__init__()
        self.net = net.eval()

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        return self.net.features(images)


def evaluator_features(dataset: str, seed_of: str | Path | None = None) -> EvaluatorFeatures:
    """The feature net of ``dataset``'s cached domain evaluator (or of the evaluator saved in folder ``seed_of``)."""
    from gankit.metrics.evaluator import load_evaluator, load_evaluator_dir

    evaluator = load_evaluator_dir(seed_of) if seed_of is not None else load_evaluator(dataset)
    return EvaluatorFeatures(evaluator.net)


class VGGFeatures(nn.Module):
    """images (B, C, H, W) in [-1, 1], C in {1, 3} -> VGG-16 features at :data:`VGG_TAPS` (B, F), unit length per position."""

    def __init__(self, layers: nn.Sequential) -> None:
        super().__init__()
        self.layers = layers.eval()
        self.register_buffer("mean", torch.tensor(_IMAGENET_MEAN).view(1, 3, 1, 1))
        self.register_buffer("std", torch.tensor(_IMAGENET_STD).view(1, 3, 1, 1))

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        x = images.expand(-1, 3, -1, -1) if images.shape[1] == 1 else images  # (B, 3, H, W)
        x = ((x + 1) / 2 - self.mean) / self.std
        taps = []
        for index, layer in enumerate(self.layers):
            x = layer(x)
            if index in VGG_TAPS:
                unit = x / (x.pow(2).sum(1, keepdim=True).sqrt() + 1e-10)  # (B, c, h, w)
                taps.append(unit.flatten(1) / unit[0, 0].numel() ** 0.5)
            if index >= VGG_TAPS[-1]:
                break
        return torch.cat(taps, dim=1)  # (B, F)


def _read_state(path: Path) -> dict[str, torch.Tensor]:
    if path.suffix == ".safetensors":
        from safetensors.torch import load_file

        return load_file(str(path))
    state = torch.load(path, map_location="cpu", weights_only=True)
    if not isinstance(state, dict):
        raise ValueError("the file holds no state dict")
    return state


def vgg_features(path: str | Path) -> VGGFeatures:
    """VGG-16's convolutional layers from the user's weights file (``.safetensors``, ``.pt``/``.pth``, weights only).

    Raises:
        ConfigError: the file is missing, unreadable, or does not hold VGG-16's ``features.*`` weights.
    """
    from torchvision.models import vgg16

    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"--perceptual-weights {path}: no such file")
    try:
        state = _read_state(path)
    except Exception as exc:  # safetensors and torch.load raise many types for a bad file
        raise ConfigError(f"--perceptual-weights {path}: cannot read it as safetensors or a weights-only torch file ({first_line(exc)})") from None
    layers = vgg16(weights=None).features
    wanted = {k.removeprefix("features."): v for k, v in state.items() if k.startswith("features.") or k[:1].isdigit()}
    try:
        layers.load_state_dict(wanted)
    except RuntimeError as exc:
        raise ConfigError(f"--perceptual-weights {path}: not VGG-16 weights (need its 'features.N.weight/bias' keys; {first_line(exc)})") from None
    return VGGFeatures(layers)
