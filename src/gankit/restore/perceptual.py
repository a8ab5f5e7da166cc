"""A perceptual loss on a feature network whose weights the user supplies (``--perceptual-weights FILE``).

Johnson et al., "Perceptual Losses for Real-Time Style Transfer and Super-Resolution", ECCV 2016; Ledig et al. 2017
(SRGAN's content loss on VGG features). The network is VGG-16's convolutional part up to relu3_3 (Simonyan &
Zisserman 2015; torchvision's ``vgg16().features[:16]``), rebuilt here and filled from a safetensors file holding
that module's state dict (keys ``0.weight``, ``0.bias``, ..., ``14.bias``, as torchvision names them), so nothing is
unpickled and nothing is downloaded. Write such a file from torchvision's pretrained weights where the network is
reachable::

    import torchvision, safetensors.torch
    vgg = torchvision.models.vgg16(weights="IMAGENET1K_V1").features[:16]
    safetensors.torch.save_file(vgg.state_dict(), "vgg16_relu3_3.safetensors")

The loss is the mean absolute difference of the features of the restored and the clean image, both mapped to [0, 1]
then normalised with ImageNet's mean and deviation (gray images repeated to three channels).
"""

from __future__ import annotations

from pathlib import Path

import torch
from torch import nn

from gankit.errors import ConfigError

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


def vgg16_to_relu3_3() -> nn.Sequential:
    """VGG-16's layers 0-15 (conv1_1 ... relu3_3), with torchvision's indices."""
    layers: list[nn.Module] = []
    channels = 3
    for block, (width, convs) in enumerate(((64, 2), (128, 2), (256, 3))):
        for _ in range(convs):
            layers += [nn.Conv2d(channels, width, 3, padding=1), nn.ReLU(inplace=False)]
            channels = width
        if block < 2:
            layers.append(nn.MaxPool2d(2, 2))
    return nn.Sequential(*layers)


class PerceptualLoss(nn.Module):
    """L1 between feature maps of a frozen network; ``forward(restored, clean)`` on (B, C, H, W) images in [-1, 1]."""

    def __init__(self, features: nn.Module) -> None:
        super().__init__()
        self.features = features.eval().requires_grad_(False)
        self.register_buffer("mean", torch.tensor(IMAGENET_MEAN).view(1, 3, 1, 1))
        self.register_buffer("std", torch.tensor(IMAGENET_STD).view(1, 3, 1, 1))

    def _features(self, images: torch.Tensor) -> torch.Tensor:
        x = (images.float() + 1) / 2
        if x.shape[1] == 1:
            x = x.expand(-1, 3, -1, -1)
        return self.features((x - self.mean) / self.std)

    def forward(self, restored: torch.Tensor, clean: torch.Tensor) -> torch.Tensor:
        return (self._features(restored) - self._features(clean)).abs().mean()


def load_perceptual_loss(path: str | Path) -> PerceptualLoss:
    """The loss on the VGG-16 relu3_3 network filled from ``path`` (a safetensors file of its state dict).

    Raises:
        ConfigError: a missing or unreadable file, or tensors that are not VGG-16's first 16 layers.
    """
    from safetensors import SafetensorError
    from safetensors.torch import load_file

    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"restore.perceptual_weights: {path} not found (a safetensors file of vgg16().features[:16])")
    try:
        state = load_file(str(path))
    except (SafetensorError, OSError, ValueError) as exc:
        raise ConfigError(f"restore.perceptual_weights: {path} is not a safetensors file ({str(exc).splitlines()[0][:100]})") from None
    network = vgg16_to_relu3_3()
    expected = {k: tuple(v.shape) for k, v in network.state_dict().items()}
    found = {k: tuple(v.shape) for k, v in state.items()}
    if found != expected:
        wrong = sorted(set(found) ^ set(expected)) or sorted(k for k in expected if found[k] != expected[k])
        raise ConfigError(f"restore.perceptual_weights: {path} does not hold VGG-16's layers 0-15 (relu3_3) as torchvision "
                          f"names them (first mismatch: {wrong[0]})")
    network.load_state_dict({k: v.float() for k, v in state.items()})
    return PerceptualLoss(network)
