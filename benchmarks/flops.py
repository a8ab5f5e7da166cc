"""Hardware efficiency: achieved FLOP/s of training steps against the machine's matmul peak.

In one run: the peak of a large fp32 and a large bf16 matmul on this machine, then the
FLOPs of a training step of each preset counted with ``torch.utils.flop_counter``'s
formulas (forward and backward, matmuls and convolutions; averaged over one cycle of
lazy R1 steps, which cost more) and the step's measured time, hence images/s.

    python benchmarks/flops.py [--presets mnist_mlp ...] [--steps 30] [--set train.precision=bf16]

Without ``--presets`` every preset in configs/ is measured as shipped (its own precision and batch).
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import torch
from torch.utils._python_dispatch import TorchDispatchMode
from torch.utils.flop_counter import flop_registry

from gankit.data import load_dataset
from gankit.training.config import load_config
from gankit.training.trainer import Trainer

CONFIGS = Path(__file__).resolve().parents[1] / "configs"


def matmul_peak(dtype: torch.dtype, n: int = 2048, repeats: int = 10) -> float:
    """FLOP/s of an n x n x n matmul in ``dtype`` (best of ``repeats``)."""
    a, b = torch.randn(n, n, dtype=dtype), torch.randn(n, n, dtype=dtype)
    a @ b
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        a @ b
        best = min(best, time.perf_counter() - start)
    return 2 * n**3 / best


class FlopCount(TorchDispatchMode):
    """Total FLOPs of the ops run inside it, by ``torch.utils.flop_counter``'s formulas.

    ``FlopCounterMode`` itself also tracks modules with backward hooks, which
    ``torch.autograd.grad`` on a leaf (R1's gradient of D's output by the real batch) refuses.
    """

    def __init__(self) -> None:
        super().__init__()
        self.total = 0

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        out = func(*args, **kwargs)
        formula = flop_registry.get(func._overloadpacket)
        if formula is not None:
            self.total += formula(*args, **kwargs, out_val=out)
        return out


def step_flops(trainer: Trainer) -> float:
    """FLOPs per step, averaged over one cycle of ``reg.r1_every`` steps (R1 runs on the first)."""
    cycle = trainer.cfg.reg.r1_every if trainer.cfg.reg.r1_gamma > 0 else 1
    with FlopCount() as counter:
        for _ in range(cycle):
            trainer.train_step(*trainer.next_batch())
            trainer.step += 1
    return counter.total / cycle


def step_seconds(trainer: Trainer, steps: int) -> float:
    for _ in range(3):
        trainer.train_step(*trainer.next_batch())
        trainer.step += 1
    start = time.perf_counter()
    for _ in range(steps):
        trainer.train_step(*trainer.next_batch())
        trainer.step += 1
    return (time.perf_counter() - start) / steps


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--presets", nargs="+", default=sorted(p.stem for p in CONFIGS.glob("*.yaml")))
    parser.add_argument("--steps", type=int, default=30)
    parser.add_argument("--set", dest="overrides", action="append", default=[])
    args = parser.parse_args()

    fp32, bf16 = matmul_peak(torch.float32), matmul_peak(torch.bfloat16)
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads")
    print(f"peak matmul 2048^3: fp32 {fp32 / 1e9:.0f} GFLOP/s, bf16 {bf16 / 1e9:.0f} GFLOP/s (bf16/fp32 {bf16 / fp32:.1f}x)")
    print(f"{'preset':<22}{'precision':>10}{'batch':>7}{'GFLOP/step':>12}{'ms/step':>10}{'img/s':>9}{'GFLOP/s':>10}{'% fp32 peak':>13}{'% bf16 peak':>13}")
    for name in args.presets:
        cfg = load_config(CONFIGS / f"{name}.yaml", args.overrides)
        dataset = load_dataset(cfg.data.name, "train", cfg.data.dir)
        with tempfile.TemporaryDirectory() as tmp:
            trainer = Trainer(cfg, Path(tmp), dataset=dataset)
            flops = step_flops(trainer)
            seconds = step_seconds(trainer, args.steps)
        rate = flops / seconds
        print(
            f"{name:<22}{cfg.train.precision:>10}{cfg.train.batch_size:>7}{flops / 1e9:>12.2f}{seconds * 1e3:>10.1f}{cfg.train.batch_size / seconds:>9.0f}{rate / 1e9:>10.1f}"
            f"{100 * rate / fp32:>12.0f}%{100 * rate / bf16:>12.0f}%"
        )


if __name__ == "__main__":
    main()
