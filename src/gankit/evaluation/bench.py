"""The mode-collapse benchmark behind ``gankit bench modes``: train configs, score them, compare with the papers.

For each config (its ``data.name`` picks the benchmark: ``ring``, ``grid`` or
``stacked-mnist``) and seed, the run is trained with
:class:`gankit.training.trainer.Trainer`, its generator draws 2,500 (2D) or
26,000 (Stacked MNIST) samples, and :mod:`gankit.metrics.modes` scores them. The
table puts gankit's figures (mean over seeds), the real-data floor and the
published anchors (:mod:`gankit.evaluation.anchors`) side by side.
"""

from __future__ import annotations

import logging
import math
import os
from dataclasses import dataclass
from pathlib import Path

import torch

from gankit.errors import ConfigError
from gankit.data import DatasetSpec
from gankit.evaluation.anchors import anchors_for
from gankit.metrics.modes import MIXTURE_SAMPLES, STACKED_SAMPLES, ModeScore, score_mixture, score_stacked

log = logging.getLogger("gankit")

BENCHMARKS = ("ring", "grid", "stacked-mnist")


@dataclass
class BenchRow:
    benchmark: str
    method: str
    modes: float
    num_modes: int
    high_quality: float | None
    reverse_kl: float | None
    source: str

    def to_dict(self) -> dict:
        kl = None if self.reverse_kl is None or math.isinf(self.reverse_kl) else self.reverse_kl
        return {**self.__dict__, "reverse_kl": kl}


def benchmark_of(dataset: str) -> str:
    if dataset not in BENCHMARKS:
        raise ConfigError(f"data.name: {dataset!r} is not a mode-collapse benchmark; use one of: {', '.join(BENCHMARKS)}")
    return dataset


def stacked_extractor(data_dir=None):
    from gankit.metrics.extractors import default_extractor

    return default_extractor(DatasetSpec("stacked-mnist", data_dir))


def score_samples(benchmark: str, samples: torch.Tensor, data_dir=None) -> ModeScore:
    from gankit.data.toy2d import MIXTURES

    if benchmark in MIXTURES:
        return score_mixture(samples, MIXTURES[benchmark])
    return score_stacked(stacked_extractor(data_dir).digits_of(samples))


def score_run(run_dir: str | os.PathLike, benchmark: str, seed: int = 0, data_dir=None) -> ModeScore:
    """Score the newest generator of a run on its benchmark."""
    from gankit.sampling import draw_samples
    from gankit.run import RunDir

    generator, spec = RunDir(run_dir).load_generator()
    num = STACKED_SAMPLES if benchmark == "stacked-mnist" else MIXTURE_SAMPLES
    return score_samples(benchmark, draw_samples(generator, spec, num, seed), data_dir)


def real_floor(benchmark: str, data_dir=None, seed: int = 0) -> ModeScore:
    """The score of real data drawn afresh (the best a generator can expect with this many samples)."""
    from gankit.data.stacked import stack_digits
    from gankit.data.toy2d import MIXTURES

    if benchmark in MIXTURES:
        return score_mixture(MIXTURES[benchmark].sample(MIXTURE_SAMPLES, 1000 + seed)[0], MIXTURES[benchmark])
    digits = DatasetSpec("mnist", data_dir).load("test")
    images, _ = stack_digits(digits.images, digits.labels, STACKED_SAMPLES, 1000 + seed)
    return score_samples(benchmark, images, data_dir)


def mean_row(benchmark: str, method: str, scores: list[ModeScore], source: str) -> BenchRow:
    n = len(scores)
    hq = None if scores[0].high_quality is None else sum(s.high_quality for s in scores) / n
    return BenchRow(benchmark, method, sum(s.modes for s in scores) / n, scores[0].num_modes, hq,
                    sum(s.reverse_kl for s in scores) / n, source)


def anchor_rows(benchmark: str) -> list[BenchRow]:
    num_modes = {"ring": 8, "grid": 25, "stacked-mnist": 1000}[benchmark]
    return [BenchRow(a.benchmark, a.method, a.modes, num_modes, a.high_quality, a.reverse_kl, a.source) for a in anchors_for(benchmark)]


def format_table(rows: list[BenchRow]) -> str:
    header = ("benchmark", "method", "modes", "high quality", "reverse KL", "source")
    lines = []
    body = []
    for r in rows:
        body.append((
            r.benchmark, r.method, f"{r.modes:.1f}/{r.num_modes}",
            "-" if r.high_quality is None else f"{100 * r.high_quality:.1f}%",
            "-" if r.reverse_kl is None else ("inf" if math.isinf(r.reverse_kl) else f"{r.reverse_kl:.3f}"),
            r.source,
        ))
    widths = [max(len(str(x[i])) for x in [header, *body]) for i in range(len(header))]
    lines.append("  ".join(h.ljust(w) for h, w in zip(header, widths)))
    lines.append("  ".join("-" * w for w in widths))
    previous = None
    for row in body:
        if previous is not None and row[0] != previous:
            lines.append("")
        previous = row[0]
        lines.append("  ".join(c.ljust(w) if i < 2 or i == 5 else c.rjust(w) for i, (c, w) in enumerate(zip(row, widths))).rstrip())
    return "\n".join(lines)


def run_config(config: str | os.PathLike, seed: int, runs_dir: Path, max_steps: int | None, max_minutes: float | None,
               retrain: bool, data_dir=None) -> tuple[str, ModeScore]:
    """Train (unless already trained) and score one config at one seed."""
    from gankit.evaluation.seeds import train_or_resume
    from gankit.training.config import load_config

    overrides = [f"train.seed={seed}"] + ([f"train.max_steps={max_steps}"] if max_steps else [])
    if data_dir:
        overrides.append(f"data.dir={data_dir}")
    cfg = load_config(config, overrides)
    benchmark = benchmark_of(cfg.data.name)
    if benchmark == "stacked-mnist":
        stacked_extractor(cfg.data.dir)  # fail now, not after training
    run_dir = runs_dir / f"{Path(config).stem}-seed{seed}"
    train_or_resume(config, seed, run_dir, max_steps, max_minutes, retrain, data_dir)
    return benchmark, score_run(run_dir, benchmark, seed, cfg.data.dir)
