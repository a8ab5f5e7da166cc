"""Training throughput on one process vs several torchrun processes (gloo on the CPU, NCCL on GPUs).

Each setting runs ``gankit train`` for a few steps with the same config and global
batch; images/s is the median of the trainer's own ``images_per_s`` records
(``metrics.jsonl``) after the first, which holds start-up. Settings:

* ``1 proc x T threads``: one process, ``T`` intra-op threads each;
* ``N procs x T threads``: ``torchrun --nproc-per-node N``, each process taking
  ``batch / N`` images and ``T`` threads, gradients averaged by DDP.

Two workloads: the tiny MLP on the synthetic squares (little compute per step, one
gradient all-reduce of every weight per step: communication dominates) and the
emoji ResNet preset at 64 px (convolutions dominate).

    python benchmarks/ddp_throughput.py [--steps 30] [--workloads mlp,resnet] [--device cpu]
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
WORKLOADS = {
    "mlp": ("configs/mnist_mlp.yaml", ["data.name=squares", "train.batch_size=64"]),
    "resnet": ("configs/emoji_resnet64.yaml", ["train.batch_size=32"]),
}
SETTINGS = [(1, 1), (1, 2), (2, 1)]  # (processes, threads per process)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def images_per_second(workload: str, processes: int, threads: int, steps: int, device: str, run_dir: Path) -> float:
    config, overrides = WORKLOADS[workload]
    log_every = max(2, steps // 6)
    args = ["train", str(ROOT / config), "--run-dir", str(run_dir), "--overwrite", "--no-progress", "--device", device,
            "--max-steps", str(steps), "--set", f"train.log_every={log_every}", "--set", f"train.checkpoint_every={10 * steps}",
            "--set", "train.sample_every_epochs=1000", "--set", "train.num_samples=4"]
    for override in overrides:
        args += ["--set", override]
    env = {**os.environ, "OMP_NUM_THREADS": str(threads), "GLOO_SOCKET_IFNAME": os.environ.get("GLOO_SOCKET_IFNAME", "lo")}
    if processes == 1:
        command = [sys.executable, "-m", "gankit", *args]
    else:
        command = [sys.executable, "-m", "torch.distributed.run", "--nproc-per-node", str(processes),
                   "--master-addr", "127.0.0.1", "--master-port", str(_free_port()), "-m", "gankit", *args]
    result = subprocess.run(command, capture_output=True, text=True, env=env, cwd=ROOT)
    if result.returncode != 0:
        raise SystemExit(f"{' '.join(command)} failed:\n{result.stderr[-2000:]}")
    records = [json.loads(line) for line in (run_dir / "metrics.jsonl").read_text().splitlines()]
    rates = [r["images_per_s"] for r in records[1:]] or [r["images_per_s"] for r in records]
    return statistics.median(rates)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--steps", type=int, default=30, help="training steps per setting")
    parser.add_argument("--workloads", default="mlp,resnet", help=f"comma-separated: {', '.join(WORKLOADS)}")
    parser.add_argument("--device", default="cpu", choices=("cpu", "cuda"))
    parser.add_argument("--settings", default=",".join(f"{p}x{t}" for p, t in SETTINGS), help="PROCESSESxTHREADS, comma-separated")
    args = parser.parse_args()
    settings = [tuple(int(v) for v in s.split("x")) for s in args.settings.split(",")]
    print(f"{'workload':8} {'setting':18} {'images/s':>10} {'vs first':>9}")
    with tempfile.TemporaryDirectory() as tmp:
        for workload in args.workloads.split(","):
            base = None
            for processes, threads in settings:
                rate = images_per_second(workload, processes, threads, args.steps, args.device, Path(tmp) / f"{workload}-{processes}-{threads}")
                base = base or rate
                print(f"{workload:8} {f'{processes} proc x {threads} thr':18} {rate:10.1f} {rate / base:8.2f}x", flush=True)


if __name__ == "__main__":
    main()
