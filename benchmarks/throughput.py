"""Training throughput of the reference MLP GAN: gankit's trainer vs the classic tutorial loop.

Both run in this one process, interleaved (classic, gankit, classic, gankit, ...), on
the same data, model and batch size; the median images/s of each and their ratio
are printed. Absolute numbers vary between machines; the ratio is the figure.

    python benchmarks/throughput.py [--steps 100] [--repeats 6] [--batch-size 64] [--set train.precision=bf16]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))

from classic import ClassicGAN  # noqa: E402

from gankit.data import load_dataset  # noqa: E402
from gankit.training.config import load_config  # noqa: E402
from gankit.training.trainer import Trainer  # noqa: E402


def gankit_images_per_second(trainer: Trainer, steps: int) -> float:
    """The trainer's own step loop (batch, D step, G step, stats every log_every steps)."""
    log_every = trainer.cfg.train.log_every
    start = time.perf_counter()
    for _ in range(steps):
        real, labels = trainer.next_batch()
        trainer.train_step(real, labels, with_stats=(trainer.step + 1) % log_every == 0)
        trainer.step += 1
    return steps * trainer.cfg.train.batch_size / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--steps", type=int, default=100, help="steps per round")
    parser.add_argument("--repeats", type=int, default=6, help="rounds, each running both loops back to back")
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--config", default=str(Path(__file__).resolve().parents[1] / "configs" / "mnist_mlp.yaml"))
    parser.add_argument("--set", dest="overrides", action="append", default=[], help="config overrides for gankit's run")
    args = parser.parse_args()

    dataset = load_dataset("mnist", "train")
    cfg = load_config(args.config, [f"train.batch_size={args.batch_size}", *args.overrides])
    with tempfile.TemporaryDirectory() as tmp:
        trainer = Trainer(cfg, Path(tmp) / "run", dataset=dataset)
        classic = ClassicGAN(dataset.images, dataset.labels, batch_size=args.batch_size)
        gankit_images_per_second(trainer, 20)  # warm-up
        classic.images_per_second(20)
        rates: dict[str, list[float]] = {"classic": [], "gankit": []}
        for _ in range(args.repeats):
            rates["classic"].append(classic.images_per_second(args.steps))
            rates["gankit"].append(gankit_images_per_second(trainer, args.steps))
    classic_ips, gankit_ips = statistics.median(rates["classic"]), statistics.median(rates["gankit"])
    round_ratios = [g / c for g, c in zip(rates["gankit"], rates["classic"])]
    print(f"data: {dataset.source}; torch {torch.__version__}, {torch.get_num_threads()} threads")
    print(f"model mlp, batch {args.batch_size}, {args.steps} steps x {args.repeats} repeats, interleaved")
    print(f"classic loop : {classic_ips:8.0f} images/s   (runs: {', '.join(f'{r:.0f}' for r in rates['classic'])})")
    print(f"gankit       : {gankit_ips:8.0f} images/s   (runs: {', '.join(f'{r:.0f}' for r in rates['gankit'])})")
    print(f"ratio gankit/classic: {gankit_ips / classic_ips:.2f}x (median of per-round ratios {statistics.median(round_ratios):.2f}x)")


if __name__ == "__main__":
    main()
