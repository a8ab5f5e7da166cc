"""Typed run configuration: dataclasses loaded from YAML with ``key=value`` overrides.

Every value is checked on load; a bad one raises :class:`ConfigError` naming the
key, the value and what is allowed. The resolved config is saved in every run
directory and inside every checkpoint, so a run can be rebuilt from either.
"""

from __future__ import annotations

import dataclasses
import re
import types
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from gankit.errors import ConfigError


def _field(default: Any, **rules: Any) -> Any:
    """A dataclass field with validation rules: ``min``, ``max``, ``choices``, ``min_exclusive``."""
    if isinstance(default, (dict, list)):
        return field(default_factory=lambda: type(default)(default), metadata=rules)
    return field(default=default, metadata=rules)


@dataclass
class DataConfig:
    name: str = _field("mnist")
    """Dataset name from ``gankit.data.DATASETS``."""
    dir: str | None = None
    """Data root; else ``$GANKIT_DATA``; else ``~/.cache/gankit/data``."""
    conditional: bool = False
    """Feed class labels to the model (needs a labelled dataset and a conditional model)."""
    fake_labels: str = _field("data", choices=("data", "uniform"))
    """Conditional training: the classes G is asked for, in the training set's shares (``data``) or all alike
    (``uniform``). The same on balanced data; on unbalanced data (the emoji) ``uniform`` trained far worse."""
    clusters: int = _field(0, min=0)
    """Self-conditioning (Liu et al. 2020): > 0 trains a conditional model (``hybrid_cond``, ``dcgan_cond``, ...) on
    this many k-means clusters of D's features of the real images in place of labels, G asked for each in its share;
    0 is off. Needs ``conditional: false``: the data's own labels are never used."""
    recluster_every: int = _field(2000, min=1)
    """Self-conditioning: steps between two clusterings (each matched to the last, so a cluster keeps its index)."""
    folder: str | None = None
    """The image folder (any tree of PNG/JPEG/WebP/BMP/TIFF) when ``name`` is ``folder``; labels are its sub-folders."""
    image_size: int | None = _field(None, min=32, max=256)
    """Image folders (``folder``, ``emoji``): side of the square images in pixels (default 64)."""
    channels: int | None = _field(None, choices=(1, 3))
    """Image folders: 1 (gray) or 3 (RGB, the default)."""
    background: str = "white"
    """Image folders: colour behind transparent pixels and in the padding (a name or ``#rrggbb``)."""
    fit: str = _field("crop", choices=("crop", "pad"))
    """Image folders: resize and cut the centre square (``crop``) or fit inside it and pad (``pad``)."""


@dataclass
class ModelConfig:
    name: str = "mlp"
    """Model family from ``gankit.models.MODELS``."""
    latent_dim: int = _field(100, min=1, max=4096)
    """Size of the noise vector z that the generator maps to an image."""
    options: dict = _field({})
    """Family-specific options: the fields of the family's options class (``gankit.models.options_class``)."""


@dataclass
class LossConfig:
    name: str = "non_saturating"
    """Adversarial loss from ``gankit.losses.LOSSES``."""
    topk_gamma: float = _field(1.0, min_exclusive=0.0, max=1.0)
    """Top-k training (Sinha et al. 2020): the generator loss uses only the max(topk_gamma ** epoch, topk_min)
    share of fakes that D rates most real; 0.99 in the paper; 1 uses every fake."""
    topk_min: float = _field(0.5, min_exclusive=0.0, max=1.0)
    """The smallest share top-k training goes down to (nu; 0.5-0.75 in the paper)."""


@dataclass
class OptimConfig:
    lr_g: float = _field(2e-4, min_exclusive=0.0, max=1.0)
    """Adam learning rate of the generator."""
    lr_d: float = _field(2e-4, min_exclusive=0.0, max=1.0)
    """Adam learning rate of the discriminator."""
    beta1: float = _field(0.5, min=0.0, max=0.9999)
    """Adam beta1 of both networks (0.5 as in DCGAN, Radford et al. 2016)."""
    beta2: float = _field(0.999, min=0.0, max=0.99999)
    """Adam beta2 of both networks."""
    n_critic: int = _field(1, min=1, max=100)
    """Discriminator steps per generator step (5 for WGAN-GP, Gulrajani et al. 2017). Each D step takes a new real
    batch; the generator is updated on every ``n_critic``-th step. Unequal ``lr_g``/``lr_d`` give the two time-scale
    update rule (TTUR, Heusel et al. 2017)."""
    lr_decay_start: float = _field(1.0, min=0.0, max=1.0)
    """Fraction of the run's steps after which both learning rates fall linearly to 0 at the last step (the
    schedule of pix2pix and CycleGAN, Isola et al. 2017, Zhu et al. 2017, with 0.5); 1 keeps them constant."""


