"""Evaluate a set of samples against a dataset, with the real-vs-real floor beside every figure.

The reference set is ``num`` real *training* items; the samples are scored
against it, and so are ``num`` real *test* items (the floor: what a perfect
generator that reproduced the data distribution, but not the training images,
would score with this many samples). The gap between a figure and its floor is
how far a model is from "as good as real data".

A generator that returns its training images would sit on every floor, so with
``memorisation`` the samples' nearest-training distances are also compared with the
test items' (:mod:`gankit.metrics.memorisation`), in the evaluator's features and in
pixels, and ``fid_test`` scores the samples against the test items instead of the
training items.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass, field
from typing import Any

import torch

from gankit.data import DatasetSpec
from gankit.errors import ConfigError
from gankit.metrics import FIGURES, Features, compute_metrics, needs_probs, parse_metric_names
from gankit.metrics.extractors import FeatureExtractor, IdentityExtractor, StackedExtractor, default_extractor
from gankit.metrics.fid import frechet_distance, mean_and_covariance
from gankit.metrics.memorisation import memorisation_with_floor, pixel_vectors
from gankit.metrics.modes import STACKED_MODES, ModeScore, score_mixture, score_stacked
from gankit.metrics.precision_recall import precision_recall_by_class
from gankit.metrics.stats_cache import real_features, real_subset

DEFAULT_NUM = 10_000
MEMORISATION_TRAIN = 20_000  # training items searched for each sample's nearest one (all of them, up to this many)
PIXEL_BUDGET = 1e11  # multiply-adds the search in pixels may take (about 10 s on one core); above it, features only
FLOOR_DRAWS = 5  # draws of the real subsets over which the per-class floor recall's spread is measured
VECTOR_METRICS = ["fid", "kid", "pr", "dc"]
IMAGE_METRICS = ["fid", "kid", "is", "pr", "dc", "classes"]


@dataclass
class EvalResult:
    dataset: str
    extractor: str
    num: int
    metrics: dict[str, float]
    floor: dict[str, float] | None = None
    floor_num: int = 0
    modes: ModeScore | None = None
    modes_floor: ModeScore | None = None
    by_class: list[dict[str, Any]] | None = None
    notes: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            "dataset": self.dataset,
            "extractor": self.extractor,
            "num": self.num,
            "metrics": _finite(self.metrics),
            "floor": _finite(self.floor) if self.floor is not None else None,
            "floor_num": self.floor_num,
            "modes": self.modes.to_dict() if self.modes else None,
            "modes_floor": self.modes_floor.to_dict() if self.modes_floor else None,
            "by_class": self.by_class,
            "notes": list(self.notes),
        }


def _finite(values: dict[str, float]) -> dict[str, float | None]:
    return {k: (None if isinstance(v, float) and not math.isfinite(v) else v) for k, v in values.items()}


def check_samples(samples: torch.Tensor, dataset: DatasetSpec | str, data_dir: str | os.PathLike | None = None) -> None:
    """Samples must look like the dataset: uint8 images of its shape, or float vectors of its width."""
    spec = DatasetSpec.of(dataset, data_dir)
    shape = spec.load("train").img_shape
    if len(shape) == 1:
        ok = samples.ndim == 2 and samples.is_floating_point() and tuple(samples.shape[1:]) == shape
        want = f"float (N, {shape[0]}) vectors"
    else:
        ok = samples.dtype == torch.uint8 and tuple(samples.shape[1:]) == shape
        want = f"uint8 (N, {', '.join(map(str, shape))}) images"
    if not ok:
        raise ConfigError(f"samples for dataset {spec.name!r} must be {want}; got {samples.dtype} {tuple(samples.shape)}")
    if len(samples) < 10:
        raise ConfigError(f"need at least 10 samples to evaluate, got {len(samples)}")


def default_metric_names(extractor: FeatureExtractor, dataset: DatasetSpec | str, data_dir=None) -> list[str]:
    vector = DatasetSpec.of(dataset, data_dir).load("train").images.ndim == 2
    return list(VECTOR_METRICS) if vector else list(IMAGE_METRICS)


def mode_score(samples: torch.Tensor, dataset: DatasetSpec | str, extractor: FeatureExtractor) -> ModeScore | None:
    """The mode-collapse score when ``dataset`` is a mode benchmark, else None."""
    from gankit.data.toy2d import MIXTURES

    dataset = DatasetSpec.of(dataset).name
    if dataset in MIXTURES:
        return score_mixture(samples, MIXTURES[dataset])
    if dataset == "stacked-mnist" and isinstance(extractor, StackedExtractor):
        return score_stacked(extractor.digits_of(samples))
    return None


def evaluate_samples(
    samples: torch.Tensor,
    dataset: DatasetSpec | str,
    metrics: list[str] | str | None = None,
    data_dir: str | os.PathLike | None = None,
    extractor: FeatureExtractor | None = None,
    floor: bool = True,
    seed: int = 0,
    by_class: bool = False,
    memorisation: bool = False,
    floor_draws: int = FLOOR_DRAWS,
) -> EvalResult:
    """Score ``samples`` (as the dataset holds its items) against ``dataset``'s real data.

    With ``by_class``, precision and recall are also split by the classifier's class
    (:func:`~gankit.metrics.precision_recall.precision_recall_by_class`), floor beside them,
    and the floor's recall of each class over ``floor_draws`` draws of the real subsets
    (its min, max and standard deviation: how far a figure may stray by chance). With
    ``memorisation`` (or ``"memorisation"`` among ``metrics``), the figures of
    :func:`memorisation_figures` are added.
    """
    spec = DatasetSpec.of(dataset, data_dir)
    check_samples(samples, spec)
    extractor = extractor or default_extractor(spec)
    names = parse_metric_names(metrics) if metrics else default_metric_names(extractor, spec)
    if floor_draws < 1:
        raise ConfigError(f"--floor-draws: {floor_draws} must be at least 1")
    if "memorisation" in names:
        names.remove("memorisation")
        memorisation = True
    num = len(samples)
    reference = real_features(spec, "train", extractor, num, seed=seed)
    fake = extractor(samples)
    if reference.probs is None:
        skipped = [n for n in names if needs_probs(n)]
        if skipped and metrics:
            raise ConfigError(f"--metrics {','.join(skipped)}: needs a classifier, and dataset {spec.name!r} is scored on raw vectors")
        names = [n for n in names if not needs_probs(n)]
    if by_class:
        check_by_class(extractor, spec, reference)
    result = EvalResult(spec.name, extractor.id, num, compute_metrics(names, reference, fake, seed=seed))
    if len(reference) < num:
        result.notes.append(f"only {len(reference)} real training items as the reference set")
    result.modes = mode_score(samples, spec, extractor)
    test = real_features(spec, "test", extractor, num, seed=seed) if floor or memorisation else None
    if floor:
        result.floor_num = len(test)
        if len(test) < num:
            result.notes.append(f"the floor uses all {len(test)} test items (fewer than the {num} samples)")
        result.floor = compute_metrics(names, reference, test, seed=seed)
        if result.modes is not None:
            result.modes_floor = mode_score(real_subset(spec, "test", num, seed=seed), spec, extractor)
    if memorisation:
        scored, reference_figures = memorisation_figures(samples, fake, reference, test, spec, extractor, seed, result.notes)
        result.metrics.update(scored)
        if result.floor is not None:
            result.floor.update(reference_figures)
    if by_class:
        spread = floor_recall_spread(spec, extractor, num, seed, floor_draws) if floor else None
        if spread is not None:
            result.notes.append(f"floor recall over draws: min-max and standard deviation of the floor's recall over {floor_draws} "
                                f"draws of the real subsets (subset seeds {seed}..{seed + floor_draws - 1})")
        result.by_class = class_rows(reference, fake, test if floor else None, spec.load("train").class_names, spread)
    return result


def memorisation_figures(samples: torch.Tensor, fake: Features, reference: Features, test: Features, spec: DatasetSpec,
                         extractor: FeatureExtractor, seed: int = 0, notes: list[str] | None = None,
                         ) -> tuple[dict[str, float], dict[str, float]]:
    """``fid_test`` and the memorisation figures of the samples, and the test items' own (the floor).

    The nearest training item is searched among all training items (up to
    :data:`MEMORISATION_TRAIN`), in the evaluator's features and, for images, in pixels.
    ``fid_test``'s floor is the test items' FID against the training reference, the floor of ``fid``.
    """
    test_stats = mean_and_covariance(test.features)
    scored = {"fid_test": frechet_distance(*test_stats, *mean_and_covariance(fake.features))}
    floor = {"fid_test": frechet_distance(*test_stats, *mean_and_covariance(reference.features))}
    train = real_features(spec, "train", extractor, MEMORISATION_TRAIN, seed=seed)
    in_features = memorisation_with_floor(train, fake, test)
    scored.update(in_features[0])
    floor.update(in_features[1])
    pixel_work = (len(samples) + len(test)) * len(train) * samples[0].numel()
    if samples.ndim == 4 and pixel_work > PIXEL_BUDGET:
        notes = notes if notes is not None else []
        notes.append(f"memorisation in pixels skipped: {len(samples)} samples and {len(test)} test items against {len(train)} "
                     f"training items of {samples[0].numel()} values is over {PIXEL_BUDGET:.0e} multiply-adds; use a smaller --num")
    elif samples.ndim == 4:  # images: also in pixels
        def pixels(split: str, count: int) -> Features:
            return Features(pixel_vectors(real_subset(spec, split, count, seed=seed)))

        in_pixels = memorisation_with_floor(pixels("train", MEMORISATION_TRAIN), Features(pixel_vectors(samples)),
                                            pixels("test", len(test)), suffix="_pixels", with_authenticity=False)
        scored.update(in_pixels[0])
        floor.update(in_pixels[1])
    total = len(spec.load("train"))
    if notes is not None and len(train) < total:
        notes.append(f"memorisation: nearest training items searched among {len(train)} of the {total}")
    return scored, floor


def floor_recall_spread(spec: DatasetSpec, extractor: FeatureExtractor, num: int, seed: int = 0,
                        draws: int = FLOOR_DRAWS) -> list[dict[str, float | None]]:
    """Per class: min, max and standard deviation (n - 1) of the floor's recall over ``draws`` draws of the real subsets.

    Draw ``d`` takes the training reference and the test items with subset seed ``seed + d``
    (draw 0 is the floor printed beside the samples).
    """
    recalls = []
    for draw in range(draws):
        reference = real_features(spec, "train", extractor, num, seed=seed + draw)
        test = real_features(spec, "test", extractor, num, seed=seed + draw)
        recalls.append([row["recall"] for row in precision_recall_by_class(reference, test)])
    rows = []
    for per_class in zip(*recalls):
        values = torch.tensor([v for v in per_class if v is not None], dtype=torch.float64)
        if len(values) == 0:
            rows.append({"floor_recall_min": None, "floor_recall_max": None, "floor_recall_std": None})
            continue
        rows.append({"floor_recall_min": float(values.min()), "floor_recall_max": float(values.max()),
                     "floor_recall_std": float(values.std()) if len(values) > 1 else None})
    return rows


MAX_CLASS_ROWS = 100


def check_by_class(extractor: FeatureExtractor, dataset: DatasetSpec | str, reference: Features | None = None) -> None:
    """A per-class table needs a classifier with a readable number of classes (checked before sampling, then on ``reference``)."""
    dataset = DatasetSpec.of(dataset).name
    if isinstance(extractor, IdentityExtractor) or (reference is not None and reference.probs is None):
        raise ConfigError(f"--by-class: needs a classifier, and dataset {dataset!r} is scored on raw vectors")
    classes = STACKED_MODES if isinstance(extractor, StackedExtractor) else reference.probs.shape[1] if reference is not None else 0
    if classes > MAX_CLASS_ROWS:
        raise ConfigError(f"--by-class: dataset {dataset!r} has {classes} classes; the table is printed for at most {MAX_CLASS_ROWS}")


def class_rows(reference: Features, fake: Features, test: Features | None, names: tuple[str, ...],
               spread: list[dict[str, float | None]] | None = None) -> list[dict[str, Any]]:
    """Per class: its name, the samples' figures, the real test items' (the floor) when given, and the floor recall's spread."""
    rows = precision_recall_by_class(reference, fake)
    floor_rows = precision_recall_by_class(reference, test) if test is not None else [{}] * len(rows)
    spread = spread or [{}] * len(rows)
    names = names if len(names) == len(rows) else tuple(str(c) for c in range(len(rows)))
    return [{"class": name, **row, **{f"floor_{k}": v for k, v in floor.items() if k in ("precision", "recall")}, **extra}
            for name, row, floor, extra in zip(names, rows, floor_rows, spread)]


