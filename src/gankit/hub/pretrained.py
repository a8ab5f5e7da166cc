"""A trained model in the layout of huggingface_hub's ``PyTorchModelHubMixin``, and pushing it to the Hub.

A directory written by :func:`write_pretrained` (``Pipeline.save_pretrained``, ``gankit export RUN --format hf``)::

    DIR/config.json         format, gankit_version, library_name, kind, then the spec that rebuilds the network
                            (model, img_shape, latent_dim, num_classes, options, class_prior), step and the
                            run's training_config when known
    DIR/model.safetensors   the network's weights (safetensors metadata ``format: pt``)
    DIR/README.md           the model card: the training recipe, the evaluation figures with their floors, the grid
    DIR/samples.png         a grid of samples (2D points: a scatter plot over the data)

:func:`read_pretrained` reads it back without executing anything: JSON and safetensors only. A
``config.json`` of a newer :data:`HF_FORMAT` than this gankit reads is refused with one line.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

import torch
from torch import nn

from gankit import __version__
from gankit.errors import CheckpointError, GankitError, first_line
from gankit.hub.pipeline import Pipeline, Source, load_custom, CUSTOM_MODEL

log = logging.getLogger("gankit")

HF_FORMAT = 1
"""The layout of ``config.json`` in a gankit model directory."""
SPEC_KEYS = ("model", "img_shape", "latent_dim", "num_classes", "options", "class_prior", "step")
CONFIG_NAME, WEIGHTS_NAME, CARD_NAME, GRID_NAME = "config.json", "model.safetensors", "README.md", "samples.png"


def write_pretrained(pipeline: Pipeline, directory: str | Path, num_samples: int = 64, seed: int = 0) -> Path:
    """Write ``pipeline`` into ``directory`` in the Hugging Face layout (each file atomically; config.json last).

    Returns:
        ``directory``.
    """
    from safetensors.torch import save

    from gankit.run import atomic_write

    directory = Path(directory)
    if directory.exists() and not directory.is_dir():
        raise GankitError(f"{directory}: exists and is not a directory")
    directory.mkdir(parents=True, exist_ok=True)
    weights = {k: v.detach().cpu().contiguous() for k, v in pipeline.module.state_dict().items()}
    atomic_write(directory / WEIGHTS_NAME, save(weights, metadata={"format": "pt"}))
    grid = _write_grid(pipeline, directory / GRID_NAME, num_samples, seed)
    atomic_write(directory / CARD_NAME, model_card(pipeline, grid, num_samples, seed))
    atomic_write(directory / CONFIG_NAME, json.dumps(pretrained_config(pipeline), indent=2) + "\n")
    return directory


def pretrained_config(pipeline: Pipeline) -> dict[str, Any]:
    """The contents of ``config.json``."""
    config = {"format": HF_FORMAT, "gankit_version": __version__, "library_name": "gankit", "kind": pipeline.kind}
    config.update({k: pipeline.spec[k] for k in SPEC_KEYS if k in pipeline.spec})
    if pipeline.config is not None:
        config["training_config"] = pipeline.config
    return config


def _write_grid(pipeline: Pipeline, path: Path, num: int, seed: int) -> Path | None:
    """``samples.png`` from ``sample(num, seed)``; None for a pipeline that does not sample or 2D points without data."""
    from gankit.run import write_samples_file

    if not callable(getattr(pipeline, "sample", None)):
        return None
    samples = pipeline.sample(num, seed=seed)
    reference = None
    if samples.ndim == 2:
        reference = _reference_points(pipeline)
        if reference is None:
            return None
    return write_samples_file(path, samples, reference=reference, title=f"{pipeline.model_name}, seed {seed}")


def _reference_points(pipeline: Pipeline) -> torch.Tensor | None:
    """The first 2,000 training points of a vector-data run (the backdrop of its scatter plot), loaded by name."""
    from gankit.data import load_dataset

    try:
        return load_dataset(pipeline.config["data"]["name"], "train").images[:2000]
    except (GankitError, KeyError, TypeError):
        return None


def model_card(pipeline: Pipeline, grid: Path | None, num: int, seed: int) -> str:
    """``README.md``: front matter for the Hub, what was trained, the evaluation figures and floors, the grid, usage."""
    spec, config = pipeline.spec, pipeline.config or {}
    data = config.get("data", {}).get("name", "unknown data")
    step = f"{spec['step']:,} training steps" if isinstance(spec.get("step"), int) else "training"
    lines = ["---", "library_name: gankit", "tags:", "- gankit", "- gan", "---", "",
             f"# {spec['model']} on {data}", "",
             f"The `{spec['model']}` {pipeline.kind} of a gankit run: {step} on `{data}`; saved by gankit {__version__} "
             f"(model format {HF_FORMAT}).", ""]
    if config:
        import yaml

        recipe = {k: config[k] for k in RECIPE if k in config}
        preset = matching_preset(config)
        follows = f"the shipped preset `{preset}` (`gankit train {preset}`)" if preset else "no shipped preset"
        lines += ["## Training recipe", "", f"The run follows {follows}. Its resolved recipe (the whole config, `train` "
                  "included, is `training_config` in config.json):", "", "```yaml",
                  yaml.safe_dump(recipe, sort_keys=False).rstrip(), "```", ""]
    lines += _evaluation_lines(pipeline.evaluation)
    if grid is not None:
        lines += ["## Samples", "", f"![{num} samples, seed {seed}]({GRID_NAME})", "",
                  f"`gankit.load(DIR).sample({num}, seed={seed})` draws these {num} again.", ""]
    lines += ["## Use", "", "```python", "import gankit", "", 'g = gankit.load("DIR")   # this directory, downloaded',
              "samples = g.sample(16, seed=0)", "```", ""]
    if spec["model"] == CUSTOM_MODEL:
        lines += ["The generator is a custom class: pass an instance, `gankit.load(DIR, generator=MyGenerator())`.", ""]
    return "\n".join(lines)


RECIPE = ("data", "model", "loss", "optim", "reg", "ema", "augment")
"""The config sections that make a recipe; ``train`` (length, seed, device, logging) does not change what is trained."""


def matching_preset(config: dict[str, Any]) -> str | None:
    """The shipped preset whose resolved recipe (:data:`RECIPE`, the data root aside) is ``config``'s, or None."""
    from gankit.training.config import config_to_dict, load_config, preset_names

    def recipe(raw: dict[str, Any]) -> dict[str, Any]:
        picked = {k: raw.get(k) for k in RECIPE}
        picked["data"] = {k: v for k, v in (picked["data"] or {}).items() if k != "dir"}
        return picked

    wanted = recipe(config)
    for name in preset_names():
        try:
            if recipe(config_to_dict(load_config(name))) == wanted:
                return name
        except GankitError:
            continue
    return None