@dataclass
class RegConfig:
    """Discriminator regularisers (``gankit.losses.regularizers``); 0 turns one off."""

    gp_weight: float = _field(0.0, min=0.0)
    """WGAN-GP weight lambda (10 in Gulrajani et al. 2017)."""
    r1_gamma: float = _field(0.0, min=0.0)
    """R1 weight gamma (Mescheder et al. 2018); the penalty added is gamma / 2 * E||grad D(x)||^2."""
    r1_every: int = _field(16, min=1)
    """Lazy R1: apply it every k steps, scaled by k (Karras et al. 2020)."""
    aux_weight: float = _field(1.0, min=0.0)
    """Weight of the class cross-entropy for auxiliary-classifier discriminators (AC-GAN, Odena et al. 2017)."""
    info_weight: float = _field(1.0, min=0.0)
    """Weight lambda of the InfoGAN code cross-entropy (Chen et al. 2016; 1 for discrete codes) for generators with a
    discrete code (``mlp2d`` or ``hybrid`` with ``components``; summed over ``codes``); 0 leaves the code to the adversarial loss alone."""
    recon_weight: float = _field(1.0, min=0.0)
    """Weight of the reconstruction loss of a self-supervised discriminator (``dcgan`` with ``reconstruction``;
    FastGAN, Liu et al. 2021)."""


@dataclass
class EMAConfig:
    """Exponential moving average of the generator weights (``gankit.training.ema``), used for sampling and export."""

    half_life_kimg: float = _field(0.0, min=0.0)
    """Half-life of the average in thousands of images; 0 turns the EMA off (StyleGAN2-ADA uses 10 at batch 64)."""
    rampup: float | None = _field(0.05, min_exclusive=0.0)
    """Early on the half-life is at most ``rampup`` x images seen; null for no ramp-up."""


@dataclass
class AugmentConfig:
    """DiffAugment on every image D sees, real and fake (Zhao et al. 2020)."""

    policy: str = ""
    """Comma-separated operations from ``color``, ``translation``, ``cutout``; empty or ``none`` for none."""

    def __post_init__(self) -> None:
        from gankit.training.augment import parse_policy

        parse_policy(self.policy)


@dataclass
class TrainConfig:
    seed: int = _field(0, min=0, max=2**31 - 1)
    """Seeds the weights, the data order, the noise and every augmentation: the same seed gives the same run."""
    batch_size: int = _field(64, min=1, max=65536)
    """The global batch: images per step over all processes (the same step on 1 or N processes)."""
    batch_per_process: int | None = _field(None, min=1)
    """Images per process and step: ``batch_size`` / processes, worked out at launch when left empty."""
    epochs: int = _field(50, min=1)
    """Length of the run in passes over the training set (unless ``max_steps`` is set)."""
    max_steps: int | None = _field(None, min=1)
    """Stop after this many steps (overrides ``epochs`` when set)."""
    device: str = _field("auto", choices=("auto", "cpu", "cuda", "mps"))
    """Where to train; ``auto`` takes CUDA, then MPS, then the CPU."""
    precision: str = _field("fp32", choices=("fp32", "bf16"))
    """``bf16`` runs G and D under bfloat16 autocast (weights, optimiser state and losses stay float32)."""
    compile: bool = False
    """Compile G and D with ``torch.compile`` (first steps are slow while it compiles)."""
    channels_last: bool = False
    """Hold conv weights and image batches channels-last (NHWC), the layout oneDNN's CPU convolutions prefer;
    results differ from the default layout by float rounding only (see BENCHMARKS.md for the speed-up)."""
    log_every: int = _field(50, min=1)
    """Steps between two records in ``metrics.jsonl`` (and TensorBoard)."""
    checkpoint_every: int = _field(1000, min=1)
    """Steps between two checkpoints (one is also written when the run stops)."""
    keep_checkpoints: int = _field(3, min=1)
    """How many of the newest checkpoints are kept."""
    max_rollbacks: int = _field(3, min=0, max=1000)
    """NaN/Inf in a loss, gradient or weight rolls the run back to its last good checkpoint; stop after this many."""
    rollback_lr_factor: float = _field(0.5, min_exclusive=0.0, max=1.0)
    """Every rollback multiplies the learning rates by this factor."""
    sample_every_epochs: int = _field(1, min=1)
    """Epochs between two progress grids in ``samples/``."""
    num_samples: int = _field(64, min=1, max=1024)
    """Images in the progress grid written to ``samples/``."""
    fid_every: int | None = _field(None, min=1)
    """Every this many steps, a cheap FID (domain features) goes into ``metrics.jsonl`` and the best checkpoint is kept
    (by the callback ``gankit.evaluation.fid_callback.FIDCallback``, which ``gankit train`` and ``gankit bench`` hand to
    the trainer; a ``Trainer`` built in Python measures it when given ``callbacks=(FIDCallback(),)``)."""
    fid_samples: int = _field(2000, min=10, max=50000)
    """Samples (and real training images) behind that FID."""
    objective: str = ""
    """The training objective (``gankit.training.objectives``); empty: the one the model family trains with
    (``adversarial``, or ``vae`` for the VAE). ``encoder`` trains an image-to-z encoder against ``encoder.generator``."""


