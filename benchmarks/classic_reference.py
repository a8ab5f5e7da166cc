"""Train the classic tutorial loop (benchmarks/classic.py) for N epochs and export its generator.

This is the baseline the [models] and [perf] targets are stated against ("what the
classic reference loop reaches after 200 epochs"). The generator is exported like a
gankit run (``OUT/export``), so ``gankit eval OUT`` scores it the same way as any run.
Wall time and this process's CPU time are recorded in ``OUT/classic.json``; the CPU
time is the figure to compare when other work shares the machine.

    python benchmarks/classic_reference.py --epochs 200 --out runs/classic_mlp_200ep
    gankit eval runs/classic_mlp_200ep
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))

from classic import ClassicGAN  # noqa: E402

from gankit.data import load_dataset  # noqa: E402
from gankit.models import export_generator, generator_spec  # noqa: E402
from gankit.sampling import generate, write_images  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--epochs", type=int, default=200)
    parser.add_argument("--dataset", default="mnist")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", default="runs/classic_mlp_200ep")
    args = parser.parse_args()

    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    dataset = load_dataset(args.dataset, "train")
    classic = ClassicGAN(dataset.images, dataset.labels, seed=args.seed)
    wall, cpu = time.perf_counter(), time.process_time()
    images = 0
    for epoch in range(1, args.epochs + 1):
        images += classic.train_epoch()
        if epoch % 10 == 0 or epoch == args.epochs:
            print(f"epoch {epoch}/{args.epochs}: {time.perf_counter() - wall:.0f} s wall, {time.process_time() - cpu:.0f} s CPU", flush=True)
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu

    spec = generator_spec("mlp", dataset.img_shape, 100, 0, {})
    export_generator(classic.generator, spec, out / "export")
    classic.generator.eval()
    samples, _ = generate(classic.generator, spec, 64, seed=0)
    write_images(samples, out / "samples.png")
    record = {
        "dataset": dataset.source, "epochs": args.epochs, "images": images, "wall_seconds": wall,
        "cpu_seconds": cpu, "threads": torch.get_num_threads(), "images_per_wall_second": images / wall,
    }
    (out / "classic.json").write_text(json.dumps(record, indent=2) + "\n")
    print(json.dumps(record))


if __name__ == "__main__":
    main()
