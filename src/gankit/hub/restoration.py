"""A restoration run as a pipeline: ``gankit.load("runs/fashion_sr2_gan").restore(images)``."""

from __future__ import annotations

import torch

from gankit.errors import ConfigError
from gankit.hub.pipeline import Pipeline, register_pipeline


@register_pipeline("restoration", families=("pix2pix", "srresnet"))
class RestorationPipeline(Pipeline):
    """An image-to-image generator (pix2pix, SRResNet): ``restore(images, mask=None)`` as ``gankit restore`` does it."""

    def restore(self, images: torch.Tensor, mask: torch.Tensor | None = None, batch_size: int = 64) -> torch.Tensor:
        """Restore degraded images.

        Args:
            images: uint8 (N, C, h, w): the degraded inputs (``h = H / scale`` for super-resolution).
            mask: inpainting runs: bool (1 or N, 1, H, W), True where pixels are missing.
            batch_size: images per forward pass.

        Returns:
            uint8 (N, C, H, W).
        """
        from gankit.restore import model_input_from_uint8, restore_batches

        if images.dtype != torch.uint8 or images.dim() != 4:
            raise ConfigError(f"restore: images must be uint8 (N, C, h, w); got {images.dtype} {tuple(images.shape)}")
        inpaints = bool(self.spec.get("options", {}).get("mask_input"))
        if inpaints != (mask is not None):
            raise ConfigError("restore: this run inpaints: give mask= (True where pixels are missing)" if inpaints
                              else "restore: this run takes no mask")
        return restore_batches(self.module, model_input_from_uint8(images, mask), batch_size)

    def save_pretrained(self, directory, num_samples: int = 64, seed: int = 0):
        """Not available for restoration runs: their model card would need restorations, not samples."""
        raise ConfigError("save_pretrained: restoration runs are not written in the Hugging Face layout; "
                          "use the run's export/ (gankit.load) or gankit export --format onnx")