@dataclass
class EncoderConfig:
    """The ``encoder`` objective: an encoder E (image -> z) trained against a finished, frozen generator G
    (Zhu et al., "Generative Visual Manipulation on the Natural Image Manifold", ECCV 2016)."""

    generator: str | None = None
    """The run directory of the generator to invert; its model, latent size and data must match ``model`` and ``data``."""
    width: int = _field(32, min=1, max=1024)
    """Channels of E's first convolution; each stride-2 convolution after it doubles them."""
    dense: int = _field(512, min=1, max=8192)
    """Width of E's fully connected layer before the code."""
    latent_weight: float = _field(1.0, min=0.0)
    """Weight of the latent loss ||E(G(z)) - z||^2 on G's samples, whose z is known."""
    image_weight: float = _field(1.0, min=0.0)
    """Weight of the image loss ||G(E(G(z))) - G(z)||^2 on G's samples."""
    real_weight: float = _field(1.0, min=0.0)
    """Weight of the reconstruction loss ||G(E(x)) - x||^2 on the real training images."""


@dataclass
class RestoreConfig:
    """Image restoration: the ``paired`` objective of the ``pix2pix`` and ``srresnet`` models (docs/restore.md)."""

    degradation: str = "downscale_x2"
    """What the model learns to undo, from ``gankit.restore.DEGRADATIONS``: ``downscale_x2``, ``downscale_x4``
    (super-resolution), ``gaussian_noise``, ``salt_pepper`` (denoising), ``mask_centre``, ``mask_boxes``,
    ``mask_strokes`` (inpainting); drawn afresh every step from the seed and the step."""
    sigma: float = _field(25 / 255, min=0.0, max=1.0)
    """``gaussian_noise``: standard deviation in [0, 1] units (25/255 as in DnCNN); the noisy image is clipped to the valid range."""
    amount: float = _field(0.1, min=0.0, max=1.0)
    """``salt_pepper``: the share of pixels set to black or white."""
    l1_weight: float = _field(100.0, min=0.0)
    """Weight of the L1 distance to the clean image (100 in pix2pix, Isola et al. 2017)."""
    adv_weight: float = _field(1.0, min=0.0)
    """Weight of the adversarial loss (``loss.name``) against the conditional discriminator; 0 trains the L1-only
    baseline with the same command (the discriminator is then left untouched)."""
    perceptual_weight: float = _field(0.0, min=0.0)
    """Weight of a perceptual loss: L1 between VGG-16 relu3_3 features of the restored and the clean image (Johnson
    et al. 2016), on the network in ``perceptual_weights``; 0 turns it off."""
    perceptual_weights: str | None = None
    """A safetensors file of torchvision's ``vgg16().features[:16]`` state dict, supplied by the user (gankit downloads
    no weights); needed when ``perceptual_weight`` > 0 (``gankit train --perceptual-weights FILE``)."""
    feature_weight: float = _field(0.0, min=0.0)
    """Weight of the domain evaluator's feature loss: L1 between the penultimate-layer features of the dataset's
    domain evaluator (:mod:`gankit.metrics.evaluator`, frozen) for the restored and the clean image; 0 turns it off.
    ``gankit eval`` then scores the run with an evaluator trained from another seed (docs/restore.md)."""
    feature_evaluator_seed: int = _field(0, min=0)
    """Training seed of the domain evaluator whose features the feature loss compares (0: the default evaluator);
    trained and cached on first use."""


