"""Where the reference MLP's training step spends its time: hand-written step variants against the classic loop.

Not gankit's trainer: four minimal versions of its step (one generator forward, D on
[real; fake] in one call, fused Adam) that differ only in precision and compilation, timed interleaved
with the classic tutorial loop in this one process, with the reference D's dropout on or
off. It answers what the [perf] 4x target would need, not what gankit does:

- ``fp32``: everything in float32.
- ``autocast``: bfloat16 autocast, as ``train.precision: bf16`` (weights cast on every call).
- ``compiled``: ``autocast`` with G and D under ``torch.compile`` (as ``train.compile: true``;
  compilation happens in the warm-up, outside the timed rounds).
- ``bf16-weights``: the networks held in bfloat16, gradients copied to float32 master
  weights for Adam and the weights copied back after each step (Micikevicius et al.,
  "Mixed Precision Training", ICLR 2018).

    python benchmarks/mlp_step_variants.py [--steps 60] [--repeats 3] [--batch-size 64]
"""

from __future__ import annotations

import argparse
import copy
import statistics
import sys
import time
from pathlib import Path

import torch
import torch.nn.functional as F

sys.path.insert(0, str(Path(__file__).resolve().parent))

from classic import ClassicGAN  # noqa: E402

from gankit.data import load_dataset  # noqa: E402
from gankit.data.base import to_unit_range  # noqa: E402
from gankit.models import create_model  # noqa: E402


class StepVariant:
    """The reference MLP G and D trained by one of the step variants."""

    def __init__(self, mode: str, data: torch.Tensor, batch: int, dropout: float) -> None:
        pair = create_model("mlp", (1, 28, 28), 100, dropout=dropout)
        self.master = (pair.generator, pair.discriminator)
        self.mode, self.data, self.batch = mode, data, batch
        if mode == "bf16-weights":
            self.compute = tuple(copy.deepcopy(m).to(torch.bfloat16) for m in self.master)
        elif mode == "compiled":
            self.compute = tuple(torch.compile(m) for m in self.master)
        else:
            self.compute = self.master
        self.opts = [torch.optim.Adam(m.parameters(), 2e-4, betas=(0.5, 0.999), fused=True) for m in self.master]

    def _update(self, i: int) -> None:
        """Adam on network i; with bf16 weights, through the float32 master copy."""
        if self.mode == "bf16-weights":
            for m, c in zip(self.master[i].parameters(), self.compute[i].parameters()):
                m.grad, c.grad = c.grad.float(), None
        self.opts[i].step()
        if self.mode == "bf16-weights":
            with torch.no_grad():
                torch._foreach_copy_(list(self.compute[i].parameters()), list(self.master[i].parameters()))

    def step(self) -> None:
        G, D = self.compute
        dtype = torch.bfloat16 if self.mode == "bf16-weights" else torch.float32
        real = self.data[torch.randint(len(self.data), (self.batch,))].to(dtype)  # (B, 1, 28, 28)
        z = torch.randn(self.batch, 100).to(dtype)
        with torch.autocast("cpu", torch.bfloat16, enabled=self.mode in ("autocast", "compiled")):
            fake = G(z)
            logits = D(torch.cat([real, fake.detach()])).logits.float()  # (2B,)
        real_logits, fake_logits = logits.chunk(2)
        d_loss = F.softplus(-real_logits).mean() + F.softplus(fake_logits).mean()
        self.opts[1].zero_grad(set_to_none=True)
        d_loss.backward()
        self._update(1)
        D.requires_grad_(False)
        with torch.autocast("cpu", torch.bfloat16, enabled=self.mode in ("autocast", "compiled")):
            g_loss = F.softplus(-D(fake).logits.float()).mean()
        self.opts[0].zero_grad(set_to_none=True)
        g_loss.backward()
        self._update(0)
        D.requires_grad_(True)

    def images_per_second(self, steps: int) -> float:
        start = time.perf_counter()
        for _ in range(steps):
            self.step()
        return steps * self.batch / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--steps", type=int, default=60, help="steps per round")
    parser.add_argument("--repeats", type=int, default=3, help="rounds, each running every loop back to back")
    parser.add_argument("--batch-size", type=int, default=64)
    args = parser.parse_args()

    dataset = load_dataset("mnist", "train")
    data = to_unit_range(dataset.images)  # (N, 1, 28, 28) in [-1, 1]
    classic = ClassicGAN(dataset.images, dataset.labels, batch_size=args.batch_size)
    loops = {"classic": classic}
    for dropout in (0.3, 0.0):
        for mode in ("fp32", "autocast", "compiled", "bf16-weights"):
            loops[f"{mode}, dropout {dropout}"] = StepVariant(mode, data, args.batch_size, dropout)
    for loop in loops.values():
        loop.images_per_second(10)  # warm-up
    rates: dict[str, list[float]] = {name: [] for name in loops}
    for _ in range(args.repeats):
        for name, loop in loops.items():
            rates[name].append(loop.images_per_second(args.steps))
    base = statistics.median(rates["classic"])
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads; batch {args.batch_size}, "
          f"{args.steps} steps x {args.repeats} rounds, interleaved")
    for name, values in rates.items():
        rate = statistics.median(values)
        print(f"{name:<28}{rate:>9.0f} img/s {rate / base:>6.2f}x")


if __name__ == "__main__":
    main()
