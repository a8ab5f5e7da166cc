"""Is Stacked MNIST's digit imbalance an oscillation that averaging would cancel?

For each checkpoint given, draws 26,000 samples from its EMA generator and from its raw
generator, and prints modes, KL to uniform, each channel's digit KL and each channel's
digit shares (in %, digits 0-9) as the stacked evaluator reads them; then the KL of the
EMA samples of all the checkpoints pooled (26,000 drawn from the pool at random).

    OMP_NUM_THREADS=1 python benchmarks/stacked_checkpoints.py runs/stacked_mnist/checkpoints/ckpt-*.ckpt
"""

from __future__ import annotations

import argparse

import torch

from gankit.metrics.extractors import default_extractor
from gankit.metrics.modes import STACKED_SAMPLES, score_stacked
from gankit.sampling import draw_samples
from gankit.sampling import generator_from_state
from gankit.run import read_checkpoint_file


def _line(digits: torch.Tensor) -> str:
    s = score_stacked(digits)
    channels = " / ".join(f"{c:.4f}" for c in s.channel_kl)
    shares = " | ".join(
        " ".join(f"{100 * float(v):2.0f}" for v in torch.bincount(digits[:, c], minlength=10).float() / len(digits))
        for c in range(digits.shape[1])
    )
    return f"modes {s.modes}  KL {s.reverse_kl:.4f}  channels {channels}\n    shares: {shares}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("checkpoints", nargs="+", help="checkpoint files of one Stacked MNIST run")
    parser.add_argument("--num", type=int, default=STACKED_SAMPLES, help="samples per generator (default 26,000)")
    parser.add_argument("--seed", type=int, default=0, help="noise seed (default 0)")
    args = parser.parse_args()

    extractor = default_extractor("stacked-mnist", None)
    pooled = []
    for path in args.checkpoints:
        state = read_checkpoint_file(path)
        for which in ("ema", "raw"):
            if which == "raw":
                state = {k: v for k, v in state.items() if k != "generator_ema"}
            generator, spec = generator_from_state(state, path)
            digits = extractor.digits_of(draw_samples(generator, spec, args.num, args.seed))  # (N, 3) digits
            print(f"{path} {which}: {_line(digits)}", flush=True)
            if which == "ema":
                pooled.append(digits)
    if len(pooled) > 1:
        pool = torch.cat(pooled)
        pick = torch.randperm(len(pool), generator=torch.Generator().manual_seed(args.seed))[: args.num]
        print(f"EMA samples of all {len(pooled)} checkpoints pooled: {_line(pool[pick])}")


if __name__ == "__main__":
    main()