@dataclass
class Config:
    data: DataConfig = field(default_factory=DataConfig)
    model: ModelConfig = field(default_factory=ModelConfig)
    loss: LossConfig = field(default_factory=LossConfig)
    optim: OptimConfig = field(default_factory=OptimConfig)
    train: TrainConfig = field(default_factory=TrainConfig)
    reg: RegConfig = field(default_factory=RegConfig)
    ema: EMAConfig = field(default_factory=EMAConfig)
    augment: AugmentConfig = field(default_factory=AugmentConfig)
    restore: RestoreConfig = field(default_factory=RestoreConfig)
    encoder: EncoderConfig = field(default_factory=EncoderConfig)


_FLOAT_TEXT = re.compile(r"^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$")


def _type_name(tp: Any) -> str:
    if typing.get_origin(tp) in (typing.Union, types.UnionType):
        return " or ".join(_type_name(a) for a in typing.get_args(tp))
    return {type(None): "null"}.get(tp, getattr(tp, "__name__", str(tp)))


def _coerce(key: str, value: Any, tp: Any) -> Any:
    """Check ``value`` against the annotation ``tp``; ints are accepted for floats."""
    if typing.get_origin(tp) in (typing.Union, types.UnionType):
        for option in typing.get_args(tp):
            try:
                return _coerce(key, value, option)
            except ConfigError:
                continue
        raise ConfigError(f"{key}: {value!r} is not a {_type_name(tp)}")
    if tp is type(None):
        if value is None:
            return None
    elif tp is bool:
        if isinstance(value, bool):
            return value
    elif tp is int:
        if isinstance(value, int) and not isinstance(value, bool):
            return value
    elif tp is float:
        if isinstance(value, str) and _FLOAT_TEXT.match(value.strip()):
            value = float(value)  # YAML 1.1 reads "1e-4" (no dot) as a string
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            value = float(value)
            if value != value or value in (float("inf"), float("-inf")):
                raise ConfigError(f"{key}: {value!r} is not a finite number")
            return value
    elif tp is str:
        if isinstance(value, str):
            return value
    elif tp is dict:
        if isinstance(value, dict) and all(isinstance(k, str) for k in value):
            return dict(value)
    raise ConfigError(f"{key}: {value!r} is not a {_type_name(tp)}")


def _check_rules(key: str, value: Any, rules: dict[str, Any]) -> None:
    if value is None:
        return
    if "choices" in rules and value not in rules["choices"]:
        raise ConfigError(f"{key}: {value!r} is not allowed; choose one of: {', '.join(map(str, rules['choices']))}")
    if "min" in rules and value < rules["min"]:
        raise ConfigError(f"{key}: {value!r} is below the minimum {rules['min']}")
    if "min_exclusive" in rules and value <= rules["min_exclusive"]:
        raise ConfigError(f"{key}: {value!r} must be greater than {rules['min_exclusive']}")
    if "max" in rules and value > rules["max"]:
        raise ConfigError(f"{key}: {value!r} is above the maximum {rules['max']}")


def _key_text(key: Any) -> str:
    """A key as it reads in a one-line message: plain names bare, anything else quoted and escaped."""
    return key if isinstance(key, str) and key.isidentifier() else repr(key)


def _build(cls: type, raw: Any, prefix: str) -> Any:
    if not isinstance(raw, dict):
        raise ConfigError(f"{prefix or 'config'}: expected a mapping of keys, got {raw!r}")
    hints = typing.get_type_hints(cls)
    fields = {f.name: f for f in dataclasses.fields(cls)}
    unknown = sorted(_key_text(k) for k in raw if k not in fields)
    if unknown:
        where = prefix or "config"
        raise ConfigError(f"{where}: unknown key(s) {', '.join(unknown)}; allowed: {', '.join(fields)}")
    values = {}
    for name, f in fields.items():
        key = f"{prefix}.{name}" if prefix else name
        if name not in raw:
            continue
        tp = hints[name]
        if dataclasses.is_dataclass(tp):
            values[name] = _build(tp, raw[name], key)
        else:
            values[name] = _coerce(key, raw[name], tp)
            _check_rules(key, values[name], dict(f.metadata))
    return cls(**values)


CUSTOM = "custom"
"""``data.name`` and ``model.name`` of a run of the user's own data and networks (:func:`gankit.training.custom.train`):
the run records them as ``custom``, its checkpoints store the weights, and rebuilding needs the user's classes."""


