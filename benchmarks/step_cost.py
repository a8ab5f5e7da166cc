"""Training cost per image of several configurations, interleaved in one process.

Each variant is a name, a config file and config overrides; their trainers take turns
(one round of ``--steps`` steps each, ``--repeats`` rounds after a warm-up round), and
the median microseconds per image of each is printed with its ratio to the first
variant. Use it to price a model change before training with it: on a CPU, a network
that costs 2x per image has to learn 2x as much per image to pay for itself.

    python benchmarks/step_cost.py \
        --variant "mlp_wide configs/mnist_mlp_wide.yaml" \
        --variant "conv_g configs/mnist_mlp_wide.yaml model.name=hybrid model.options.generator=dcgan model.options.discriminator=mlp"
"""

from __future__ import annotations

import argparse
import shlex
import statistics
import sys
import tempfile
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))

from throughput import gankit_images_per_second as images_per_second  # noqa: E402

from gankit.training.config import load_config  # noqa: E402
from gankit.training.trainer import Trainer  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--variant", action="append", required=True, metavar='"NAME CONFIG [KEY=VALUE ...]"',
                        help="a name, a config file and its overrides, quoted as one argument; give two or more")
    parser.add_argument("--steps", type=int, default=30, help="steps per round")
    parser.add_argument("--repeats", type=int, default=3, help="rounds after the warm-up round")
    args = parser.parse_args()

    variants = []
    for spec in args.variant:
        words = shlex.split(spec)
        if len(words) < 2:
            parser.error(f"--variant {spec!r}: give a name and a config file, then any KEY=VALUE overrides")
        variants.append((words[0], load_config(words[1], [*words[2:], "train.fid_every=1000000000"])))

    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads; {args.steps} steps x {args.repeats} rounds, interleaved")
    with tempfile.TemporaryDirectory() as tmp:
        trainers = {name: Trainer(cfg, Path(tmp) / name) for name, cfg in variants}
        for trainer in trainers.values():
            images_per_second(trainer, args.steps)  # warm-up
        rates: dict[str, list[float]] = {name: [] for name in trainers}
        for _ in range(args.repeats):
            for name, trainer in trainers.items():
                rates[name].append(images_per_second(trainer, args.steps))
    base = 1e6 / statistics.median(rates[variants[0][0]])
    for name, cfg in variants:
        us = 1e6 / statistics.median(rates[name])
        print(f"{name:24s} batch {cfg.train.batch_size:4d}  {us:8.1f} us/image  {us / base:5.2f}x the first")


if __name__ == "__main__":
    main()
