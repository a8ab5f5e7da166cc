"""``gankit eval`` on a restoration run: the run, its L1 baseline run and the classical baselines, side by side.

Every method restores the same test images: the test split degraded once on the evaluation stream
(:meth:`gankit.restore.PairedData.evaluation_set`, seed 0 for every run). The rows are the degraded input where it
has the output's size (denoising), the task's classical baselines (:mod:`gankit.evaluation.restore_baselines`),
the L1-only generator (``restore.adv_weight=0``) and the adversarial one; the figures are
:func:`gankit.evaluation.restore_eval.score_restorations`' (PSNR, SSIM, masked PSNR, domain FID or KID, class match).

The L1 run is ``--baseline-run``; without it, a GAN run named ``NAME_gan`` finds its L1 run beside it as
``NAME_l1`` (the names the presets' commands use). A run trained with ``adv_weight=0`` is itself the L1 row.

A run trained with the domain evaluator's feature loss (``restore.feature_weight`` > 0,
:mod:`gankit.restore.feature_loss`) is its own row, ``GAN + evaluator features`` (``L1 + evaluator features`` with
``adv_weight=0``), beside the GAN run without it (``--gan-run``; default ``NAME_gan`` beside a run ``NAME_feat``).
Every row is then scored by a domain evaluator trained from another seed than the one the run was trained against
(:func:`gankit.evaluation.evaluator_training.evaluator_with_seed`; the next seed unless ``evaluator_seed`` is given),
and the record names both.
"""

from __future__ import annotations

import io
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from gankit.data import DatasetSpec, load_data, to_uint8
from gankit.errors import ConfigError
from gankit.models import is_paired
from gankit.restore.degrade import create_degradation
from gankit.restore.paired import PairedData, restore_batches

RESULT_FILE = "restore_eval.json"
"""What ``gankit eval`` writes into a restoration run: the table's figures, the evaluator, the runs scored."""


@dataclass
class RestoreEvaluation:
    """The scores (method -> figures), the floors, the table as printed, and what a figure needs."""

    task: str
    scores: dict[str, dict[str, float]]
    floors: dict[str, float]
    table: str
    record: dict[str, Any]
    images: dict[str, torch.Tensor]  # method -> uint8 (N, C, H, W); "input" and "clean" too


def is_restoration_run(run_dir: str | Path) -> bool:
    """Whether ``run_dir``'s config names a restoration model (False when it has no readable config)."""
    from gankit.run import RunDir

    try:
        return is_paired(RunDir(run_dir).read_config().model.name)
    except (ConfigError, OSError):
        return False


def find_l1_run(run_dir: str | Path) -> Path | None:
    """The L1 run beside a GAN run by the presets' naming: ``X_gan`` (or a feature-loss run ``X_feat``) -> ``X_l1``;
    None when there is none."""
    run_dir = Path(run_dir)
    suffix = next((s for s in ("_gan", "_feat") if run_dir.name.endswith(s)), None)
    if suffix is None:
        return None
    candidate = run_dir.with_name(run_dir.name[:-len(suffix)] + "_l1")
    return candidate if (candidate / "config.yaml").is_file() else None


def find_gan_run(run_dir: str | Path) -> Path | None:
    """The GAN run beside a feature-loss run by name: ``X_feat`` -> ``X_gan``; None when there is none."""
    run_dir = Path(run_dir)
    if not run_dir.name.endswith("_feat"):
        return None
    candidate = run_dir.with_name(run_dir.name[:-len("_feat")] + "_gan")
    return candidate if (candidate / "config.yaml").is_file() else None


def run_row_name(cfg) -> str:
    """The table row of a run: ``L1`` or ``GAN`` by its adversarial weight, ``+ evaluator features`` with the feature loss."""
    name = "L1" if cfg.restore.adv_weight == 0 else "GAN"
    return f"{name} + evaluator features" if cfg.restore.feature_weight > 0 else name