def _validate_names(cfg: Config) -> None:
    """Check registry names against what is registered, and the model options against the model's options class."""
    from gankit.data import DATASETS
    from gankit.losses import LOSSES
    from gankit.models import MODELS, create_options

    for key, name, registry in (
        ("data.name", cfg.data.name, DATASETS),
        ("model.name", cfg.model.name, MODELS),
        ("loss.name", cfg.loss.name, LOSSES),
    ):
        if name not in registry and not (name == CUSTOM and key != "loss.name"):
            raise ConfigError(f"{key}: {name!r} is not allowed; choose one of: {', '.join(registry.names())}")
    if cfg.model.name != CUSTOM:
        create_options(cfg.model.name, cfg.model.options)
    from gankit.restore.degrade import create_degradation

    create_degradation(cfg.restore.degradation)
    if cfg.train.objective:
        from gankit.training.objectives import OBJECTIVES

        if cfg.train.objective not in OBJECTIVES:
            raise ConfigError(f"train.objective: {cfg.train.objective!r} is not allowed; choose one of: {', '.join(OBJECTIVES.names())}")


def config_from_dict(raw: Any) -> Config:
    """Build and validate a :class:`Config` from plain data (e.g. parsed YAML)."""
    cfg = _build(Config, raw if raw is not None else {}, "")
    _validate_names(cfg)
    return cfg


def config_to_dict(cfg: Config) -> dict[str, Any]:
    return dataclasses.asdict(cfg)


def parse_override(text: str) -> tuple[list[str], Any]:
    """Parse ``section.key=value``; the value is read as YAML (``1e-3``, ``true``, ``[64, 128]``)."""
    if "=" not in text:
        raise ConfigError(f"--set {text!r}: expected KEY=VALUE, e.g. train.batch_size=128")
    key, _, value_text = text.partition("=")
    parts = key.strip().split(".")
    if not all(parts):
        raise ConfigError(f"--set {text!r}: the key {key!r} is not a dotted name such as optim.lr_g")
    try:
        value = yaml.safe_load(value_text) if value_text.strip() else None
    except yaml.YAMLError:
        raise ConfigError(f"--set {text!r}: the value {value_text!r} is not valid YAML") from None
    return parts, value


def apply_overrides(raw: dict[str, Any], overrides: list[str]) -> dict[str, Any]:
    """Apply ``key=value`` overrides to a nested dict (in place) and return it."""
    for text in overrides:
        parts, value = parse_override(text)
        node = raw
        for depth, part in enumerate(parts[:-1]):
            child = node.setdefault(part, {})
            if not isinstance(child, dict):
                raise ConfigError(f"--set {text!r}: {'.'.join(parts[:depth + 1])} is not a section")
            node = child
        node[parts[-1]] = value
    return raw


def read_yaml(path: str | Path) -> Any:
    path = Path(path)
    try:
        text = path.read_text()
    except FileNotFoundError:
        raise ConfigError(f"{path}: config file not found") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: cannot read config ({exc.__class__.__name__})") from None
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark else ""
        raise ConfigError(f"{path}: not valid YAML{where}") from None


PRESETS = Path(__file__).resolve().parents[1] / "configs"
"""The presets that ship with gankit (``src/gankit/configs``; ``configs/`` in a checkout links there)."""


def preset_names() -> list[str]:
    """The names of the shipped presets, e.g. ``mnist_dcgan``."""
    return sorted(p.stem for p in PRESETS.glob("*.yaml"))


def resolve_config_path(config: str | Path) -> Path:
    """The YAML file ``config`` names: a path to a file, else a shipped preset's name (``mnist_dcgan[.yaml]``).

    Raises:
        ConfigError: a bare name that is neither a file nor a preset, with the presets listed.
    """
    path = Path(config)
    if path.is_file():
        return path
    if path.parent == Path(".") and path.suffix in ("", ".yaml"):
        preset = PRESETS / f"{path.stem if path.suffix else path.name}.yaml"
        if preset.is_file():
            return preset
        raise ConfigError(f"{config}: no such config file or preset; presets: {', '.join(preset_names())}")
    return path


def load_config(path: str | Path | None = None, overrides: list[str] | None = None) -> Config:
    """Load a YAML config (a path or a preset's name; the defaults when ``path`` is None) and apply overrides."""
    if path is not None:
        path = resolve_config_path(path)
    raw = read_yaml(path) if path is not None else {}
    if raw is None:
        raw = {}
    if not isinstance(raw, dict):
        raise ConfigError(f"{path}: the top level must be a mapping of sections (data, model, loss, optim, train, reg, ema, augment, restore)")
    return config_from_dict(apply_overrides(raw, list(overrides or [])))


def save_config(cfg: Config, path: str | Path) -> None:
    """Write the resolved config as YAML, atomically."""
    from gankit.run import atomic_write

    atomic_write(path, yaml.safe_dump(config_to_dict(cfg), sort_keys=False))
