"""Training throughput of convolutional presets in the default (NCHW) and channels-last (NHWC) layouts.

For each preset, two trainers with the same config except ``train.channels_last`` run
interleaved in this one process (NCHW, NHWC, NCHW, ...); the median images/s of each
layout and their ratio are printed. Absolute numbers vary between machines; the ratio is
the figure.

    python benchmarks/channels_last.py [--presets emoji_dcgan64 emoji_resnet64] [--steps 20] [--repeats 3]
        [--set train.precision=bf16]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))

from throughput import gankit_images_per_second as images_per_second  # noqa: E402

from gankit.training.config import load_config  # noqa: E402
from gankit.training.trainer import Trainer  # noqa: E402

CONFIGS = Path(__file__).resolve().parents[1] / "configs"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--presets", nargs="+", default=["emoji_dcgan64", "emoji_resnet64"])
    parser.add_argument("--steps", type=int, default=20, help="steps per round")
    parser.add_argument("--repeats", type=int, default=3, help="rounds, each running both layouts back to back")
    parser.add_argument("--set", dest="overrides", action="append", default=[], help="config overrides for both runs")
    args = parser.parse_args()

    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads; {args.steps} steps x {args.repeats} rounds, interleaved")
    print(f"{'preset':<22}{'precision':>10}{'batch':>7}{'NCHW img/s':>12}{'NHWC img/s':>12}{'NHWC/NCHW':>11}")
    with tempfile.TemporaryDirectory() as tmp:
        for name in args.presets:
            trainers = {}
            for layout in (False, True):
                cfg = load_config(CONFIGS / f"{name}.yaml", [*args.overrides, f"train.channels_last={str(layout).lower()}",
                                                             "train.fid_every=null"])
                trainers[layout] = Trainer(cfg, Path(tmp) / f"{name}-{layout}")
                images_per_second(trainers[layout], 3)  # warm-up
            rates: dict[bool, list[float]] = {False: [], True: []}
            for _ in range(args.repeats):
                for layout, trainer in trainers.items():
                    rates[layout].append(images_per_second(trainer, args.steps))
            nchw, nhwc = statistics.median(rates[False]), statistics.median(rates[True])
            cfg = trainers[False].cfg
            print(f"{name:<22}{cfg.train.precision:>10}{cfg.train.batch_size:>7}{nchw:>12.1f}{nhwc:>12.1f}{nhwc / nchw:>10.2f}x")


if __name__ == "__main__":
    main()
