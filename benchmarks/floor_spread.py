"""How far does the real-vs-real floor of each class's recall move between evaluation draws?

A per-class target ("every class within 0.05 of its floor recall") is only as sharp as
the floor itself: this prints, per class of the dataset's domain evaluator, the floor's
recall (``--num`` real test items against ``--num`` real training items, Kynkäänniemi et
al. 2019, k = 3) over ``--draws`` draws of the two real subsets (subset seeds 0, 1, ...),
as ``gankit eval --by-class`` does beside every sample's per-class recall.

Usage (the dataset's domain evaluator must be trained first):
  OMP_NUM_THREADS=1 python benchmarks/floor_spread.py --dataset mnist --num 2000 --draws 5
"""

from __future__ import annotations

import argparse

from gankit.data import DatasetSpec
from gankit.metrics.evaluate import floor_recall_spread
from gankit.metrics.extractors import default_extractor
from gankit.metrics.precision_recall import precision_recall_by_class
from gankit.metrics.stats_cache import real_features


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--dataset", default="mnist")
    parser.add_argument("--num", type=int, default=2000)
    parser.add_argument("--draws", type=int, default=5)
    parser.add_argument("--data-dir")
    args = parser.parse_args()

    spec = DatasetSpec(args.dataset, args.data_dir)
    extractor = default_extractor(spec)
    spread = floor_recall_spread(spec, extractor, args.num, 0, args.draws)
    first = precision_recall_by_class(real_features(spec, "train", extractor, args.num), real_features(spec, "test", extractor, args.num))
    names = spec.load("train").class_names or tuple(str(c) for c in range(len(spread)))
    print(f"dataset {spec.name}, features: {extractor.id}; floor recall of each class, {args.num} test vs {args.num} training "
          f"items, over {args.draws} draws")
    print(f"{'class':<12} {'draw 0':>7} {'min':>7} {'max':>7} {'range':>7} {'std':>7}")
    widths = []
    for name, row, draw0 in zip(names, spread, first):
        if row["floor_recall_min"] is None:
            print(f"{name:<12} {'-':>7}")
            continue
        width = row["floor_recall_max"] - row["floor_recall_min"]
        widths.append(width)
        std = "-" if row["floor_recall_std"] is None else f"{row['floor_recall_std']:.3f}"
        print(f"{name:<12} {draw0['recall']:7.3f} {row['floor_recall_min']:7.3f} {row['floor_recall_max']:7.3f} {width:7.3f} {std:>7}")
    print(f"range over classes: {min(widths):.3f}-{max(widths):.3f}")


if __name__ == "__main__":
    main()
