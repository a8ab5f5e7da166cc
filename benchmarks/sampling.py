"""Sampling speed on the CPU: images/s for a batch of 1,000 and the latency of one image.

Uses a run's generator when given (``--run-dir``), else a freshly built generator of
the chosen preset (speed does not depend on the weights).

    python benchmarks/sampling.py [--presets mnist_mlp ...] [--run-dir RUN] [--repeats 5]
"""

from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path

import torch

from gankit.data import load_dataset
from gankit.models import create_model, generator_spec
from gankit.sampling import generate, load_run_generator
from gankit.training.config import load_config

CONFIGS = Path(__file__).resolve().parents[1] / "configs"


def timed(fn, repeats: int) -> float:
    fn()  # warm-up
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def preset_generator(name: str):
    cfg = load_config(CONFIGS / f"{name}.yaml")
    dataset = load_dataset(cfg.data.name, "train", cfg.data.dir)
    num_classes = dataset.num_classes if cfg.data.conditional else 0
    pair = create_model(cfg.model.name, dataset.img_shape, cfg.model.latent_dim, num_classes, **cfg.model.options)
    spec = generator_spec(cfg.model.name, dataset.img_shape, cfg.model.latent_dim, num_classes, cfg.model.options)
    return pair.generator.eval(), spec


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--presets", nargs="+", default=["mnist_mlp"])
    parser.add_argument("--run-dir", help="sample from this run's generator instead of the presets")
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()

    sources = [(args.run_dir, *load_run_generator(args.run_dir))] if args.run_dir else [(p, *preset_generator(p)) for p in args.presets]
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, CPU")
    print(f"{'generator':<24}{'images/s (batch 1000)':>24}{'latency 1 image (ms)':>24}")
    for name, generator, spec in sources:
        batch = timed(lambda: generate(generator, spec, 1000, seed=0, batch_size=1000), args.repeats)
        one = timed(lambda: generate(generator, spec, 1, seed=0), args.repeats * 10)
        print(f"{name:<24}{1000 / batch:>24.0f}{one * 1e3:>24.2f}")


if __name__ == "__main__":
    main()
