"""Peak memory (RSS) of a short training run, e.g. on Fashion-MNIST's 60k training images.

The dataset is held as uint8: 60,000 x 28 x 28 bytes = 47 MB. The run is a child
process so that its peak RSS is its own; the interpreter + torch baseline is measured
the same way and printed beside it.

    python benchmarks/memory.py [--preset mnist_mlp] [--dataset fashion-mnist] [--steps 200]
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
from pathlib import Path

CONFIGS = Path(__file__).resolve().parents[1] / "configs"


def child_peak_mb(code: str) -> float:
    """Run ``code`` in a fresh interpreter and return that process's own peak RSS in MB."""
    report = "\nimport resource; print('PEAK_KIB', resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)"
    wrapped = f"try:\n    exec({code!r})\nexcept SystemExit:\n    pass{report}"
    out = subprocess.run([sys.executable, "-c", wrapped], check=True, capture_output=True, text=True).stdout
    for line in out.splitlines():
        if line.startswith("PEAK_KIB"):
            return int(line.split()[1]) / 1024  # ru_maxrss is in KiB on Linux
        print(line)
    raise RuntimeError("the child did not report its peak memory")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--preset", default="mnist_mlp")
    parser.add_argument("--dataset", default="fashion-mnist")
    parser.add_argument("--steps", type=int, default=200)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        baseline = child_peak_mb("import torch, torchvision, gankit.cli, gankit.training.trainer")
        train = child_peak_mb(
            "from gankit.cli import main; import sys; sys.exit(main(['train', %r, '--run-dir', %r, '--no-progress', "
            "'--max-steps', '%d', '--set', 'data.name=%s']))"
            % (str(CONFIGS / f"{args.preset}.yaml"), str(Path(tmp) / "run"), args.steps, args.dataset)
        )
        data = child_peak_mb(
            "import torch, torchvision, gankit.cli, gankit.training.trainer; "
            "from gankit.data import load_dataset; d = load_dataset(%r, 'train'); "
            "print(f'{d.name}: {len(d)} images, {d.images.numel() / 1e6:.1f} MB as uint8')" % args.dataset
        )
    print(f"peak RSS, import torch + gankit         : {baseline:7.0f} MB")
    print(f"peak RSS, load {args.dataset} train split : {data:7.0f} MB (+{data - baseline:.0f} MB)")
    print(f"peak RSS, {args.steps} training steps ({args.preset}) : {train:7.0f} MB (+{train - baseline:.0f} MB over the import baseline)")


if __name__ == "__main__":
    main()