def _fmt(value: float | None) -> str:
    if value is None:
        return "-"
    if isinstance(value, float) and math.isinf(value):
        return "inf"
    if abs(value) >= 100 or value == int(value) and abs(value) >= 1:
        return f"{value:.1f}" if value != int(value) else f"{int(value)}"
    return f"{value:.4f}"


def _fmt_channels(score: ModeScore) -> str:
    """Stacked MNIST's per-channel digit KLs, e.g. ``0.047 / 0.064 / 0.048``."""
    return " / ".join(f"{kl:.3f}" for kl in score.channel_kl) if score.channel_kl else ""


def format_table(result: EvalResult) -> str:
    """A plain-text table: figure, value, real-vs-real floor, which way is better."""
    floor_label = f"floor ({result.floor_num} test)" if result.floor is not None else ""
    rows = [("figure", f"samples ({result.num})", floor_label, "better")]
    for name, value in result.metrics.items():
        figure = FIGURES.get(name)
        rows.append((name, _fmt(value), _fmt(result.floor.get(name)) if result.floor else "", figure.better if figure else ""))
    if result.modes is not None:
        m, f = result.modes, result.modes_floor
        rows.append(("modes", f"{m.modes}/{m.num_modes}", f"{f.modes}/{f.num_modes}" if f else "", "higher"))
        if m.high_quality is not None:
            rows.append(("high_quality", f"{100 * m.high_quality:.1f}%", f"{100 * f.high_quality:.1f}%" if f else "", "higher"))
        rows.append(("mode_kl", _fmt(m.reverse_kl), _fmt(f.reverse_kl) if f else "", "lower"))
        if m.channel_kl is not None:
            rows.append(("channel_kl", _fmt_channels(m), _fmt_channels(f) if f else "", "lower"))
    lines = [f"dataset {result.dataset}, features: {result.extractor}", *_aligned(rows)]
    if result.by_class:
        lines += ["", *format_class_table(result.by_class)]
    lines += [f"note: {n}" for n in result.notes]
    return "\n".join(lines)


