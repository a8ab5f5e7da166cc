"""Scoring a run (``gankit eval RUN``) and the record of it, ``RUN/eval.json``.

The web page, the model card and the results page read a run's figures from ``eval.json``,
never from printed text. Each ``gankit eval RUN`` replaces it with what that evaluation
measured; :meth:`gankit.run.RunDir.write_eval` writes it (atomically, refusing a non-finite
figure) and :meth:`~gankit.run.RunDir.read_eval` reads it back.

``eval.json``, version 1: one JSON object with

==================  ====================================================================
``version``         1 (:data:`gankit.run.EVAL_FORMAT`); a reader refuses a newer one
``gankit_version``  the gankit that measured
``created``         when, in UTC, ISO 8601 (``2026-12-04T16:20:00Z``)
``checkpoint``      the ``--checkpoint`` file, or null: the run's newest valid checkpoint, else ``export/``
``dataset``         the dataset the samples were scored against
``extractor``       the feature extractor's id: ``evaluator-<16 hex>`` (a domain evaluator),
                    ``stacked-evaluator-<16 hex>`` (Stacked MNIST), ``identity`` (2D points), ``inception-…``
``evaluator``       the domain evaluator behind it: ``id``, ``dataset``, ``key`` (64 hex),
                    ``test_accuracy``, ``arch_version``; null for ``identity`` and Inception-V3
``num``             how many samples were scored
``seed``            the noise and subset seed
``d_keep``          the ``--d-keep`` share, or null
``metrics``         figure -> value (null where it is not finite), e.g. ``fid``, ``kid``, ``precision``;
                    with the default metrics (unless ``--no-memorisation``) or ``--metrics
                    ...,memorisation`` also (:mod:`gankit.metrics.memorisation`):
                    ``fid_test`` (FID against the test items), ``nn_ratio``, ``copy_share``, ``z_u``,
                    ``authenticity`` (evaluator features) and, for images, ``nn_ratio_pixels``,
                    ``copy_share_pixels``, ``z_u_pixels``
``floor``           figure -> the real-vs-real floor: ``floor_num`` real test items against the
                    training items; for the memorisation figures the test items' own (``nn_ratio``
                    1, ``z_u`` 0, ``copy_share`` about 0.01) and for ``fid_test`` the floor of ``fid``;
                    null with ``--no-floor``
``floor_num``       how many real test items the floor used (0 with ``--no-floor``)
``modes``           mode-benchmark datasets: ``modes``, ``num_modes``, ``high_quality``,
                    ``reverse_kl``, ``num_samples``, ``channel_kl``; else null
``modes_floor``     the same for real test items, or null
``by_class``        with ``--by-class``: one row per class (``class``, ``real_share``, ``sample_share``,
                    ``precision``, ``recall``, ``floor_precision``, ``floor_recall``, and
                    ``floor_recall_min``/``_max``/``_std`` over ``--floor-draws`` draws of the real
                    subsets), else null
``notes``           list of remarks (e.g. fewer real items than samples)
==================  ====================================================================
"""

from __future__ import annotations

import os
import time
from typing import Any

import torch

import gankit
from gankit.data import DatasetSpec
from gankit.metrics.evaluate import DEFAULT_NUM, FLOOR_DRAWS, EvalResult, check_by_class, evaluate_samples
from gankit.metrics.evaluator import DomainEvaluator
from gankit.metrics.extractors import FeatureExtractor, StackedExtractor
from gankit.run import EVAL_FORMAT, RunDir


def run_dataset(run_dir: str | os.PathLike) -> DatasetSpec:
    """The data a run trained on: its name, root and, for an image folder, its folder, size and colours."""
    return DatasetSpec.from_config(RunDir(run_dir).read_config().data)


def default_num(dataset: DatasetSpec) -> int:
    """2,500 samples for a 2D mixture (as the mode benchmarks), else the test split's size, at most 10,000."""
    from gankit.data.toy2d import MIXTURES
    from gankit.metrics.modes import MIXTURE_SAMPLES

    if dataset.name in MIXTURES:
        return MIXTURE_SAMPLES
    return min(DEFAULT_NUM, len(dataset.load("test")))


