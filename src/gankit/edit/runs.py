"""What the edit commands load from run directories: the generator, its discriminator, an encoder, the evaluator.

Everything is read through :class:`gankit.run.RunDir` (checkpoints with ``torch.load(weights_only=True)``, exports
as safetensors + JSON); a run that cannot give what an operation needs is one :class:`GankitError` line.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch import nn

from gankit.errors import CheckpointError, ConfigError, GankitError, first_line
from gankit.run import RunDir


@dataclass
class GeneratorRun:
    """A run's sampling generator (its EMA copy when it has one) in eval mode, and what describes it.

    Attributes:
        path: the run directory.
        generator: G.
        spec: its spec (:func:`gankit.models.generator_spec`): model, img_shape, latent_dim, num_classes, ...
    """

    path: Path
    generator: nn.Module
    spec: dict[str, Any]

    @property
    def img_shape(self) -> tuple[int, int, int]:
        return tuple(self.spec["img_shape"])

    @property
    def latent_dim(self) -> int:
        return int(self.spec["latent_dim"])

    @property
    def num_classes(self) -> int:
        return int(self.spec.get("num_classes", 0))

    def dataset(self) -> str:
        """The name of the dataset the run trained on."""
        name = RunDir(self.path).data_name()
        if name is None:
            raise ConfigError(f"{self.path}: the run does not name its dataset (no readable config.yaml)")
        return name

    def check_class(self, value: str | int, flag: str = "--toward") -> int:
        """A class of this run (conditional: G's classes; unconditional: the classes of the run's dataset)."""
        count = self.num_classes or self.dataset_classes()
        try:
            k = int(value)
        except (TypeError, ValueError):
            k = -1
        if not 0 <= k < count or str(value).strip() not in (str(k), f"+{k}"):
            raise ConfigError(f"{flag} {value}: the run {self.path} has classes 0..{count - 1}")
        return k

    def dataset_classes(self) -> int:
        from gankit.data import load_dataset

        data = load_dataset(self.dataset(), "train")
        if data.labels is None:
            raise ConfigError(f"{self.path}: dataset {self.dataset()!r} has no classes to edit toward")
        return int(data.num_classes)

    @torch.no_grad()
    def generate(self, z: torch.Tensor, labels: torch.Tensor | None = None, batch_size: int = 500) -> torch.Tensor:
        """uint8 images (N, C, H, W) of codes ``z`` (N, L) [and classes (N,)], in eval mode."""
        from gankit.data import to_uint8

        out = []
        for start in range(0, len(z), batch_size):
            zb = z[start:start + batch_size]
            lb = None if labels is None else labels[start:start + batch_size]
            out.append(to_uint8(self.generator(zb, lb) if lb is not None else self.generator(zb)))
        return torch.cat(out) if out else torch.empty(0, *self.img_shape, dtype=torch.uint8)


def load_generator_run(run_dir: str | Path) -> GeneratorRun:
    """The generator of run ``run_dir``: the newest valid checkpoint's, else ``export/``'s.

    Raises:
        GankitError: not a run directory, no generator in it, or a vector-data run (nothing to invert).
    """
    path = Path(run_dir)
    if not path.is_dir():
        raise ConfigError(f"{path}: run directory not found")
    try:
        generator, spec = RunDir(path).load_generator()
    except CheckpointError as exc:
        raise CheckpointError(f"{path}: no generator to edit with ({str(exc).removeprefix(f'{path}: ')})") from None
    if len(spec["img_shape"]) != 3:
        raise ConfigError(f"{path}: a generator of {spec['img_shape'][0]}-D points; the edit commands work on images")
    return GeneratorRun(path, generator.eval(), spec)


def load_discriminator(run: GeneratorRun) -> nn.Module:
    """The run's final D, for the prior term of masked inversion (an unconditional run's, from its newest checkpoint)."""
    if run.num_classes:
        raise ConfigError(f"{run.path}: the discriminator prior works with unconditional runs only; pass --prior-weight 0")
    try:
        return RunDir(run.path).load_discriminator()
    except GankitError as exc:
        raise type(exc)(f"{first_line(exc)} (the prior term needs it; pass --prior-weight 0 to go without)") from None


def load_encoder(encoder_run: str | Path, run: GeneratorRun) -> nn.Module:
    """The encoder trained by run ``encoder_run`` (``train.objective: encoder``) against ``run``'s generator.

    Raises:
        GankitError: not an encoder run, or one trained against another generator.
    """
    from gankit.training.objectives.encoder import build_encoder

    path = Path(encoder_run)
    found = RunDir(path).latest_checkpoint() if path.is_dir() else None
    if found is None:
        raise CheckpointError(f"--encoder {path}: no valid checkpoint (train one with: gankit train --objective encoder --generator {run.path})")
    origin, checkpoint = found
    cfg = checkpoint.training_config(origin=str(origin))
    if cfg.train.objective != "encoder":
        raise ConfigError(f"--encoder {path}: not an encoder run (train.objective is {cfg.train.objective or 'the model default'!r})")
    mine = {k: v.float() for k, v in run.generator.state_dict().items()}
    theirs = checkpoint.sampling_weights
    if set(mine) != set(theirs) or any(mine[k].shape != theirs[k].shape or not torch.equal(mine[k], theirs[k].float()) for k in mine):
        raise ConfigError(f"--encoder {path}: trained against another generator than {run.path}'s")
    try:
        encoder = build_encoder(cfg, run.img_shape)
        encoder.load_state_dict(checkpoint.discriminator)
    except RuntimeError as exc:
        raise CheckpointError(f"--encoder {origin}: cannot rebuild the encoder ({first_line(exc)})") from None
    return encoder.eval()


@torch.no_grad()
def encode(encoder: nn.Module, images: torch.Tensor, batch_size: int = 500) -> torch.Tensor:
    """Codes (N, L) of uint8 images (N, C, H, W)."""
    from gankit.data.base import to_unit_range

    return torch.cat([encoder(to_unit_range(images[s:s + batch_size])) for s in range(0, len(images), batch_size)])


def domain_evaluator(run: GeneratorRun, train_if_missing: bool = True):
    """The domain evaluator of ``run``'s dataset (trained and cached once when missing and ``train_if_missing``)."""
    from gankit.data import DatasetSpec
    from gankit.metrics.evaluator import load_evaluator
    from gankit.metrics.extractors import evaluator_dataset

    spec = evaluator_dataset(DatasetSpec.of(run.dataset()))
    if not train_if_missing:
        return load_evaluator(spec)
    from gankit.evaluation.evaluator_training import ensure_evaluator

    return ensure_evaluator(spec)


def classify(evaluator, images: torch.Tensor) -> torch.Tensor:
    """The evaluator's class probabilities (N, K) of uint8 images (N, C, H, W)."""
    return evaluator(images).probs.float()