def format_class_table(rows: list[dict[str, Any]]) -> list[str]:
    """Per-class shares, precision and recall, the floor in brackets when measured."""
    def pair(row: dict[str, Any], key: str) -> str:
        value = "-" if row[key] is None else f"{row[key]:.3f}"
        floor = row.get(f"floor_{key}", "absent")
        return value if floor == "absent" else f"{value} ({'-' if floor is None else f'{floor:.2f}'})"

    def spread(row: dict[str, Any]) -> str:
        low, high, std = row["floor_recall_min"], row["floor_recall_max"], row["floor_recall_std"]
        return "-" if low is None else f"{low:.3f}-{high:.3f}" + ("" if std is None else f", std {std:.3f}")

    floor = " (floor)" if "floor_recall" in rows[0] else ""
    header = ("class", "real", "samples", f"precision{floor}", f"recall{floor}")
    with_spread = "floor_recall_min" in rows[0]
    table = [header + (("floor recall over draws",) if with_spread else ())]
    table += [(str(r["class"]), f"{100 * r['real_share']:.1f}%", f"{100 * r['sample_share']:.1f}%", pair(r, "precision"), pair(r, "recall"))
              + ((spread(r),) if with_spread else ()) for r in rows]
    return ["by the classifier's class:", *_aligned(table)]


def _aligned(rows: list[tuple[str, ...]]) -> list[str]:
    """Rows of cells as text columns: the first left-aligned, the others right-aligned, a rule under the header."""
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    lines = ["  ".join(cell.ljust(widths[j]) if j == 0 else cell.rjust(widths[j]) for j, cell in enumerate(row)).rstrip() for row in rows]
    return [lines[0], "  ".join("-" * w for w in widths), *lines[1:]]
