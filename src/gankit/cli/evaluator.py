"""``gankit evaluator``: train and inspect the domain classifiers that give the metrics their features."""

from __future__ import annotations

import argparse
import logging

from gankit.errors import ConfigError

log = logging.getLogger("gankit")

EXAMPLES = """examples:
  gankit evaluator train --dataset mnist
  gankit evaluator train --dataset fashion-mnist --epochs 15
  gankit evaluator train --run runs/my_faces           # an image-folder run: its folder, size and colours
  gankit evaluator show --dataset mnist
The evaluator is cached under $GANKIT_CACHE/evaluators (default ~/.cache/gankit/evaluators),
keyed by a hash of the training data, the architecture and the recipe; gankit eval uses it
(and trains it with the default recipe when a run's dataset has none yet).
"""


def add_parser(subparsers) -> None:
    from gankit.data import DATASETS

    p = subparsers.add_parser(
        "evaluator", help="train the domain classifier used by the metrics",
        description="Train or inspect the domain evaluator: a small CNN classifier whose features and "
                    "class probabilities the metrics use instead of ImageNet's Inception-V3.",
        epilog=EXAMPLES, formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    sub = p.add_subparsers(dest="evaluator_command", metavar="ACTION", required=True)
    train = sub.add_parser("train", help="train (or retrain) the evaluator of a dataset and report its test accuracy")
    train.add_argument("--dataset", choices=DATASETS.names(), help="a labelled image dataset")
    train.add_argument("--run", metavar="RUN_DIR", help="instead of --dataset: the dataset and image options of a run")
    train.add_argument("--data-dir", help="data root (default $GANKIT_DATA or ~/.cache/gankit/data)")
    train.add_argument("--epochs", type=int, help="training epochs (default: about 160,000 images' worth, 8 to 30)")
    train.add_argument("--seed", type=int, help="seed; the same seed gives the same evaluator (default 0)")
    train.add_argument("--force", action="store_true", help="retrain even when this evaluator is already cached")
    train.set_defaults(func=run_train)
    show = sub.add_parser("show", help="print the cached evaluator of a dataset and its accuracy")
    show.add_argument("--dataset", required=True, choices=DATASETS.names())
    show.add_argument("--data-dir", help="data root (default $GANKIT_DATA or ~/.cache/gankit/data)")
    show.set_defaults(func=run_show)


def run_train(args: argparse.Namespace) -> int:
    import dataclasses

    from gankit.data import DatasetSpec
    from gankit.metrics.evaluator import EvaluatorConfig

    changes = {}
    if args.epochs is not None:
        if args.epochs < 1:
            raise ConfigError(f"--epochs: {args.epochs} must be at least 1")
        changes["epochs"] = args.epochs
    if args.seed is not None:
        if args.seed < 0:
            raise ConfigError(f"--seed: {args.seed} must be >= 0")
        changes["seed"] = args.seed
    cfg = dataclasses.replace(EvaluatorConfig(), **changes)
    if bool(args.dataset) == bool(args.run):
        raise ConfigError("give either --dataset NAME or --run RUN_DIR")
    if args.run:
        from gankit.evaluation.run_eval import run_dataset

        dataset = run_dataset(args.run)
        dataset = DatasetSpec.of(dataset, args.data_dir or dataset.data_dir)
    else:
        dataset = DatasetSpec(args.dataset, args.data_dir)
    return _train(dataset, cfg, args.force)


def _train(dataset, cfg, force: bool) -> int:
    from gankit.evaluation.evaluator_training import train_evaluator
    from gankit.metrics.evaluator import evaluator_dir, evaluator_key, load_evaluator_dir, save_evaluator

    if dataset.name == "stacked-mnist":
        raise ConfigError("--dataset stacked-mnist: Stacked MNIST is scored with the MNIST evaluator on each channel; "
                          "train that one with --dataset mnist")
    directory = evaluator_dir(dataset.name, evaluator_key(dataset.load("train"), cfg))
    if (directory / "evaluator.json").is_file() and not force:
        evaluator = load_evaluator_dir(directory)
        log.info("already trained: %s", directory)
    else:
        log.info("training the %s evaluator (seed %d)", dataset.name, cfg.seed)
        evaluator = train_evaluator(dataset, cfg=cfg, progress=True)
        directory = save_evaluator(evaluator)
        log.info("saved %s", directory)
    _print(evaluator.meta)
    return 0


def run_show(args: argparse.Namespace) -> int:
    from gankit.data import DatasetSpec
    from gankit.metrics.evaluator import load_evaluator

    _print(load_evaluator(DatasetSpec(args.dataset, args.data_dir)).meta)
    return 0


def _print(meta: dict) -> None:
    print(f"dataset        {meta['dataset']} ({meta['train_count']} train / {meta['test_count']} test images)")
    print(f"data           {meta['data_source']}")
    print(f"test accuracy  {100 * meta['test_accuracy']:.2f}%")
    print(f"trained in     {meta['train_seconds']:.0f} s, {meta['config']['epochs']} epochs, seed {meta['config']['seed']}")
    print(f"key            {meta['key'][:16]}")
