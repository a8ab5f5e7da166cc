"""``gankit bench seeds``: one config trained at several seeds, each run evaluated alike, each figure's spread.

For every seed, ``OUT/<config>-seed<S>/`` holds the run: a run that reached its
``train.max_steps`` is not trained again, an unfinished one (stopped by ``--max-minutes``
or interrupted) resumes from its newest checkpoint. Each run is then scored by
:func:`gankit.evaluation.run_eval.evaluate_run` with the same evaluation seed (so only
the training seed differs) and its ``eval.json`` written. ``OUT/seeds.json``
(:data:`SEEDS_FORMAT`) holds one object:

=================  =====================================================================
``version``        1
``config``         the config as given; ``dataset``, ``extractor``: what scored the runs
``num``            samples per evaluation; ``eval_seed``: the evaluation's noise and subset seed;
                   ``metrics``: the ``--metrics`` list, or null for gankit eval's default
``seeds``          the training seeds
``runs``           per seed: ``seed``, ``run_dir``, ``step``, ``total_steps``, ``finished``,
                   ``train_seconds`` (wall-clock seconds of training, over every resume)
``figures``        figure -> ``values`` (one per seed, null where not finite), ``mean``,
                   ``std`` (sample standard deviation, n - 1; null for one seed), ``min``,
                   ``max``, ``floor`` (the real-vs-real floor, or null), ``better``
``notes``          the evaluations' remarks
=================  =====================================================================

With ``by_class``, each class's recall is a figure ``recall[<class>]`` whose floor is the
floor's recall of that class, and ``floor_min``/``floor_max`` its range over the
evaluation's floor draws.
"""

from __future__ import annotations

import json
import logging
import math
import os
import statistics
from pathlib import Path
from typing import Any

from gankit.errors import ConfigError

log = logging.getLogger("gankit")

SEEDS_FORMAT = 1


def train_or_resume(config: str | os.PathLike, seed: int, run_dir: Path, max_steps: int | None = None,
                    max_minutes: float | None = None, retrain: bool = False, data_dir: str | None = None):
    """Train ``config`` at ``seed`` into ``run_dir``; resume the run there unless it is finished; its trainer.

    A run with a valid checkpoint resumes from it (with ``max_steps`` as its new
    ``train.max_steps`` when given) and trains only when its step is below the total.
    """
    from gankit.evaluation.fid_callback import FIDCallback
    from gankit.run import RunDir
    from gankit.training.config import load_config
    from gankit.training.state import trainer_from_checkpoint
    from gankit.training.trainer import Trainer

    overrides = [f"train.seed={seed}"] + ([f"train.max_steps={max_steps}"] if max_steps else [])
    if data_dir:
        overrides.append(f"data.dir={data_dir}")
    cfg = load_config(config, overrides)
    found = None if retrain else RunDir(run_dir).latest_checkpoint()
    if found is not None:
        path, checkpoint = found
        changes = {"train": {"max_steps": cfg.train.max_steps}} if max_steps else None
        trainer = trainer_from_checkpoint(checkpoint, run_dir, str(path), changes, callbacks=(FIDCallback(),))
    else:
        if run_dir.exists():
            import shutil

            shutil.rmtree(run_dir)
        trainer = Trainer(cfg, run_dir, callbacks=(FIDCallback(),))
    if trainer.step < trainer.total_steps:
        log.info("training %s (seed %d): steps %d..%d into %s", Path(config).name, seed, trainer.step, trainer.total_steps, run_dir)
        trainer.train(max_minutes=max_minutes, progress=False)
    return trainer


def summary(values: list[float | None]) -> dict[str, Any]:
    """``values`` with their mean, sample standard deviation (n - 1; null for one value), min and max over the finite ones."""
    finite = [v for v in values if v is not None and math.isfinite(v)]
    clean = [v if v is not None and math.isfinite(v) else None for v in values]
    if not finite:
        return {"values": clean, "mean": None, "std": None, "min": None, "max": None}
    return {"values": clean, "mean": statistics.fmean(finite), "std": statistics.stdev(finite) if len(finite) > 1 else None,
            "min": min(finite), "max": max(finite)}


def per_seed_figures(result) -> tuple[dict[str, float | None], dict[str, Any]]:
    """One evaluation's figures (metrics, mode scores, per-class recalls) and their floors, by name."""
    figures = dict(result.metrics)
    floors: dict[str, Any] = dict(result.floor or {})
    if result.modes is not None:
        figures.update(modes=float(result.modes.modes), high_quality=result.modes.high_quality, mode_kl=result.modes.reverse_kl)
        if result.modes_floor is not None:
            floors.update(modes=float(result.modes_floor.modes), high_quality=result.modes_floor.high_quality,
                          mode_kl=result.modes_floor.reverse_kl)
    for row in result.by_class or []:
        name = f"recall[{row['class']}]"
        figures[name] = row["recall"]
        if "floor_recall" in row:
            floors[name] = {"floor": row["floor_recall"], "floor_min": row.get("floor_recall_min"),
                            "floor_max": row.get("floor_recall_max")}
    return figures, floors


