"""Pipelines: a trained network with the calls its kind offers, and :func:`load`, which builds one from a path.

A path is read by the run layer (:class:`gankit.run.RunDir`, :class:`gankit.run.Checkpoint`,
:func:`gankit.run.load_export`) or, for the Hugging Face layout, by :mod:`gankit.hub.pretrained`,
into a :class:`Source`; the pipeline class registered for the model's family wraps it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch import nn

from gankit.errors import CheckpointError, ConfigError, GankitError
from gankit.registry import Registry

CUSTOM_MODEL = "custom"
"""The ``model.name`` of a run that trained the user's own networks (``gankit.train(generator=..., ...)``)."""

PIPELINES: Registry[type] = Registry("pipeline kind")
_FAMILIES: dict[str, str] = {}  # model family -> the pipeline kind that serves it (default: generator)
_OBJECTIVES: dict[str, str] = {}  # training objective -> the pipeline kind that serves its runs (before the family)


def register_pipeline(kind: str, families: tuple[str, ...] = (), objectives: tuple[str, ...] = ()):
    """Register a :class:`Pipeline` subclass as ``kind``; :func:`load` builds it for runs of ``families``, and for
    runs trained with one of ``objectives`` (``train.objective``) whatever their family."""

    def decorator(cls: type) -> type:
        PIPELINES.register(kind)(cls)
        cls.kind = kind
        for family in families:
            _FAMILIES[family] = kind
        for objective in objectives:
            _OBJECTIVES[objective] = kind
        return cls

    return decorator


def pipeline_for_model(model_name: str) -> type:
    """The pipeline class for a run of model family ``model_name`` (:class:`GeneratorPipeline` unless one is registered)."""
    return PIPELINES.get(_FAMILIES.get(model_name, "generator"))


@dataclass
class Source:
    """What a path holds: the network, its spec, and what is known of the run that trained it.

    Attributes:
        module: the network in eval mode, on the CPU.
        spec: the arguments that rebuild it (:func:`gankit.models.generator_spec`, with ``step`` where known).
        origin: the path it came from, for messages.
        config: the run's resolved training config as plain data, when the path holds it.
        evaluation: the run's ``eval.json`` record, when there is one.
        checkpoint: the :class:`gankit.run.Checkpoint` it was read from, when it came from one.
    """

    module: nn.Module
    spec: dict[str, Any]
    origin: str
    config: dict[str, Any] | None = None
    evaluation: dict[str, Any] | None = None
    checkpoint: Any = None

    @property
    def objective(self) -> str | None:
        """The run's ``train.objective`` when the source knows its config."""
        train = (self.config or {}).get("train") or {}
        return train.get("objective") if isinstance(train, dict) else None


class Pipeline:
    """A trained network and its spec; subclasses add the calls of their kind (``sample``, ``restore``, ``encode``).

    Args:
        module: the network.
        spec: its spec (:func:`gankit.models.generator_spec`).
        config: the run's training config as plain data, if known.
        evaluation: the run's ``eval.json`` record, if any.
        origin: where it was loaded from.
    """

    kind = "base"

    def __init__(self, module: nn.Module, spec: dict[str, Any], config: dict[str, Any] | None = None,
                 evaluation: dict[str, Any] | None = None, origin: str = "") -> None:
        self.module, self.spec, self.config, self.evaluation, self.origin = module.eval(), dict(spec), config, evaluation, origin

    @classmethod
    def from_source(cls, source: Source) -> Pipeline:
        return cls(source.module, source.spec, source.config, source.evaluation, source.origin)

    @classmethod
    def from_pretrained(cls, directory: str | Path, device: str | torch.device = "cpu") -> Pipeline:
        """The model saved by :meth:`save_pretrained` in ``directory`` (``config.json`` + ``model.safetensors``)."""
        from gankit.hub.pretrained import read_pretrained

        return _build(read_pretrained(directory), cls).to(device)

    def save_pretrained(self, directory: str | Path, num_samples: int = 64, seed: int = 0) -> Path:
        """Write the Hugging Face layout into ``directory`` (see :mod:`gankit.hub.pretrained`)."""
        from gankit.hub.pretrained import write_pretrained

        return write_pretrained(self, directory, num_samples=num_samples, seed=seed)

    def export_onnx(self, path: str | Path) -> Path:
        """Write the network as an ONNX file with a dynamic batch axis (see :mod:`gankit.hub.onnx`)."""
        from gankit.hub.onnx import export_onnx

        return export_onnx(self, path)

    def to(self, device: str | torch.device) -> Pipeline:
        """Move the network to ``device``; returns the pipeline."""
        self.module.to(device)
        return self

    @property
    def device(self) -> torch.device:
        return next(self.module.parameters()).device

    @property
    def model_name(self) -> str:
        return self.spec["model"]

    def __repr__(self) -> str:
        return f"{type(self).__name__}(model={self.model_name!r}, origin={self.origin!r}, device={str(self.device)!r})"