def samples_from_run(run_dir: str | os.PathLike, checkpoint: str | None, num: int, seed: int,
                     d_keep: float | None = None) -> torch.Tensor:
    """``num`` samples of the run's generator; with ``d_keep``, the ones its discriminator rates most real."""
    from gankit.sampling import draw_samples
    from gankit.sampling import candidates_for, select_by_discriminator

    run = RunDir(run_dir)
    generator, spec = run.load_generator(checkpoint)
    if d_keep is None:
        return draw_samples(generator, spec, num, seed)
    discriminator = run.load_discriminator(checkpoint)
    return select_by_discriminator(discriminator, draw_samples(generator, spec, candidates_for(num, d_keep), seed), num)


def evaluate_run(run_dir: str | os.PathLike, dataset: str | None = None, data_dir: str | os.PathLike | None = None,
                 checkpoint: str | None = None, num: int | None = None, metrics: str | None = None, seed: int = 0,
                 extractor: str = "domain", inception_weights: str | os.PathLike | None = None, d_keep: float | None = None,
                 by_class: bool = False, floor: bool = True, memorisation: bool = True,
                 floor_draws: int = FLOOR_DRAWS) -> tuple[EvalResult, dict[str, Any]]:
    """Score a run's generator against its data (or ``dataset``): the result and its ``eval.json`` record.

    A missing domain evaluator is trained first (and cached), so a first evaluation needs no
    separate step. ``memorisation`` adds the memorisation figures to the default metrics (an
    explicit ``metrics`` list has them when it names ``memorisation``). The record is returned, not written: :meth:`gankit.run.RunDir.write_eval` writes it.
    """
    from gankit.evaluation.evaluator_training import extractor_for

    trained_on = run_dataset(run_dir)
    spec = trained_on if dataset in (None, trained_on.name) else DatasetSpec(dataset)
    spec = DatasetSpec.of(spec, data_dir or trained_on.data_dir)
    num = num or default_num(spec)
    features = extractor_for(spec, kind=extractor, inception_weights=inception_weights)  # before sampling
    if by_class:
        check_by_class(features, spec)
    samples = samples_from_run(run_dir, checkpoint, num, seed, d_keep)
    result = evaluate_samples(samples, spec, metrics, extractor=features, floor=floor, seed=seed, by_class=by_class,
                              memorisation=memorisation and not metrics, floor_draws=floor_draws)
    return result, eval_record(result, features, checkpoint=checkpoint, seed=seed, d_keep=d_keep)


def evaluator_record(extractor: FeatureExtractor) -> dict[str, Any] | None:
    """Which domain evaluator gave the features (its id, data, key and test accuracy), or None for other extractors."""
    if isinstance(extractor, StackedExtractor):
        extractor = extractor.digits
    if not isinstance(extractor, DomainEvaluator):
        return None
    meta = extractor.meta
    return {"id": extractor.id, "dataset": meta["dataset"], "key": meta["key"], "test_accuracy": extractor.accuracy,
            "arch_version": meta["arch_version"]}


def eval_record(result: EvalResult, extractor: FeatureExtractor, checkpoint: str | None = None, seed: int = 0,
                d_keep: float | None = None) -> dict[str, Any]:
    """The ``eval.json`` object (version :data:`gankit.run.EVAL_FORMAT`) of one evaluation."""
    measured = result.to_dict()
    return {
        "version": EVAL_FORMAT,
        "gankit_version": gankit.__version__,
        "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "checkpoint": None if checkpoint is None else str(checkpoint),
        "dataset": measured.pop("dataset"),
        "extractor": measured.pop("extractor"),
        "evaluator": evaluator_record(extractor),
        "num": measured.pop("num"),
        "seed": seed,
        "d_keep": d_keep,
        **measured,
    }