def run_seeds(config: str | os.PathLike, seeds: list[int], out: str | os.PathLike, max_steps: int | None = None,
              max_minutes: float | None = None, num: int | None = None, data_dir: str | None = None, eval_seed: int = 0,
              by_class: bool = False, memorisation: bool = True, metrics: str | None = None) -> dict[str, Any]:
    """Train and evaluate ``config`` at each seed; write and return ``OUT/seeds.json``'s record."""
    from gankit.evaluation.run_eval import evaluate_run
    from gankit.metrics import FIGURES
    from gankit.run import RunDir
    from gankit.run.files import atomic_write
    from gankit.training.config import load_config

    out = Path(out)
    if out.exists() and not out.is_dir():
        raise ConfigError(f"--out {out}: is a file; give a directory")
    if not seeds or len(set(seeds)) != len(seeds) or any(s < 0 for s in seeds):
        raise ConfigError(f"--seeds {seeds}: expected distinct non-negative integers")
    load_config(config)  # a bad config stops here, before any training
    runs, per_seed, floors, notes, dataset, extractor = [], [], {}, [], None, None
    for seed in seeds:
        run_dir = out / f"{Path(config).stem}-seed{seed}"
        trainer = train_or_resume(config, seed, run_dir, max_steps, max_minutes, data_dir=data_dir)
        result, record = evaluate_run(run_dir, num=num, metrics=metrics, seed=eval_seed, by_class=by_class,
                                      memorisation=memorisation)
        RunDir(run_dir).write_eval(record)
        figures, floor = per_seed_figures(result)
        per_seed.append(figures)
        floors = floors or floor
        notes += [n for n in result.notes if n not in notes]
        dataset, extractor, num = result.dataset, result.extractor, result.num
        runs.append({"seed": seed, "run_dir": str(run_dir), "step": trainer.step, "total_steps": trainer.total_steps,
                     "finished": trainer.step >= trainer.total_steps, "train_seconds": round(trainer.elapsed, 1)})
    names = list(dict.fromkeys(name for figures in per_seed for name in figures))
    table: dict[str, Any] = {}
    for name in names:
        entry = summary([figures.get(name) for figures in per_seed])
        floor = floors.get(name)
        entry.update(floor if isinstance(floor, dict) else {"floor": floor})
        figure = FIGURES.get(name.split("[")[0])
        entry["better"] = figure.better if figure else ("higher" if name in ("modes", "high_quality") or name.startswith("recall[")
                                                        else "lower" if name == "mode_kl" else "")
        table[name] = entry
    record = {"version": SEEDS_FORMAT, "config": str(config), "dataset": dataset, "extractor": extractor, "num": num,
              "eval_seed": eval_seed, "metrics": metrics, "seeds": list(seeds), "runs": runs, "figures": table, "notes": notes}
    out.mkdir(parents=True, exist_ok=True)
    atomic_write(out / "seeds.json", json.dumps(record, indent=2, allow_nan=False) + "\n")
    return record


def _fmt(value: float | None) -> str:
    if value is None:
        return "-"
    return f"{value:.1f}" if abs(value) >= 100 else f"{value:.4f}"


def format_seeds_table(record: dict[str, Any]) -> str:
    """Figure, each seed's value, mean, std, min-max and floor, as text columns."""
    seeds = record["seeds"]
    rows = [("figure", *(f"seed {s}" for s in seeds), "mean", "std", "min-max", "floor", "better")]
    for name, entry in record["figures"].items():
        floor = _fmt(entry["floor"])
        if entry.get("floor_min") is not None:
            floor += f" ({_fmt(entry['floor_min'])}-{_fmt(entry['floor_max'])})"
        span = "-" if entry["min"] is None else f"{_fmt(entry['min'])}-{_fmt(entry['max'])}"
        rows.append((name, *(_fmt(v) for v in entry["values"]), _fmt(entry["mean"]), _fmt(entry["std"]), span, floor, entry["better"]))
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    lines = [f"{record['config']}: dataset {record['dataset']}, features: {record['extractor']}, {record['num']} samples per seed"]
    for i, row in enumerate(rows):
        lines.append("  ".join(c.ljust(w) if j == 0 else c.rjust(w) for j, (c, w) in enumerate(zip(row, widths))).rstrip())
        if i == 0:
            lines.append("  ".join("-" * w for w in widths))
    for run in record["runs"]:
        state = "finished" if run["finished"] else "unfinished (rerun to resume)"
        lines.append(f"seed {run['seed']}: step {run['step']}/{run['total_steps']}, {state}, {run['train_seconds']} s training, {run['run_dir']}")
    lines += [f"note: {n}" for n in record["notes"]]
    return "\n".join(lines)