def feature_loss_evaluator(cfgs: dict[str, Any], spec, evaluator_seed: int | None = None):
    """The evaluator that scores runs of which some were trained with the feature loss, and what to say about it.

    Args:
        cfgs: row name -> the run's config.
        spec: the dataset.
        evaluator_seed: the scoring evaluator's seed (default: one above the highest seed trained against).

    Returns:
        (extractor, seed, {row: seed of the evaluator it was trained against}); (None, None, {}) when no run used
        the feature loss and no ``evaluator_seed`` is given.

    Raises:
        ConfigError: ``evaluator_seed`` is the seed of an evaluator a run was trained against.
    """
    from gankit.evaluation.evaluator_training import evaluator_with_seed
    from gankit.restore.feature_loss import scoring_evaluator_seed

    trained = {name: cfg.restore.feature_evaluator_seed for name, cfg in cfgs.items() if cfg.restore.feature_weight > 0}
    if not trained and evaluator_seed is None:
        return None, None, {}
    if evaluator_seed is not None and evaluator_seed in trained.values():
        row = next(name for name, seed in trained.items() if seed == evaluator_seed)
        raise ConfigError(f"--evaluator-seed {evaluator_seed}: row {row!r} was trained against the features of that evaluator, "
                          f"which would grade its own loss; give another seed (default {scoring_evaluator_seed(max(trained.values()))})")
    seed = evaluator_seed if evaluator_seed is not None else scoring_evaluator_seed(max(trained.values()))
    return evaluator_with_seed(spec, seed), seed, trained


def _generator(run_dir: Path, checkpoint: str | None, cfg) -> torch.nn.Module:
    from gankit.run import RunDir

    generator, spec = RunDir(run_dir).load_generator(checkpoint)
    if not is_paired(spec["model"]):
        raise ConfigError(f"{run_dir}: model {spec['model']!r} is not a restoration model")
    return generator


def _check_same_task(run_cfg, other_cfg, other: Path) -> None:
    for key in ("degradation", "sigma", "amount"):
        if getattr(run_cfg.restore, key) != getattr(other_cfg.restore, key):
            raise ConfigError(f"--baseline-run {other}: restore.{key} is {getattr(other_cfg.restore, key)!r}, "
                              f"the run's is {getattr(run_cfg.restore, key)!r}; compare runs of one task")
    if run_cfg.data.name != other_cfg.data.name or run_cfg.data.image_size != other_cfg.data.image_size:
        raise ConfigError(f"--baseline-run {other}: trained on {other_cfg.data.name!r}, the run on {run_cfg.data.name!r}")


def baseline_outputs(task: str, degraded: torch.Tensor, mask: torch.Tensor | None, scale: int) -> dict[str, torch.Tensor]:
    """The classical baselines' restorations of uint8 degraded images (N, C, h, w)."""
    from gankit.evaluation.restore_baselines import baselines_for

    outputs = {}
    for name, fn in baselines_for(task).items():
        if task == "super_resolution":
            outputs[name] = fn(degraded, scale)
        elif task == "inpaint":
            outputs[name] = fn(degraded, mask)
        else:
            outputs[name] = fn(degraded)
    return outputs


