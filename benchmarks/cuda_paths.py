"""Training speed on a CUDA device: float32 against bfloat16 autocast, per preset.

For each preset, two trainers (``train.precision=fp32`` and ``bf16``) run in this one process,
interleaved round by round on the same GPU; the median images/s of each and their ratio are printed,
with the losses of the last step (which must be finite). Made for a CUDA device (``--device cpu`` runs the same rounds on the CPU).

    python benchmarks/cuda_paths.py [--presets mnist_dcgan,emoji_resnet64] [--steps 100] [--repeats 5]
"""

from __future__ import annotations

import argparse
import math
import statistics
import tempfile
import time
from pathlib import Path

import torch

from gankit.training.config import load_config, resolve_config_path
from gankit.training.trainer import Trainer


def _synchronize() -> None:
    if torch.cuda.is_available():
        torch.cuda.synchronize()


def images_per_second(trainer: Trainer, steps: int) -> tuple[float, dict[str, float]]:
    """Run ``steps`` training steps; images/s measured after a device synchronisation."""
    _synchronize()
    start = time.perf_counter()
    stats: dict[str, float] = {}
    for i in range(steps):
        real, labels = trainer.next_batch()
        stats = trainer.train_step(real, labels, with_stats=i == steps - 1) or stats
        trainer.step += 1
    _synchronize()
    return steps * trainer.cfg.train.batch_size / (time.perf_counter() - start), stats


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--presets", default="mnist_dcgan,emoji_resnet64")
    parser.add_argument("--steps", type=int, default=100, help="steps per round")
    parser.add_argument("--repeats", type=int, default=5, help="rounds, each running both precisions")
    parser.add_argument("--device", default="cuda", choices=("cuda", "cpu"))
    args = parser.parse_args()
    if args.device == "cuda" and not torch.cuda.is_available():
        raise SystemExit("cuda_paths: no CUDA device (--device cpu runs the same rounds on the CPU)")
    name = torch.cuda.get_device_name() if args.device == "cuda" else "CPU"
    print(f"device: {name}; torch {torch.__version__}, CUDA {torch.version.cuda}")
    with tempfile.TemporaryDirectory() as tmp:
        for preset in args.presets.split(","):
            rates: dict[str, list[float]] = {"fp32": [], "bf16": []}
            trainers, last = {}, {}
            for precision in rates:
                cfg = load_config(resolve_config_path(preset), [f"train.device={args.device}", f"train.precision={precision}"])
                trainers[precision] = Trainer(cfg, Path(tmp) / f"{preset}-{precision}")
                images_per_second(trainers[precision], 10)  # warm-up
            for _ in range(args.repeats):
                for precision, trainer in trainers.items():
                    rate, stats = images_per_second(trainer, args.steps)
                    rates[precision].append(rate)
                    last[precision] = stats
            for precision in rates:
                finite = all(math.isfinite(float(v)) for v in last[precision].values())
                losses = ", ".join(f"{k} {float(v):.3f}" for k, v in sorted(last[precision].items()) if "loss" in k)
                print(f"{preset:16s} {precision}: {statistics.median(rates[precision]):9.0f} images/s "
                      f"(batch {trainers[precision].cfg.train.batch_size}; last losses: {losses}; finite: {finite})")
            print(f"{preset:16s} bf16/fp32: {statistics.median(rates['bf16']) / statistics.median(rates['fp32']):.2f}x")


if __name__ == "__main__":
    main()
