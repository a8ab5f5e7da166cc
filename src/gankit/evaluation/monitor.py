"""A cheap FID during training, and which step scored best so far.

The FID callback (:mod:`gankit.evaluation.fid_callback`) calls :meth:`FIDMonitor.measure` every ``train.fid_every`` steps:
``train.fid_samples`` generated samples against as many cached real training
features (Heusel et al. 2017's FID on the domain evaluator's features; on the
points themselves for 2D data). The best step is recorded in ``best.json`` of
the run directory, so it survives a resume.
"""

from __future__ import annotations

import logging
import math
import os
from pathlib import Path

from torch import nn

from gankit.data import DatasetSpec
from gankit.errors import GankitError
from gankit.metrics.fid import fid
from gankit.run import RunDir

log = logging.getLogger("gankit")

SAMPLE_SEED = 12345  # the same noise at every measurement, so the curve shows the generator changing, not the noise


class FIDMonitor:
    """The in-training FID of one run.

    Args:
        dataset: the run's data: a :class:`~gankit.data.DatasetSpec` (``DatasetSpec.from_config(cfg.data)``
            carries an image folder's options), or a dataset name.
        data_dir: the data root (None: the spec's, else the default one).
        num: samples per measurement, and real training items in the reference set.
        run_dir: where ``best.json`` is kept.
    """

    def __init__(self, dataset: DatasetSpec | str, data_dir: str | os.PathLike | None, num: int, run_dir: str | os.PathLike) -> None:
        self.dataset = DatasetSpec.of(dataset, data_dir)
        self.data_dir, self.num = self.dataset.data_dir, num
        self.run_dir = Path(run_dir)
        self.disabled = False
        self._extractor = None
        self._reference = None
        best = RunDir(self.run_dir).read_best()
        self.best_fid = best["fid"] if best else math.inf

    def _prepare(self) -> bool:
        if self._extractor is not None or self.disabled:
            return not self.disabled
        from gankit.metrics.extractors import default_extractor
        from gankit.metrics.stats_cache import real_features

        try:
            self._extractor = default_extractor(self.dataset)
            self._reference = real_features(self.dataset, "train", self._extractor, self.num)
        except GankitError as exc:
            log.warning("in-training FID is off: %s", exc)
            self.disabled = True
        return not self.disabled

    def measure(self, generator: nn.Module, spec: dict) -> float | None:
        """FID of ``num`` fresh samples of ``generator`` (its :func:`gankit.models.generator_spec`), or None when no
        extractor is available for the dataset."""
        from gankit.sampling import draw_samples

        if not self._prepare():
            return None
        samples = draw_samples(generator, spec, self.num, SAMPLE_SEED)
        return fid(self._reference, self._extractor(samples))["fid"]

    def is_best(self, value: float, step: int, checkpoint: str) -> bool:
        """True (and ``best.json`` rewritten) when ``value`` beats every earlier measurement."""
        if not value < self.best_fid:
            return False
        self.best_fid = value
        RunDir(self.run_dir).write_best(step, value, checkpoint)
        return True