def evaluate_restoration(run_dir: str | Path, baseline_run: str | Path | None = None, num: int | None = None,
                         checkpoint: str | None = None, feature_metric: str = "auto", floor: bool = True,
                         extractor=None, classes: bool = True, gan_run: str | Path | None = None,
                         evaluator_seed: int | None = None) -> RestoreEvaluation:
    """Score run ``run_dir`` (and its L1 run) against the classical baselines on the degraded test split.

    Args:
        run_dir: a restoration run.
        baseline_run: its L1-only run (default: :func:`find_l1_run`; none when the run is itself L1-only).
        num: score the first ``num`` test images (default: all).
        checkpoint: a checkpoint of ``run_dir`` (default: its newest valid one, else its export).
        feature_metric: ``auto`` (FID from 1,000 images, else KID), ``fid``, ``kid`` or ``none``.
        floor: also score real training images against the clean test images.
        extractor: the feature extractor (default: the dataset's domain evaluator).
        classes: with a labelled dataset, also the share of restorations the evaluator reads as the original's class.
        gan_run: with a feature-loss run, the GAN run without the feature loss to show beside it (default: :func:`find_gan_run`).
        evaluator_seed: score with the domain evaluator trained from this seed (default: the default evaluator; for
            feature-loss runs, one above the seed they were trained against).
    """
    from gankit.evaluation.restore_eval import describe_extractor, format_restore_table, restore_extractor, restore_floors, score_restorations
    from gankit.run import RunDir

    run_dir = Path(run_dir)
    cfg = RunDir(run_dir).read_config()
    if not is_paired(cfg.model.name):
        raise ConfigError(f"{run_dir}: model {cfg.model.name!r} is not a restoration model")
    runs: dict[str, Path] = {}
    own_is_l1 = cfg.restore.adv_weight == 0
    l1_run = Path(baseline_run) if baseline_run is not None else (None if own_is_l1 else find_l1_run(run_dir))
    if l1_run is not None:
        l1_cfg = RunDir(l1_run).read_config()
        _check_same_task(cfg, l1_cfg, l1_run)
        if l1_cfg.restore.adv_weight != 0:
            raise ConfigError(f"--baseline-run {l1_run}: restore.adv_weight is {l1_cfg.restore.adv_weight}; the L1 baseline has 0")
        runs["L1"] = l1_run
    cfgs = {"L1": l1_cfg} if l1_run is not None else {}
    own_row = run_row_name(cfg)
    if cfg.restore.feature_weight > 0:
        gan_run = Path(gan_run) if gan_run is not None else find_gan_run(run_dir)
    elif gan_run is not None:
        raise ConfigError(f"--gan-run {gan_run}: it is shown beside runs trained with the feature loss (restore.feature_weight > 0) only")
    if gan_run is not None:
        gan_cfg = RunDir(gan_run).read_config()
        _check_same_task(cfg, gan_cfg, gan_run)
        if gan_cfg.restore.adv_weight == 0 or run_row_name(gan_cfg) == own_row:
            raise ConfigError(f"--gan-run {gan_run}: give a run with restore.adv_weight > 0 and without the run's feature loss")
        runs[run_row_name(gan_cfg)] = gan_run
        cfgs[run_row_name(gan_cfg)] = gan_cfg
    runs[own_row] = run_dir
    cfgs[own_row] = cfg
    test = load_data(cfg.data, "test")
    pairs = PairedData(test, cfg.restore.degradation, 0, cfg.restore.sigma, cfg.restore.amount).evaluation_set(num)
    degradation = create_degradation(cfg.restore.degradation)
    n, task, scale = len(pairs.clean), degradation.task, degradation.scale
    clean, degraded = to_uint8(pairs.clean), to_uint8(pairs.degraded.images)
    mask = None if pairs.mask is None else pairs.mask > 0.5
    outputs: dict[str, torch.Tensor] = {}
    if task == "denoise":
        outputs["noisy input"] = degraded
    outputs.update(baseline_outputs(task, degraded, mask, scale))
    for name, path in runs.items():
        outputs[name] = restore_batches(_generator(path, checkpoint if path == run_dir else None, cfg), pairs.inputs)
    spec = DatasetSpec.from_config(cfg.data)
    labels = test.labels[:n] if test.labels is not None and classes else None
    wants_features = feature_metric != "none" or labels is not None
    seeded, seed, trained = feature_loss_evaluator(cfgs, spec, evaluator_seed) if extractor is None and wants_features else (None, None, {})
    extractor = extractor or seeded or (restore_extractor(spec) if wants_features else None)
    scores = score_restorations(clean, outputs, mask=mask, labels=labels, dataset=spec, feature_metric=feature_metric, extractor=extractor)
    floors = restore_floors(clean, dataset=spec, labels=labels, feature_metric=feature_metric, extractor=extractor) if floor and extractor else {}
    evaluator = describe_extractor(extractor) if extractor is not None else None
    trained_against = {}
    if seed is not None:
        from gankit.evaluation.evaluator_training import seeded_evaluator_id

        trained_against = {row: seeded_evaluator_id(spec, s) for row, s in trained.items()}
        evaluator += f", trained from seed {seed}"
        if trained:
            against = ", ".join(f"{row!r} against {trained_against[row]} (seed {s})" for row, s in trained.items())
            evaluator += f"; the feature loss trained {against}"
    table = format_restore_table(task, scores, floors, evaluator=evaluator, num=n)
    record = {"task": task, "degradation": cfg.restore.degradation, "dataset": cfg.data.name, "num": n,
              "runs": {name: str(path) for name, path in runs.items()}, "evaluator": evaluator,
              "scores": scores, "floors": floors}
    if seed is not None:
        record["evaluator_seed"] = seed
        record["feature_loss"] = {row: {"weight": cfgs[row].restore.feature_weight, "evaluator_seed": s, "evaluator": trained_against[row]}
                                  for row, s in trained.items()}
    shown = pairs.degraded.images
    if scale > 1:  # the input's own pixels, enlarged
        shown = torch.nn.functional.interpolate(shown, scale_factor=scale, mode="nearest")
    return RestoreEvaluation(task, scores, floors, table, record, {"input": to_uint8(shown), **outputs, "clean": clean})