def _evaluation_lines(record: dict[str, Any] | None) -> list[str]:
    """The figures of ``eval.json`` beside their floors (real held-out data against the training data)."""
    if not record:
        return ["## Evaluation", "", "Not evaluated: `gankit eval RUN` measures it and records it in the run's eval.json.", ""]
    floors = record.get("floor") or {}
    evaluator = (record.get("evaluator") or {}).get("id") or record.get("extractor", "?")
    rows = ["| figure | value | floor |", "| --- | --- | --- |"]
    rows += [f"| {name} | {_figure(value)} | {_figure(floors.get(name))} |" for name, value in record["metrics"].items()]
    modes, modes_floor = record.get("modes"), record.get("modes_floor") or {}
    if isinstance(modes, dict):  # the mode benchmarks (2D mixtures, Stacked MNIST)
        rows.append(f"| modes | {_covered(modes)} | {_covered(modes_floor)} |")
        rows += [f"| {key} | {_figure(modes.get(key))} | {_figure(modes_floor.get(key))} |"
                 for key in ("high_quality", "reverse_kl", "channel_kl") if modes.get(key) is not None]
    return ["## Evaluation", "",
            f"`gankit eval` on {record.get('num', '?')} samples (seed {record.get('seed', '?')}) against "
            f"`{record.get('dataset', '?')}`, evaluator `{evaluator}`. The floor is the same figure for real held-out "
            "data against the training data: the best a generator can be expected to reach.", "", *rows, ""]


def _covered(modes: dict[str, Any]) -> str:
    return f"{modes.get('modes')}/{modes.get('num_modes')}" if modes else "-"


def _figure(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.4g}"
    return "-" if value is None else str(value)


