"""``gankit bench``: ``modes`` (the mode-collapse benchmarks beside the published anchors) and ``seeds`` (one config, several seeds)."""

from __future__ import annotations

import argparse
import json
import logging
from pathlib import Path

from gankit.errors import ConfigError, GankitError

log = logging.getLogger("gankit")

EXAMPLES = """examples:
  gankit bench modes configs/ring2d.yaml configs/grid2d.yaml configs/stacked_mnist.yaml
  gankit bench modes configs/grid2d.yaml --seeds 0,1,2 --runs-dir runs/bench
  gankit bench modes --anchors-only
Each config's data.name picks the benchmark (ring, grid, stacked-mnist). Runs already in
--runs-dir are resumed or, when finished, only scored. Stacked MNIST needs the MNIST
evaluator: gankit evaluator train --dataset mnist.
Anchors: VEEGAN (Srivastava et al. 2017) Tables 1-2, PacGAN (Lin et al. 2018) Tables 1-2.
"""


def add_parser(subparsers) -> None:
    p = subparsers.add_parser("bench", help="benchmarks with published anchors", description="Benchmarks that compare gankit with published results.")
    sub = p.add_subparsers(dest="bench_command", metavar="BENCHMARK", required=True)
    modes = sub.add_parser(
        "modes", help="mode collapse: 2D ring and grid, Stacked MNIST",
        description="Train the given configs on the mode-collapse benchmarks and print modes covered, "
                    "high-quality samples and reverse KL beside the published anchors.",
        epilog=EXAMPLES, formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    modes.add_argument("configs", nargs="*", help="YAML presets whose data.name is ring, grid or stacked-mnist")
    modes.add_argument("--seeds", default="0", help="comma-separated training seeds; figures are means (default 0)")
    modes.add_argument("--runs-dir", default="runs/bench", help="where the runs go (default runs/bench)")
    modes.add_argument("--max-steps", type=int, help="override train.max_steps of every config")
    modes.add_argument("--max-minutes", type=float, help="time limit of each training run")
    modes.add_argument("--retrain", action="store_true", help="train from scratch even when a run exists")
    modes.add_argument("--anchors-only", action="store_true", help="print the published anchors and the real-data floor only")
    modes.add_argument("--data-dir", help="data root (default $GANKIT_DATA or ~/.cache/gankit/data)")
    modes.add_argument("--json", action="store_true", help="print JSON rows instead of a table")
    modes.set_defaults(func=run_modes)
    seeds = sub.add_parser(
        "seeds", help="train one config at several seeds, evaluate each, print each figure's mean and spread",
        description="Train CONFIG once per seed (a finished run is kept, an unfinished one resumes), score every run "
                    "with gankit eval's figures and floors (the same evaluation seed for all), write OUT/seeds.json "
                    "and print each figure per seed with its mean, standard deviation, range and floor.",
        epilog=SEEDS_EXAMPLES, formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    seeds.add_argument("config", help="a YAML config or a preset's name")
    seeds.add_argument("--seeds", default="0,1", help="comma-separated training seeds (default 0,1)")
    seeds.add_argument("--out", required=True, metavar="DIR", help="where the runs and seeds.json go")
    seeds.add_argument("--max-steps", type=int, help="override train.max_steps of every run")
    seeds.add_argument("--max-minutes", type=float, help="time limit of each seed's training in this call")
    seeds.add_argument("--num", type=int, help="samples per evaluation (default: as gankit eval)")
    seeds.add_argument("--metrics", help="comma-separated, as gankit eval --metrics (default: all that apply, with memorisation)")
    seeds.add_argument("--eval-seed", type=int, default=0, help="the evaluation's noise and subset seed, the same for every run (default 0)")
    seeds.add_argument("--by-class", action="store_true", help="also each class's recall, with the floor's range over draws")
    seeds.add_argument("--no-memorisation", action="store_true", help="skip fid_test and the nearest-training-item figures")
    seeds.add_argument("--data-dir", help="data root (default $GANKIT_DATA or ~/.cache/gankit/data)")
    seeds.add_argument("--json", action="store_true", help="print seeds.json instead of a table")
    seeds.set_defaults(func=run_seeds)


SEEDS_EXAMPLES = """examples:
  gankit bench seeds mnist_dcgan --seeds 0,1 --out runs/seeds/mnist_dcgan --num 2000
  gankit bench seeds configs/ring2d.yaml --seeds 0,1,2 --out runs/seeds/ring2d --max-minutes 15
  gankit bench seeds fashion_dcgan --seeds 0,1 --out runs/seeds/fashion --num 2000 --by-class --json
Run the same command again to resume: finished seeds are only scored, unfinished ones train on.
"""


def _seeds(text: str) -> list[int]:
    try:
        seeds = [int(s) for s in text.split(",") if s.strip()]
    except ValueError:
        raise ConfigError(f"--seeds {text!r}: expected comma-separated integers, e.g. 0,1,2") from None
    if not seeds or any(s < 0 for s in seeds):
        raise ConfigError(f"--seeds {text!r}: expected non-negative integers")
    return seeds


def run_modes(args: argparse.Namespace) -> int:
    from gankit.evaluation.bench import BENCHMARKS, anchor_rows, format_table, mean_row, real_floor, run_config

    if not args.configs and not args.anchors_only:
        raise ConfigError("give one or more configs (data.name ring, grid or stacked-mnist), or --anchors-only")
    if args.max_steps is not None and args.max_steps < 1:
        raise ConfigError(f"--max-steps: {args.max_steps} must be at least 1")
    seeds = _seeds(args.seeds)
    for config in args.configs:
        if not Path(config).is_file():
            raise ConfigError(f"{config}: config file not found")
    scores: dict[str, list] = {}
    for config in args.configs:
        results = [run_config(config, seed, Path(args.runs_dir), args.max_steps, args.max_minutes, args.retrain, args.data_dir) for seed in seeds]
        benchmark = results[0][0]
        scores.setdefault(benchmark, []).append(mean_row(benchmark, f"gankit {Path(config).stem}", [s for _, s in results], f"{len(seeds)} seed(s)"))
    shown = [b for b in BENCHMARKS if b in scores] if args.configs else list(BENCHMARKS)
    rows = []
    for benchmark in shown:
        rows += scores.get(benchmark, [])
        try:
            rows.append(mean_row(benchmark, "real data", [real_floor(benchmark, args.data_dir)], "floor"))
        except GankitError as exc:  # e.g. no MNIST evaluator for the Stacked MNIST floor
            log.info("no real-data floor for %s: %s", benchmark, exc)
        rows += anchor_rows(benchmark)
    if args.json:
        print(json.dumps([r.to_dict() for r in rows], indent=2))
    else:
        print(format_table(rows))
    return 0


def run_seeds(args: argparse.Namespace) -> int:
    from gankit.evaluation.seeds import format_seeds_table, run_seeds as train_and_score

    seeds = _seeds(args.seeds)
    if len(set(seeds)) != len(seeds):
        raise ConfigError(f"--seeds {args.seeds!r}: a seed is repeated")
    if args.max_steps is not None and args.max_steps < 1:
        raise ConfigError(f"--max-steps: {args.max_steps} must be at least 1")
    if args.max_minutes is not None and not args.max_minutes > 0:
        raise ConfigError(f"--max-minutes: {args.max_minutes} must be above 0")
    if args.num is not None and not 10 <= args.num <= 200_000:
        raise ConfigError(f"--num: {args.num} is outside 10..200000")
    if args.eval_seed < 0:
        raise ConfigError(f"--eval-seed: {args.eval_seed} must be >= 0")
    if args.metrics:
        from gankit.metrics import parse_metric_names

        parse_metric_names(args.metrics)  # before any training
    record = train_and_score(args.config, seeds, args.out, args.max_steps, args.max_minutes, args.num, args.data_dir,
                             args.eval_seed, args.by_class, not args.no_memorisation, args.metrics)
    log.info("wrote %s", Path(args.out) / "seeds.json")
    print(json.dumps(record, indent=2) if args.json else format_seeds_table(record))
    return 0
