"""Scoring restorations side by side: per method PSNR, SSIM, masked PSNR, domain FID or KID, class agreement.

Every method (the degraded input, a baseline, the L1 generator, the GAN generator) restores the
same clean test images; :func:`score_restorations` scores each against them and
:func:`format_restore_table` prints one table per task, one row per method.

* ``psnr`` and ``ssim``: :mod:`gankit.metrics.restoration`, the mean of per-image values (an
  exactly restored image counts as :data:`~gankit.metrics.restoration.PSNR_CAP_DB` dB);
* ``masked_psnr``: PSNR over the missing pixels only (inpainting);
* ``fid`` (Heusel et al. 2017) or ``kid`` (Bińkowski et al. 2018) of the restored images against
  the clean images, which are real test images, in the features of the dataset's domain evaluator
  (:mod:`gankit.metrics.evaluator`; trained on first use). A perfect restoration scores 0; the
  floor (:func:`restore_floors`) is what as many real *training* images score against the same clean
  images, the distance two samples of real data keep;
* ``class_match``: the share of restored images the evaluator reads as the original's label (MNIST,
  Fashion-MNIST and other labelled data); its ceiling is the evaluator's accuracy on the clean images.
"""

from __future__ import annotations

import math
import os
from typing import Any

import torch

from gankit.data import DatasetSpec
from gankit.errors import ConfigError
from gankit.metrics import Features
from gankit.metrics.extractors import FeatureExtractor
from gankit.metrics.fid import fid
from gankit.metrics.kid import kid
from gankit.metrics.restoration import PSNR_CAP_DB, mean_psnr, psnr, ssim

FEATURE_METRICS = ("auto", "fid", "kid", "none")
AUTO_FID_MIN = 1000
"""``feature_metric="auto"`` takes FID from this many clean images up, KID below it (emoji's 379 test images):
FID's bias grows as the sample shrinks, KID is unbiased."""

COLUMNS = {  # figure -> (header, better, format)
    "psnr": ("PSNR (dB)", "higher", "{:.2f}"),
    "masked_psnr": ("masked PSNR (dB)", "higher", "{:.2f}"),
    "ssim": ("SSIM", "higher", "{:.4f}"),
    "fid": ("FID", "lower", "{:.2f}"),
    "kid": ("KID", "lower", "{:.4f}"),
    "class_match": ("class match", "higher", "{:.1%}"),
}
TASK_TITLES = {"super_resolution": "super-resolution", "denoise": "denoising", "inpaint": "inpainting"}


def resolve_feature_metric(feature_metric: str, num: int) -> str:
    """``"auto"`` -> ``"fid"`` from :data:`AUTO_FID_MIN` images up, else ``"kid"``; the others as given."""
    if feature_metric not in FEATURE_METRICS:
        raise ConfigError(f"feature_metric {feature_metric!r} is not allowed; choose one of: {', '.join(FEATURE_METRICS)}")
    if feature_metric == "auto":
        return "fid" if num >= AUTO_FID_MIN else "kid"
    return feature_metric


def restore_extractor(dataset: DatasetSpec | str, data_dir: str | os.PathLike | None = None) -> FeatureExtractor:
    """The domain evaluator of ``dataset``, trained (once, cached) when there is none yet."""
    from gankit.evaluation.evaluator_training import extractor_for

    return extractor_for(DatasetSpec.of(dataset, data_dir), kind="domain")


def _distance(metric: str, reference: Features, restored: Features, seed: int) -> float:
    if metric == "fid":
        return fid(reference, restored)["fid"]
    return kid(reference, restored, seed=seed)["kid"]


def _check_inputs(clean: torch.Tensor, outputs: dict[str, torch.Tensor], labels: torch.Tensor | None) -> None:
    if clean.dtype != torch.uint8 or clean.ndim != 4:
        raise ConfigError(f"clean images must be uint8 (N, C, H, W), got {clean.dtype} {tuple(clean.shape)}")
    if not outputs:
        raise ConfigError("no restorations to score")
    for name, images in outputs.items():
        if images.dtype != torch.uint8 or images.shape != clean.shape:
            raise ConfigError(f"restoration {name!r} must be uint8 {tuple(clean.shape)} like the clean images, "
                              f"got {images.dtype} {tuple(images.shape)}")
    if labels is not None and (labels.ndim != 1 or len(labels) != len(clean) or labels.is_floating_point()):
        raise ConfigError(f"labels must be integer ({len(clean)},), got {labels.dtype} {tuple(labels.shape)}")


