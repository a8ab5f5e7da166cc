"""``gankit report``: one self-contained HTML page about a run."""

from __future__ import annotations

import argparse
import logging

from gankit.errors import ConfigError

log = logging.getLogger("gankit")

EXAMPLES = """examples:
  gankit report runs/mnist_mlp                  # writes runs/mnist_mlp/report.html
  gankit report runs/mnist_mlp --out /tmp/mnist.html --num 5000
The page embeds its pictures: loss and D-output curves, the FID curve (train.fid_every),
sample grids through training, and the class histogram of the generator's samples.
"""


def add_parser(subparsers) -> None:
    p = subparsers.add_parser(
        "report", help="write an HTML report of a run", description="Write one self-contained HTML page about a run.",
        epilog=EXAMPLES, formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("run_dir", help="the run directory")
    p.add_argument("--out", help="output file (default RUN_DIR/report.html)")
    p.add_argument("--num", type=int, default=2000, help="samples behind the class histogram (default 2000)")
    p.add_argument("--seed", type=int, default=0, help="noise seed of those samples (default 0)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from gankit.evaluation.report import write_report

    if not 10 <= args.num <= 100_000:
        raise ConfigError(f"--num: {args.num} is outside 10..100000")
    out = write_report(args.run_dir, args.out, args.num, args.seed)
    log.info("wrote %s", out)
    return 0
