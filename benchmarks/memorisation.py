"""Does ``gankit eval`` tell a generator that copies its training images from one that does not?

Scores, with the dataset's domain evaluator and in pixels, against all training images:
  1. training images presented as samples (a perfect copier; expected: flagged),
  2. held-out test images presented as samples (new data; expected: not flagged),
  3. a trained run's generator (``--run``), when given.

The test split is cut in two: the first ``--num`` items of the fixed subset permutation are
the reference ("how close does new data come to the training set"), the next ``--num`` are
the held-out samples of case 2, so neither is compared with itself. A set is flagged as
copying when, in evaluator features or in pixels, ``z_u`` < -3 (Meehan et al. 2020) and
``copy_share`` is at least twice its floor: ``z_u`` alone also goes negative for samples
that are as a whole a little nearer the training set, such as smooth digits in pixels,
without a single near-copy.

Usage (the dataset's domain evaluator must be trained first):
  gankit evaluator train --dataset mnist
  OMP_NUM_THREADS=1 python benchmarks/memorisation.py --dataset mnist --num 1000 --run runs/mnist_dcgan
"""

from __future__ import annotations

import argparse
import time

import torch

from gankit.data import DatasetSpec
from gankit.metrics.evaluate import MEMORISATION_TRAIN, evaluate_samples
from gankit.metrics.extractors import default_extractor

COLUMNS = ("fid", "fid_test", "nn_ratio", "nn_ratio_pixels", "copy_share", "copy_share_pixels", "z_u", "z_u_pixels", "authenticity")
Z_COPYING = -3.0
SHARE_COPYING = 2.0  # copy_share at least this many times its floor


def flagged(figures: dict[str, float], floor: dict[str, float]) -> bool:
    """Copying in features or in pixels: z_u below -3 and copy_share at least twice the floor's."""
    return any(f"z_u{s}" in figures and figures[f"z_u{s}"] < Z_COPYING
               and figures[f"copy_share{s}"] >= SHARE_COPYING * floor[f"copy_share{s}"] for s in ("", "_pixels"))


def split_items(spec: DatasetSpec, split: str, start: int, num: int, seed: int = 0) -> torch.Tensor:
    """Items ``start..start+num`` of the split's fixed permutation (the order ``real_subset`` takes its first ``num`` from)."""
    data = spec.load(split)
    order = torch.randperm(len(data), generator=torch.Generator().manual_seed(seed))
    if start + num > len(data):
        raise SystemExit(f"the {split} split has {len(data)} items; --num {num} needs {start + num}")
    return data.images[order[start:start + num]]


def cell(value: float | None) -> str:
    return "-" if value is None else f"{value:.3f}" if abs(value) < 100 else f"{value:.1f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--dataset", default="mnist")
    parser.add_argument("--num", type=int, default=1000, help="samples per case; the test split must hold twice as many")
    parser.add_argument("--run", help="a trained run of this dataset to score as case 3")
    parser.add_argument("--data-dir")
    args = parser.parse_args()

    spec = DatasetSpec(args.dataset, args.data_dir)
    extractor = default_extractor(spec)
    cases = [
        ("training images as samples", split_items(spec, "train", 0, args.num, seed=1)),
        ("held-out test images as samples", split_items(spec, "test", args.num, args.num)),
    ]
    if args.run:
        from gankit.evaluation.run_eval import samples_from_run

        cases.append((f"generator of {args.run}", samples_from_run(args.run, None, args.num, seed=0)))
    train_size = min(len(spec.load("train")), MEMORISATION_TRAIN)
    print(f"dataset {spec.name}, features: {extractor.id}; {args.num} samples per case; nearest of {train_size} training items; "
          f"flagged when z_u < {Z_COPYING:g} and copy_share >= {SHARE_COPYING:g}x its floor, in features or pixels")
    rows = [("case", *COLUMNS, "flagged", "s")]
    floor = None
    for title, samples in cases:
        start = time.perf_counter()
        result = evaluate_samples(samples, spec, "fid", extractor=extractor, memorisation=True)
        seconds = time.perf_counter() - start
        figures = result.metrics
        copying = flagged(figures, result.floor)
        rows.append((title, *(cell(figures.get(c)) for c in COLUMNS), "yes" if copying else "no", f"{seconds:.1f}"))
        floor = result.floor
    rows.append((f"floor: {args.num} test items as samples", *(cell(floor.get(c)) for c in COLUMNS), "", ""))
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    for i, row in enumerate(rows):
        print("  ".join(c.ljust(w) if j == 0 else c.rjust(w) for j, (c, w) in enumerate(zip(row, widths))))
        if i == 0:
            print("  ".join("-" * w for w in widths))


if __name__ == "__main__":
    main()
