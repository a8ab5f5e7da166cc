"""The two terms of G's content loss on a trained restoration run: 100 x L1 and the domain evaluator's feature
distance, so that ``restore.feature_weight`` can be picked to put the feature term at the L1 term's order.

The run restores the first ``--num`` images of its evaluation set (the test split degraded with seed 0, as
``gankit eval`` does); the script prints ``l1_weight`` x the mean absolute pixel difference, the mean absolute
difference of the evaluator's features (:class:`gankit.restore.feature_loss.EvaluatorFeatureLoss`, the evaluator of
``--evaluator-seed``), and the weight that would make the two terms equal.

    python benchmarks/restore_feature_scale.py RUN [RUN ...] [--num 512] [--evaluator-seed 0]
"""

from __future__ import annotations

import argparse

import torch

from gankit.data import DatasetSpec, load_data
from gankit.restore.feature_loss import evaluator_feature_loss
from gankit.restore.paired import PairedData
from gankit.run import RunDir


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("runs", nargs="+")
    parser.add_argument("--num", type=int, default=512)
    parser.add_argument("--evaluator-seed", type=int, default=0)
    args = parser.parse_args()
    torch.set_num_threads(1)
    print("| run | l1_weight x L1 | feature distance | weight for equal terms |")
    print("| --- | ---: | ---: | ---: |")
    for path in args.runs:
        run = RunDir(path)
        cfg = run.read_config()
        generator, _ = run.load_generator(None)
        generator.eval()
        test = load_data(cfg.data, "test")
        pairs = PairedData(test, cfg.restore.degradation, 0, cfg.restore.sigma, cfg.restore.amount).evaluation_set(args.num)
        loss = evaluator_feature_loss(DatasetSpec.from_config(cfg.data), args.evaluator_seed)
        with torch.no_grad():
            restored = generator(pairs.inputs)  # (N, C, H, W) in [-1, 1]
            l1_term = cfg.restore.l1_weight * float((restored - pairs.clean).abs().mean())
            distance = float(loss(restored, pairs.clean))
        print(f"| {path} | {l1_term:.3f} | {distance:.4f} | {l1_term / distance:.2f} |")


if __name__ == "__main__":
    main()
