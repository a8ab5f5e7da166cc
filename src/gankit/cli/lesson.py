"""``gankit lesson``: run one lesson of docs/lessons/, writing its figures and measured numbers into a folder."""

from __future__ import annotations

import argparse
import logging

log = logging.getLogger("gankit")

EXAMPLES = """examples:
  gankit lesson the-game --out lesson1
  gankit lesson vanishing-gradients --out lesson4 --seed 1
  gankit lesson mode-collapse --out lesson5 --tiny          # a few steps of everything: checks the command works
  gankit lesson mode-collapse --out lesson5 --run runs/stacked   # also read a Stacked MNIST run

Each lesson writes PNG/GIF figures and NAME.json (the numbers it measured, the command, the CPU time).
The lessons themselves: docs/lessons/README.md.
"""


def add_parser(subparsers) -> None:
    p = subparsers.add_parser(
        "lesson", help="run a lesson: figures and measured numbers for one idea of the GAN tutorial",
        description="Run one lesson of docs/lessons/ and write its figures (PNG/GIF) and numbers (NAME.json) into --out.",
        epilog=EXAMPLES, formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("name", metavar="NAME", help="the lesson: the-game, the-loop, vanishing-gradients, mode-collapse, ... (docs/lessons/README.md)")
    p.add_argument("--out", required=True, help="the folder for the figures and NAME.json (created)")
    p.add_argument("--tiny", action="store_true", help="a few steps of everything (seconds): checks the command, teaches nothing")
    p.add_argument("--run", metavar="EXISTING_RUN", help="a finished run directory, for lessons that read a long run")
    p.add_argument("--seed", type=int, default=0, help="seed of every random draw (default 0)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from gankit.lessons import run_lesson

    record = run_lesson(args.name, args.out, tiny=args.tiny, seed=args.seed, run=args.run)
    log.info("lesson %s: figures and %s.json in %s (%.0f CPU-s)", args.name, args.name, args.out, record["cpu_seconds"])
    return 0