def write_record(run_dir: str | Path, record: dict[str, Any]) -> Path:
    """``RUN/restore_eval.json``, atomically."""
    from gankit.run.files import atomic_write

    return atomic_write(Path(run_dir) / RESULT_FILE, json.dumps(record, indent=2, allow_nan=False) + "\n")


def comparison_figure(evaluation: RestoreEvaluation, out: str | Path, rows: int = 8, zoom: int = 3) -> Path:
    """A PNG with one row per test image (``rows`` spread evenly over the test images) and the columns
    input | best baseline (by PSNR) | L1 | GAN | ground truth.

    The input is shown at the output's size (nearest-neighbour for super-resolution, so its pixels show); the
    baseline is the task's classical baseline with the highest PSNR in ``evaluation``. Written atomically.
    """
    from PIL import Image
    from torchvision.utils import make_grid

    from gankit.run.files import atomic_write

    columns = figure_columns(evaluation)[:-1] + ["clean"]
    total = len(evaluation.images["clean"])
    picked = torch.linspace(0, total - 1, min(rows, total)).round().long()  # spread over the test split (often sorted by class)
    tiles = torch.stack([evaluation.images[c][picked] for c in columns], dim=1).flatten(0, 1)  # (rows * cols, C, H, W)
    grid = make_grid(tiles, nrow=len(columns), padding=2, pad_value=255)  # (C, H', W')
    array = grid.permute(1, 2, 0).numpy()
    image = Image.fromarray(array[:, :, 0] if array.shape[2] == 1 else array)
    image = image.resize((image.width * zoom, image.height * zoom), Image.NEAREST)
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return atomic_write(out, buffer.getvalue())


def figure_columns(evaluation: RestoreEvaluation) -> list[str]:
    """The column names :func:`comparison_figure` shows, left to right."""
    from gankit.evaluation.restore_baselines import baselines_for

    baselines = [name for name in baselines_for(evaluation.task) if name in evaluation.scores]
    best = max(baselines, key=lambda name: evaluation.scores[name]["psnr"])
    runs = list(evaluation.record.get("runs", {})) or [name for name in ("L1", "GAN") if name in evaluation.images]
    return ["input", best] + [name for name in runs if name in evaluation.images] + ["ground truth"]
