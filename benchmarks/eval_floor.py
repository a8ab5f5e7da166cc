"""Does ``gankit eval`` tell real data from an untrained generator?

Scores, against the real training images of a dataset and beside the real-vs-real floor:
  1. real test images (expected: exactly at the floor),
  2. an untrained generator (the reference MLP at its random initialisation; expected: far from it).

Usage (the dataset's domain evaluator must be trained first):
  gankit evaluator train --dataset mnist
  python benchmarks/eval_floor.py --dataset mnist --num 2000
"""

from __future__ import annotations

import argparse
import time

import torch

from gankit.metrics.evaluate import evaluate_samples, format_table
from gankit.metrics.extractors import default_extractor
from gankit.sampling import draw_samples
from gankit.metrics.stats_cache import real_subset
from gankit.models import create_model


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--dataset", default="mnist")
    parser.add_argument("--num", type=int, default=2000)
    parser.add_argument("--data-dir")
    args = parser.parse_args()

    extractor = default_extractor(args.dataset, args.data_dir)
    real = real_subset(args.dataset, "test", args.num, args.data_dir)
    torch.manual_seed(0)
    pair = create_model("mlp", tuple(real.shape[1:]), 100)
    untrained = draw_samples(pair.generator, {"latent_dim": 100, "num_classes": 0}, len(real), seed=0)
    for title, samples in (("real test images", real), ("untrained generator", untrained)):
        start = time.perf_counter()
        result = evaluate_samples(samples, args.dataset, data_dir=args.data_dir, extractor=extractor)
        print(f"== {title} ({time.perf_counter() - start:.1f} s)")
        print(format_table(result))
        print()


if __name__ == "__main__":
    main()
