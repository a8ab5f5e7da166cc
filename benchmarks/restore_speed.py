"""Restoration speed on the CPU: forward passes of the presets' generators, and the training cost of each preset.

Restoring (the targets): 1,000 images at 28 px in under 1 s (fashion_sr2, fashion_denoise, mnist_inpaint) and
1,000 emoji at 64 px in under 5 s (emoji_sr4), float32, images already in memory, through
``gankit.restore.restore_batches`` (batches of 64, channels-last), the median of 5 timed repeats after one warm-up,
on all the threads given (default 2). ``--layouts`` also times bare forward passes in batches of 500 in the default
layout, side by side. The weights are the preset's freshly
initialised ones: the time of a forward pass does not depend on their values.

Training cost (``--train-cost``): CPU-seconds of one training step of each preset, L1-only and GAN, measured over
40 steps after 5 of warm-up on one thread (process time, so other processes on the machine do not inflate it), times
the preset's ``train.max_steps``.

Usage:
    python benchmarks/restore_speed.py                  # restore speed, 2 threads
    python benchmarks/restore_speed.py --threads 1
    python benchmarks/restore_speed.py --layouts        # restore_batches against plain batches of 500
    OMP_NUM_THREADS=1 python benchmarks/restore_speed.py --train-cost
    python benchmarks/restore_speed.py --json out.json  # the figures as JSON too
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time

import torch

from gankit.models import create_model
from gankit.restore import restore_batches
from gankit.training.config import load_config

SPEED_PRESETS = {"fashion_sr2": 1.0, "fashion_denoise": 1.0, "mnist_inpaint": 1.0, "emoji_sr4": 5.0}
"""preset -> the target: seconds for 1,000 images."""
SHAPES = {"fashion-mnist": (1, 28, 28), "mnist": (1, 28, 28)}


def preset_generator(preset: str) -> tuple[torch.nn.Module, tuple[int, ...]]:
    """The preset's generator (float32, eval mode) and the shape of one input (C [+ 1], h, w)."""
    cfg = load_config(preset)
    shape = SHAPES.get(cfg.data.name, (cfg.data.channels or 3, cfg.data.image_size or 64, cfg.data.image_size or 64))
    torch.manual_seed(0)
    generator = create_model(cfg.model.name, shape, cfg.model.latent_dim, 0, **cfg.model.options).generator.eval()
    return generator, generator.input_shape


def restore_seconds(preset: str, num: int = 1000, repeats: int = 5, layout: str = "restore") -> list[float]:
    """Seconds per pass over ``num`` images: ``restore`` times :func:`gankit.restore.restore_batches` (what ``gankit
    restore``, the pipeline and the studio run: batches of 64, channels-last, uint8 out); ``plain`` times bare forward
    passes in batches of 500 in the default layout, for comparison."""
    generator, input_shape = preset_generator(preset)
    inputs = torch.rand(num, *input_shape) * 2 - 1
    if load_config(preset).model.options.get("mask_input"):
        inputs[:, -1] = (inputs[:, -1] > 0).float()

    @torch.inference_mode()
    def plain() -> None:
        for i in range(0, num, 500):
            generator(inputs[i:i + 500])

    run = (lambda: restore_batches(generator, inputs)) if layout == "restore" else plain
    times = []
    for r in range(repeats + 1):
        start = time.perf_counter()
        run()
        if r:  # the first pass warms up
            times.append(time.perf_counter() - start)
    return times


def train_cost(preset: str, adv_weight: float, warmup: int = 5, steps: int = 40) -> dict[str, float]:
    from gankit.training.trainer import Trainer

    cfg = load_config(preset, [f"restore.adv_weight={adv_weight}", "train.device=cpu"])
    with tempfile.TemporaryDirectory() as run_dir:
        trainer = Trainer(cfg, run_dir)
        for _ in range(warmup):
            trainer.train_step(*trainer.next_batch())
            trainer.step += 1
        start = time.process_time()
        for _ in range(steps):
            trainer.train_step(*trainer.next_batch())
            trainer.step += 1
        per_step = (time.process_time() - start) / steps
    return {"cpu_s_per_step": per_step, "steps": cfg.train.max_steps, "cpu_minutes": per_step * cfg.train.max_steps / 60}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=2, help="torch threads for the forward passes (default 2)")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--layouts", action="store_true", help="also time plain forward passes in batches of 500")
    parser.add_argument("--train-cost", action="store_true", help="measure the CPU-seconds per training step instead")
    parser.add_argument("--json", help="also write the figures to this JSON file")
    args = parser.parse_args()
    results: dict[str, dict] = {}
    if args.train_cost:
        torch.set_num_threads(1)
        print("| preset | objective | CPU-s / step | steps | CPU-minutes |\n| --- | --- | ---: | ---: | ---: |")
        for preset in SPEED_PRESETS | {"fashion_inpaint": 0}:
            for kind, adv in (("L1", 0.0), ("GAN", 1.0)):
                cost = train_cost(preset, adv)
                results[f"{preset}/{kind}"] = cost
                print(f"| {preset} | {kind} | {cost['cpu_s_per_step']:.3f} | {cost['steps']} | {cost['cpu_minutes']:.1f} |", flush=True)
    else:
        torch.set_num_threads(args.threads)
        print(f"{args.threads} thread(s), float32, 1,000 images in memory, restore_batches, median of {args.repeats}")
        plain_col = " plain batches of 500 (s) |" if args.layouts else ""
        print(f"| preset | input -> output | median s / 1,000 images |{plain_col} target | status |")
        print("| --- | --- | ---: |" + (" ---: |" if args.layouts else "") + " ---: | --- |")
        for preset, target in SPEED_PRESETS.items():
            times = restore_seconds(preset, repeats=args.repeats)
            median = statistics.median(times)
            generator, input_shape = preset_generator(preset)
            results[preset] = {"median_s": median, "times_s": times, "target_s": target, "threads": args.threads}
            plain = ""
            if args.layouts:
                results[preset]["plain_median_s"] = statistics.median(restore_seconds(preset, repeats=args.repeats, layout="plain"))
                plain = f" {results[preset]['plain_median_s']:.3f} |"
            io = f"{input_shape[-1]} -> {generator.img_shape[-1]} px"
            print(f"| {preset} | {io} | {median:.3f} |{plain} {target:.0f} | {'met' if median < target else 'not met'} |", flush=True)
    if args.json:
        with open(args.json, "w") as f:
            json.dump(results, f, indent=2)


if __name__ == "__main__":
    main()