@register_pipeline("generator")
class GeneratorPipeline(Pipeline):
    """A generator: ``sample(n)`` draws images, uint8 (N, C, H, W), or float points (N, D) for vector data."""

    @property
    def img_shape(self) -> tuple[int, ...]:
        return tuple(self.spec["img_shape"])

    @property
    def num_classes(self) -> int:
        return int(self.spec.get("num_classes", 0))

    @property
    def is_points(self) -> bool:
        """True when the generator draws vectors (the 2D benchmarks), False for images."""
        return len(self.img_shape) == 1

    def sample(self, n: int, seed: int = 0, labels: int | Sequence[int] | torch.Tensor | None = None,
               truncation: float | None = None, as_float: bool = False, batch_size: int = 500) -> torch.Tensor:
        """``n`` samples, the same for the same seed and labels (:func:`gankit.sampling.draw_samples`).

        Args:
            n: how many.
            seed: the noise seed.
            labels: conditional generators: one class for all, or (n,) classes; default: the training set's shares.
            truncation: t > 0 draws z from the normal cut to [-t, t] (BigGAN's truncation trick, Brock et al. 2019).
            as_float: images as float32 in [0, 1] (the uint8 values / 255) rather than uint8.
            batch_size: samples per forward pass.

        Returns:
            uint8 images (n, C, H, W), float32 with ``as_float``; float32 points (n, D) for vector data.
        """
        from gankit.sampling import draw_samples

        if not isinstance(n, int) or isinstance(n, bool) or n < 1:
            raise ConfigError(f"sample: n must be a positive integer, got {n!r}")
        if truncation is not None and not truncation > 0:
            raise ConfigError(f"sample: truncation must be > 0, got {truncation!r}")
        samples = draw_samples(self.module, self.spec, n, seed, self._labels(n, labels), truncation, batch_size)
        return samples.float().div_(255.0) if as_float and samples.dtype == torch.uint8 else samples

    def _labels(self, n: int, labels: int | Sequence[int] | torch.Tensor | None) -> torch.Tensor | None:
        """``labels`` as (n,) int64 checked against the classes; None for the default."""
        if labels is None:
            return None
        if not self.num_classes:
            raise ConfigError(f"sample: {self.origin} holds an unconditional generator; it takes no labels")
        if isinstance(labels, int) and not isinstance(labels, bool):
            labels = torch.full((n,), labels, dtype=torch.long)
        labels = torch.as_tensor(labels)
        if labels.dtype not in (torch.int32, torch.int64) or labels.shape != (n,):
            raise ConfigError(f"sample: labels must be one class or {n} integer classes, got {labels.dtype} {tuple(labels.shape)}")
        if int(labels.min()) < 0 or int(labels.max()) >= self.num_classes:
            raise ConfigError(f"sample: labels must lie in 0..{self.num_classes - 1}")
        return labels.long()


def _build(source: Source, expected: type = Pipeline) -> Pipeline:
    """The pipeline the source's model family asks for; CheckpointError when it is not an ``expected``."""
    kind = _OBJECTIVES.get(source.objective or "")
    cls = PIPELINES.get(kind) if kind else pipeline_for_model(source.spec["model"])
    if not issubclass(cls, expected):
        raise CheckpointError(f"{source.origin}: holds a {cls.kind} model, not a {getattr(expected, 'kind', expected.__name__)}")
    return cls.from_source(source)