def score_restorations(clean: torch.Tensor, outputs: dict[str, torch.Tensor], *, mask: torch.Tensor | None = None,
                       labels: torch.Tensor | None = None, dataset: DatasetSpec | str | None = None,
                       feature_metric: str = "auto", extractor: FeatureExtractor | None = None,
                       seed: int = 0) -> dict[str, dict[str, float]]:
    """Score each method's restorations of ``clean``.

    Args:
        clean: uint8 (N, C, H, W), the real test images that were degraded.
        outputs: method name -> its uint8 (N, C, H, W) restorations, image i restoring ``clean[i]``.
        mask: bool (N or 1, 1, H, W), True on the missing pixels; adds ``masked_psnr``.
        labels: (N,) class of each clean image; adds ``class_match`` (needs a classifier).
        dataset: the dataset whose domain evaluator gives the features; None with no ``extractor``:
            no feature figures.
        feature_metric: ``"fid"``, ``"kid"``, ``"auto"`` (:func:`resolve_feature_metric`) or ``"none"``.
        extractor: the feature extractor to use instead of ``dataset``'s evaluator (e.g. an evaluator
            trained from another seed, for a model trained against the evaluator's features).
        seed: the KID subset seed.

    Returns:
        method -> {figure: value}, figures among ``psnr``, ``ssim``, ``masked_psnr``, ``fid`` or ``kid``,
        ``class_match``, in the order of ``outputs``.
    """
    _check_inputs(clean, outputs, labels)
    metric = resolve_feature_metric(feature_metric, len(clean))
    if metric == "none" and labels is None:
        extractor = None  # no figure reads features
    elif extractor is None and dataset is not None:
        extractor = restore_extractor(dataset)
    reference = extractor(clean) if extractor is not None else None
    if labels is not None and (reference is None or reference.probs is None):
        raise ConfigError("labels were given, but there is no classifier to read the restored images: pass dataset= (a labelled dataset)")
    scores: dict[str, dict[str, float]] = {}
    for name, restored in outputs.items():
        row = {"psnr": mean_psnr(psnr(restored, clean)), "ssim": float(ssim(restored, clean).mean())}
        if mask is not None:
            row["masked_psnr"] = mean_psnr(psnr(restored, clean, mask if mask.dtype == torch.bool else mask > 0.5))
        if reference is not None:
            features = extractor(restored)
            if metric != "none":
                row[metric] = _distance(metric, reference, features, seed)
            if labels is not None:
                row["class_match"] = float((features.probs.argmax(dim=1) == labels.to(features.probs.device)).double().mean())
        scores[name] = row
    return scores


def restore_floors(clean: torch.Tensor, *, dataset: DatasetSpec | str, labels: torch.Tensor | None = None,
                   feature_metric: str = "auto", extractor: FeatureExtractor | None = None, seed: int = 0) -> dict[str, float]:
    """What real data scores: ``len(clean)`` real training images against ``clean`` (FID or KID), and the
    evaluator's accuracy on ``clean`` (``class_match``, with ``labels``).

    Training images are other real images of the domain, so their distance to the clean test images is
    the sampling floor: a restoration closer than that is as close as real data gets.
    """
    from gankit.metrics.stats_cache import real_subset

    metric = resolve_feature_metric(feature_metric, len(clean))
    extractor = extractor or restore_extractor(dataset)
    reference = extractor(clean)
    floors: dict[str, float] = {}
    if metric != "none":
        others = real_subset(DatasetSpec.of(dataset), "train", len(clean), seed=seed)
        floors[metric] = _distance(metric, reference, extractor(others), seed)
    if labels is not None and reference.probs is not None:
        floors["class_match"] = float((reference.probs.argmax(dim=1) == labels).double().mean())
    return floors


def describe_extractor(extractor: FeatureExtractor) -> str:
    """``evaluator-<id> (dataset, test accuracy 91.2%)`` for a domain evaluator, else its id."""
    meta = getattr(extractor, "meta", None)
    if not isinstance(meta, dict) or "dataset" not in meta:
        return extractor.id
    return f"{extractor.id} ({meta['dataset']} domain evaluator, test accuracy {100 * float(meta['test_accuracy']):.1f}%)"


def _cell(figure: str, value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, float) and math.isnan(value):
        return "nan"
    return COLUMNS[figure][2].format(value)


def format_restore_table(task: str, scores: dict[str, dict[str, float]], floors: dict[str, float] | None = None, *,
                         evaluator: str | None = None, num: int | None = None) -> str:
    """A Markdown table, one row per method (in the order of ``scores``), one column per figure.

    Args:
        task: ``super_resolution``, ``denoise`` or ``inpaint`` (the title).
        scores: :func:`score_restorations`' result.
        floors: :func:`restore_floors`' result, printed as a last row ``real data (floor)``.
        evaluator: what gave the features (:func:`describe_extractor`), named under the table.
        num: the number of test images, named in the title.
    """
    if task not in TASK_TITLES:
        raise ConfigError(f"task {task!r} is not allowed; choose one of: {', '.join(TASK_TITLES)}")
    if not scores:
        raise ConfigError("no scores to tabulate")
    present = {figure for row in [*scores.values(), floors or {}] for figure in row}
    unknown = sorted(present - set(COLUMNS))
    if unknown:
        raise ConfigError(f"unknown figure(s) {', '.join(unknown)}; a restoration table shows: {', '.join(COLUMNS)}")
    figures = [f for f in COLUMNS if f in present]
    header = ["method", *(f"{COLUMNS[f][0]} {'↑' if COLUMNS[f][1] == 'higher' else '↓'}" for f in figures)]
    rows = [[name, *(_cell(f, row.get(f)) for f in figures)] for name, row in scores.items()]
    if floors:
        rows.append(["real data (floor)", *(_cell(f, floors.get(f)) for f in figures)])
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]

    def line(cells: list[str]) -> str:
        return "| " + " | ".join(c.ljust(widths[0]) if i == 0 else c.rjust(widths[i]) for i, c in enumerate(cells)) + " |"

    rule = "| " + " | ".join(("-" * widths[0]) if i == 0 else ("-" * (widths[i] - 1) + ":") for i in range(len(header))) + " |"
    title = f"{TASK_TITLES[task]}" + (f", {num} test images" if num else "")
    notes = [f"PSNR: mean of per-image values, exact restorations counted as {PSNR_CAP_DB:.0f} dB; "
             "SSIM: Wang et al. 2004, 11x11 Gaussian window, sigma 1.5."]
    if evaluator:
        notes.append(f"features: {evaluator}; FID/KID against the clean test images.")
    if floors:
        notes.append("floor: as many real training images against the same clean images; class match: the evaluator's accuracy on them.")
    return "\n".join([title, "", line(header), rule, *(line(r) for r in rows), "", *notes])
