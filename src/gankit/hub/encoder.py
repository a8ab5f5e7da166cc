"""An encoder run as a pipeline: ``gankit.load("runs/mnist_dcgan_encoder").encode(images)``.

An encoder run (``train.objective: encoder``, :mod:`gankit.training.objectives.encoder`) holds the encoder E in
its checkpoints' second slot and the frozen generator G it inverts in the first; :func:`gankit.load` of such a run
gives an :class:`EncoderPipeline` with both: ``encode`` (image -> z, one pass of E), ``decode`` (z -> image through
G) and ``reconstruct`` (both), as ``gankit project --encoder RUN --steps 0`` does.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from gankit.errors import CheckpointError, ConfigError, first_line
from gankit.hub.pipeline import GeneratorPipeline, Pipeline, Source, register_pipeline


@register_pipeline("encoder", objectives=("encoder",))
class EncoderPipeline(Pipeline):
    """E (``module``) and the generator it inverts (``generator``, a :class:`GeneratorPipeline`).

    Args:
        module: the encoder, images (B, C, H, W) in [-1, 1] -> codes (B, L).
        spec: the generator's spec (``img_shape``, ``latent_dim``, ...).
        generator: the frozen generator of the run E was trained against.
        config, evaluation, origin: as :class:`Pipeline`.
    """

    def __init__(self, module: nn.Module, spec: dict[str, Any], config: dict[str, Any] | None = None,
                 evaluation: dict[str, Any] | None = None, origin: str = "", generator: GeneratorPipeline | None = None) -> None:
        super().__init__(module, spec, config, evaluation, origin)
        if generator is None:
            raise ConfigError("EncoderPipeline: needs the generator the encoder inverts (generator=)")
        self.generator = generator

    @classmethod
    def from_source(cls, source: Source) -> EncoderPipeline:
        from gankit.training.objectives.encoder import build_encoder

        if source.checkpoint is None:
            raise CheckpointError(f"{source.origin}: an encoder run loads from its checkpoints (its export/ holds the generator alone)")
        try:
            encoder = build_encoder(source.checkpoint.training_config(origin=source.origin), tuple(source.spec["img_shape"]))
            encoder.load_state_dict(source.checkpoint.discriminator)
        except RuntimeError as exc:
            raise CheckpointError(f"{source.origin}: cannot rebuild the encoder ({first_line(exc)})") from None
        generator = GeneratorPipeline(source.module, source.spec, source.config, source.evaluation, source.origin)
        return cls(encoder.eval(), source.spec, source.config, source.evaluation, source.origin, generator=generator)

    @property
    def latent_dim(self) -> int:
        return int(self.spec["latent_dim"])

    @property
    def img_shape(self) -> tuple[int, ...]:
        return tuple(self.spec["img_shape"])

    def encode(self, images: torch.Tensor, batch_size: int = 500) -> torch.Tensor:
        """Codes of images: uint8 (N, C, H, W) of the generator's shape -> float32 (N, L), one pass of E."""
        from gankit.edit.runs import encode

        if images.dtype != torch.uint8 or images.dim() != 4 or tuple(images.shape[1:]) != self.img_shape:
            raise ConfigError(f"encode: images must be uint8 (N, {', '.join(map(str, self.img_shape))}); "
                              f"got {images.dtype} {tuple(images.shape)}")
        return encode(self.module, images.to(self.device), batch_size).float()

    @torch.no_grad()
    def decode(self, z: torch.Tensor, batch_size: int = 500) -> torch.Tensor:
        """The generator's images of codes z (N, L): uint8 (N, C, H, W)."""
        from gankit.data import to_uint8

        if not torch.is_floating_point(z) or z.dim() != 2 or z.shape[1] != self.latent_dim:
            raise ConfigError(f"decode: z must be float (N, {self.latent_dim}); got {z.dtype} {tuple(z.shape)}")
        module = self.generator.module
        device = self.generator.device
        parts = [to_uint8(module(z[s:s + batch_size].to(device).float())) for s in range(0, len(z), batch_size)]
        return torch.cat(parts) if parts else torch.empty(0, *self.img_shape, dtype=torch.uint8)

    def reconstruct(self, images: torch.Tensor, batch_size: int = 500) -> torch.Tensor:
        """G(E(images)): uint8 (N, C, H, W), the one-shot inversion."""
        return self.decode(self.encode(images, batch_size), batch_size)

    def to(self, device: str | torch.device) -> EncoderPipeline:
        """Move E and G to ``device``; returns the pipeline."""
        self.module.to(device)
        self.generator.to(device)
        return self

    def save_pretrained(self, directory, num_samples: int = 64, seed: int = 0):
        """Not available for encoder runs: the Hugging Face layout holds one network."""
        raise ConfigError("save_pretrained: encoder runs are not written in the Hugging Face layout; load the run itself "
                          "(gankit.load(RUN)), or save its generator with gankit.load(RUN).generator.save_pretrained(DIR)")

    def export_onnx(self, path):
        """Not available for encoder runs: gankit's ONNX files hold a generator."""
        raise ConfigError("export_onnx: encoder runs are not exported to ONNX; export the generator with "
                          "gankit.load(RUN).generator.export_onnx(PATH)")
