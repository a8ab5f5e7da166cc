"""What an InfoGAN code has come to mean: which digit each value of each code draws.

For a run whose generator has categorical codes (``hybrid`` or ``mlp2d`` with
``components``), draws ``--num`` samples as ``gankit eval`` does (same seed, same z),
reads each sample's codes from its z and its digits with the domain evaluator (one
digit per channel on Stacked MNIST), and prints for every code the channel whose digit
it tracks best: the accuracy of the best one-to-one map from code values to digits
(the InfoGAN paper's unsupervised classification error, Chen et al. 2016, Table 1),
and the digit each value draws most.

    gankit train configs/stacked_mnist_info.yaml --run-dir runs/stacked_mnist_info
    OMP_NUM_THREADS=1 python benchmarks/code_digits.py runs/stacked_mnist_info --num 10000
"""

from __future__ import annotations

import argparse

import torch
from scipy.optimize import linear_sum_assignment

from gankit.metrics.extractors import default_extractor
from gankit.sampling import draw_samples
from gankit.sampling import load_run_generator


def best_map_accuracy(codes: torch.Tensor, digits: torch.Tensor, components: int) -> tuple[float, list[int]]:
    """Accuracy of the best one-to-one map from code values to digits (Hungarian algorithm), and that map."""
    counts = torch.zeros(components, 10, dtype=torch.long)
    counts.index_put_((codes, digits), torch.ones_like(codes), accumulate=True)
    rows, cols = linear_sum_assignment(-counts.numpy())
    mapping = [-1] * components
    for r, c in zip(rows.tolist(), cols.tolist()):
        mapping[r] = c
    return float(counts[rows, cols].sum()) / len(codes), mapping


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("run_dir")
    parser.add_argument("--num", type=int, default=10_000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--checkpoint", default=None, help="a checkpoint file instead of the run's newest")
    parser.add_argument("--dataset", default="mnist", help="the evaluator for one-channel runs (three channels: Stacked MNIST)")
    args = parser.parse_args()

    generator, spec = load_run_generator(args.run_dir, args.checkpoint)
    if not hasattr(generator, "code"):
        parser.error(f"{args.run_dir}: its generator has no categorical code (set model.options.components)")
    images = draw_samples(generator, spec, args.num, args.seed)  # (N, C, H, W) uint8
    z = torch.randn(args.num, spec["latent_dim"], generator=torch.Generator().manual_seed(args.seed))  # draw_samples' z
    codes = generator.code(z).reshape(args.num, -1)  # (N, codes)
    extractor = default_extractor("stacked-mnist" if images.shape[1] == 3 else args.dataset)
    digits = extractor.digits_of(images) if images.shape[1] == 3 else extractor(images).probs.argmax(dim=1, keepdim=True)
    components = generator.components
    print(f"{args.num} samples, {codes.shape[1]} code(s) of {components} values, {digits.shape[1]} digit(s) per sample")
    for j in range(codes.shape[1]):
        scores = [best_map_accuracy(codes[:, j], digits[:, c], components) for c in range(digits.shape[1])]
        channel = max(range(len(scores)), key=lambda c: scores[c][0])
        accuracy, mapping = scores[channel]
        others = ", ".join(f"channel {c}: {scores[c][0]:.3f}" for c in range(len(scores)) if c != channel)
        print(f"code {j}: tracks channel {channel}'s digit, best-map accuracy {accuracy:.3f}"
              + (f" (against {others})" if others else "") + f"; values 0..{components - 1} -> digits {mapping}")


if __name__ == "__main__":
    main()