def read_source(path: str | Path, generator: nn.Module | None = None) -> Source:
    """What ``path`` holds: a run directory, an export directory, the Hugging Face layout or a checkpoint file.

    Args:
        path: where to read.
        generator: for runs of the user's own networks (model ``custom``): an instance of the generator's class,
            into which the saved weights are loaded.

    Raises:
        CheckpointError: a path that holds none of these, or a damaged or newer-format one (one line).
    """
    from gankit.run import Checkpoint, RunDir, load_export, read_export_spec

    path = Path(path)
    if path.is_file():
        checkpoint = Checkpoint.load(path)
        return _from_checkpoint(checkpoint, str(path), generator)
    if not path.is_dir():
        raise CheckpointError(f"{path}: not found; gankit.load reads a run directory, an export directory or a checkpoint file")
    if (path / "config.json").is_file() or (path / "model.safetensors").exists():
        from gankit.hub.pretrained import read_pretrained

        return read_pretrained(path, generator)
    if (path / "generator.json").is_file():
        custom = generator is not None or read_export_spec(path).get("model") == CUSTOM_MODEL
        return _from_export(path, generator) if custom else Source(*load_export(path), str(path))
    run = RunDir(path)
    if not (run.config_path.is_file() or run.checkpoint_dir.is_dir() or (run.export_dir / "generator.json").is_file()):
        raise CheckpointError(
            f"{path}: not a gankit run, export or model directory (it holds none of config.yaml, checkpoints/, "
            "export/generator.json, generator.json, config.json + model.safetensors)")
    found = run.latest_checkpoint()
    if found is not None:
        source = _from_checkpoint(found[1], str(found[0]), generator, str(path))
    elif (run.export_dir / "generator.json").is_file():
        source = read_source(run.export_dir, generator)
    else:
        raise CheckpointError(f"{path}: no valid checkpoint in checkpoints/ and no export/ to load")
    source.origin, source.evaluation = str(path), _evaluation(run)
    return source


def _from_checkpoint(checkpoint: Any, origin: str, generator: nn.Module | None, path: str | None = None) -> Source:
    if checkpoint.model_name == CUSTOM_MODEL or generator is not None:
        spec = {**checkpoint.generator_spec(), "step": checkpoint.step}
        return Source(load_custom(generator, checkpoint.sampling_weights, origin, path), spec, origin, checkpoint.config)
    module, spec = checkpoint.build_generator(origin)
    return Source(module, {**spec, "step": checkpoint.step}, origin, checkpoint.config, checkpoint=checkpoint)


def _from_export(directory: Path, generator: nn.Module) -> Source:
    from safetensors import SafetensorError
    from safetensors.torch import load_file

    from gankit.run import read_export_spec

    spec = read_export_spec(directory)
    try:
        weights = load_file(str(directory / "generator.safetensors"))
    except (OSError, SafetensorError) as exc:
        raise CheckpointError(f"{directory}: cannot read generator.safetensors ({exc})") from None
    return Source(load_custom(generator, weights, str(directory)), spec, str(directory))


def load_custom(generator: nn.Module | None, weights: dict[str, torch.Tensor], origin: str, path: str | None = None) -> nn.Module:
    """The user's ``generator`` with the saved ``weights``; the run stores weights only, not the class that uses them."""
    if generator is None:
        path = path or origin
        raise CheckpointError(
            f"{path}: holds the weights of a custom generator (your own nn.Module class); build one and pass it: "
            f"gankit.load({path!r}, generator=MyGenerator(...))")
    try:
        generator.load_state_dict(weights)
    except (RuntimeError, ValueError, TypeError) as exc:
        from gankit.errors import first_line

        raise CheckpointError(f"{origin}: the weights do not fit the generator given ({first_line(exc)})") from None
    return generator.cpu().eval()


def _evaluation(run: Any) -> dict[str, Any] | None:
    """The run's eval.json record; None when there is none or it cannot be read (it is not needed to sample)."""
    try:
        return run.read_eval()
    except GankitError:
        return None


def load(path: str | Path, device: str | torch.device = "cpu", generator: nn.Module | None = None) -> Pipeline:
    """Load a trained model: a run directory, an export directory, the Hugging Face layout or a checkpoint file.

    Args:
        path: where to read.
        device: where to put the network.
        generator: runs of your own networks only (model ``custom``): an instance of the generator's class.

    Returns:
        The pipeline of the run's kind: :class:`GeneratorPipeline` (``sample``) unless another is registered.

    Raises:
        CheckpointError: a path gankit cannot read, with one line saying why.
    """
    return _build(read_source(path, generator)).to(device)
