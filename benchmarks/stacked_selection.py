"""Can the discriminator pick Stacked MNIST samples with evener digits?

Draws ``--draws`` samples of a trained Stacked MNIST run, scores them with the run's
final discriminator and prints modes, KL to uniform and each channel's digit KL over
26,000 samples chosen four ways: the first 26,000 draws; the 26,000 of 26,000/F draws D
rates most real (``gankit eval --d-keep F``); discriminator rejection sampling (Azadi et
al., ICLR 2019: accept with probability sigmoid(F(x) - gamma), F(x) = logit - max logit
- log(1 - exp(logit - max logit)), gamma a quantile of F); and plain rejection sampling
with the logit as the log density ratio, capped at a quantile.

    gankit train configs/stacked_mnist.yaml --run-dir runs/stacked_mnist
    OMP_NUM_THREADS=1 python benchmarks/stacked_selection.py runs/stacked_mnist --draws 60000
"""

from __future__ import annotations

import argparse

import torch

from gankit.data.base import to_unit_range
from gankit.metrics.extractors import default_extractor
from gankit.metrics.modes import STACKED_SAMPLES, score_stacked
from gankit.sampling import draw_samples
from gankit.sampling import load_run_discriminator, load_run_generator


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("run_dir")
    parser.add_argument("--draws", type=int, default=60_000, help="samples drawn (at least 26,000 / 0.6)")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    n = STACKED_SAMPLES
    if args.draws < n / 0.6:
        parser.error(f"--draws: {args.draws} is below {int(n / 0.6) + 1}, what keeping 60% of them needs")

    generator, spec = load_run_generator(args.run_dir)
    discriminator = load_run_discriminator(args.run_dir)
    images = draw_samples(generator, spec, args.draws, args.seed)  # (N, 3, 28, 28) uint8
    with torch.no_grad():
        logits = torch.cat([discriminator(to_unit_range(images[i:i + 500])).logits.float() for i in range(0, len(images), 500)])
    digits = default_extractor("stacked-mnist").digits_of(images)  # (N, 3)

    def report(name: str, chosen: torch.Tensor) -> None:
        score = score_stacked(digits[chosen][:n])
        channels = " / ".join(f"{kl:.4f}" for kl in score.channel_kl)
        print(f"{name:34s} {min(len(chosen), n):6d} samples  {score.modes:4d} modes  KL {score.reverse_kl:.4f}  channels {channels}")

    report("first draws", torch.arange(args.draws))
    for keep in (0.9, 0.8, 0.7, 0.6):
        pool = int(n / keep)
        report(f"top {keep:.0%} by D (--d-keep {keep})", logits[:pool].argsort(descending=True)[:n].sort().values)
    uniform = torch.rand(args.draws, generator=torch.Generator().manual_seed(args.seed + 1))
    gap = logits - logits.max()
    f = gap - torch.log1p(-torch.exp(gap - 1e-6).clamp(max=1 - 1e-6))
    for q in (0.95, 0.8, 0.5, 0.2):
        accept = torch.sigmoid(f - torch.quantile(f, q))
        report(f"DRS, gamma = q{q} of F (accepts {accept.mean():.0%})", torch.nonzero(uniform < accept).squeeze(1))
    for q in (0.99, 0.9, 0.7):
        accept = torch.exp((logits - torch.quantile(logits, q)).clamp(max=0))
        report(f"rejection, cap q{q} (accepts {accept.mean():.0%})", torch.nonzero(uniform < accept).squeeze(1))


if __name__ == "__main__":
    main()