def read_pretrained(directory: str | Path, generator: nn.Module | None = None) -> Source:
    """The network of a directory in the Hugging Face layout, rebuilt without executing anything.

    Raises:
        CheckpointError: a missing or unreadable file, a newer format, an unknown model, weights that do not fit.
    """
    from gankit.models import MODELS
    from gankit.run import check_format

    directory = Path(directory)
    raw = _read_config(directory)
    origin = str(directory)
    check_format(raw.get("format"), HF_FORMAT, "model directory", origin, raw.get("gankit_version"))
    spec = {k: raw[k] for k in SPEC_KEYS if k in raw}
    name = spec.get("model")
    if not isinstance(name, str) or name != CUSTOM_MODEL and name not in MODELS:
        raise CheckpointError(f"{directory / CONFIG_NAME}: model {name!r} is not one this gankit has; "
                              f"known: {', '.join(MODELS.names())}")
    weights = _read_weights(directory / WEIGHTS_NAME)
    training = raw.get("training_config") if isinstance(raw.get("training_config"), dict) else None
    if name == CUSTOM_MODEL or generator is not None:
        return Source(load_custom(generator, weights, origin), spec, origin, training)
    return Source(_rebuild(spec, weights, origin), spec, origin, training)


def _read_config(directory: Path) -> dict[str, Any]:
    path = directory / CONFIG_NAME
    try:
        raw = json.loads(path.read_text())
    except FileNotFoundError:
        raise CheckpointError(f"{path}: missing; a gankit model directory needs {CONFIG_NAME} and {WEIGHTS_NAME}") from None
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise CheckpointError(f"{path}: cannot read ({first_line(exc)})") from None
    if not isinstance(raw, dict):
        raise CheckpointError(f"{path}: not a mapping of keys")
    if raw.get("library_name") != "gankit":
        raise CheckpointError(f"{path}: not a gankit model (library_name is {raw.get('library_name')!r}, expected 'gankit')")
    return raw


def _read_weights(path: Path) -> dict[str, torch.Tensor]:
    """The tensors of a safetensors file; anything else (a pickle, a truncated file) is refused unread."""
    from safetensors import SafetensorError
    from safetensors.torch import load

    try:
        return load(path.read_bytes())
    except FileNotFoundError:
        raise CheckpointError(f"{path}: missing; a gankit model directory needs {CONFIG_NAME} and {WEIGHTS_NAME}") from None
    except (OSError, SafetensorError, ValueError) as exc:
        raise CheckpointError(f"{path}: not a valid safetensors file ({first_line(exc)})") from None


def _rebuild(spec: dict[str, Any], weights: dict[str, torch.Tensor], origin: str) -> nn.Module:
    from gankit.models import check_class_prior, create_model

    try:
        if "class_prior" in spec:
            check_class_prior(spec["class_prior"], spec["num_classes"])
        pair = create_model(spec["model"], tuple(spec["img_shape"]), spec["latent_dim"], spec["num_classes"], **spec["options"])
        pair.generator.load_state_dict(weights)
    except (GankitError, ValueError, KeyError, RuntimeError, TypeError, AttributeError) as exc:
        raise CheckpointError(f"{origin}: cannot rebuild the model of {CONFIG_NAME} ({first_line(exc)})") from None
    return pair.generator.eval()


def push_to_hub(directory: str | Path, repo_id: str) -> str:
    """Upload a model directory to the Hugging Face Hub as ``repo_id``; returns the repository's URL.

    Needs huggingface_hub and a token (``HF_TOKEN`` or ``hf auth login``); without either it stops with one line.
    """
    try:
        import huggingface_hub
    except ImportError:
        raise GankitError(f"--push needs huggingface_hub (pip install huggingface_hub); {directory} is written, "
                          "push it later with huggingface_hub's upload_folder") from None
    token = huggingface_hub.get_token()
    if not token:
        raise GankitError(f"--push {repo_id}: no Hugging Face token (set HF_TOKEN or run: hf auth login); {directory} is written")
    try:
        api = huggingface_hub.HfApi(token=token)
        url = api.create_repo(repo_id, exist_ok=True)
        api.upload_folder(folder_path=str(directory), repo_id=repo_id, commit_message=f"gankit {__version__} export")
    except Exception as exc:  # network, permission or name errors of the Hub: one line, the directory stays
        raise GankitError(f"--push {repo_id}: the upload failed ({first_line(exc)}); {directory} is written") from None
    return str(url)
