"""The ``gankit`` command: thin subcommands that map flags onto the library."""

from __future__ import annotations

import argparse
import logging
import sys

from gankit.errors import GankitError

EPILOG = """examples:
  gankit train configs/mnist_mlp.yaml --max-minutes 5
  gankit train configs/mnist_mlp.yaml --set optim.lr_g=1e-4 --set train.batch_size=128
  gankit train --resume runs/mnist_mlp
  gankit sample runs/mnist_mlp --num 64 --out samples.png
  gankit data fetch mnist
  gankit export runs/mnist_mlp --format hf --out hf/mnist_mlp
  gankit restore runs/fashion_sr2_gan --input small.png --out restored/
  gankit studio runs/
  gankit lesson the-game --out lesson1
"""


def build_parser() -> argparse.ArgumentParser:
    from gankit.cli import bench, data, edit, eval, evaluator, export, interpolate, lesson, project, report, restore, sample, studio, train

    parser = argparse.ArgumentParser(
        prog="gankit", description="Train, sample and evaluate GANs.", epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--verbose", "-v", action="store_true", help="show debug messages")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for module in (train, sample, data, eval, evaluator, report, bench, export, restore, project, interpolate, edit, studio, lesson):
        module.add_parser(subparsers)
    return parser


def _configure_logging(level: int) -> None:
    """Plain ``gankit: message`` lines on stderr for gankit's own logger only."""
    logger = logging.getLogger("gankit")
    logger.setLevel(level)
    if not any(getattr(h, "_gankit", False) for h in logger.handlers):
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter("gankit: %(message)s"))
        handler._gankit = True
        logger.addHandler(handler)
        logger.propagate = False


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    _configure_logging(logging.DEBUG if args.verbose else logging.INFO)
    try:
        return int(args.func(args) or 0)
    except GankitError as exc:
        print(f"gankit: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("gankit: interrupted", file=sys.stderr)
        return 130
