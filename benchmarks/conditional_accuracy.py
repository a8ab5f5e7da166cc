"""Class-conditional accuracy: how often a sample asked for class k is classified as k.

The [models] target for ``mnist_cond`` ("samples asked for class k are classified
as k by the domain evaluator at least 95% of the time"). Draws ``--num`` samples
with the classes in turn (0, 1, 2, ...: a class-balanced set; the same noise and
labels as ``gankit sample --balanced``), labels them with the run's domain evaluator and prints the
overall accuracy, the worst class and the per-class accuracies. The generator is
the run's newest valid checkpoint (its EMA copy when there is one), else export/.

    python benchmarks/conditional_accuracy.py runs/mnist_cond
    python benchmarks/conditional_accuracy.py runs/mnist_cond --num 10000 --json
"""

from __future__ import annotations

import argparse
import json

import torch

from gankit.metrics.evaluator import load_evaluator
from gankit.sampling import generate, load_run_generator


def conditional_accuracy(run_dir: str, num: int, seed: int, dataset: str | None, data_dir: str | None,
                         checkpoint: str | None = None) -> dict:
    """Overall and per-class share of samples classified as the class they were asked for."""
    generator, spec = load_run_generator(run_dir, checkpoint)
    num_classes = spec.get("num_classes", 0)
    if not num_classes:
        raise SystemExit(f"{run_dir}: the generator is not class-conditional")
    if dataset is None:
        import yaml

        with open(f"{run_dir}/config.yaml") as f:
            dataset = yaml.safe_load(f)["data"]["name"]
    labels = torch.arange(num) % num_classes  # balanced, whatever the training set's class shares
    images, labels = generate(generator, spec, num, seed, labels)  # uint8 (N, C, H, W), (N,)
    predicted = load_evaluator(dataset, data_dir)(images).probs.argmax(dim=1)  # (N,)
    hit = (predicted == labels).double()
    per_class = [float(hit[labels == k].mean()) for k in range(num_classes)]
    return {"run": run_dir, "dataset": dataset, "samples": num, "seed": seed, "accuracy": float(hit.mean()),
            "worst_class": int(torch.tensor(per_class).argmin()), "worst_accuracy": min(per_class), "per_class": per_class}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("run_dir")
    parser.add_argument("--num", type=int, default=2000, help="samples, classes in turn (default 2000)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--checkpoint", help="a checkpoint file of the run (default: the newest valid one)")
    parser.add_argument("--dataset", help="the evaluator's dataset (default: the run's)")
    parser.add_argument("--data-dir", help="data root (default $GANKIT_DATA or ~/.cache/gankit/data)")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    result = conditional_accuracy(args.run_dir, args.num, args.seed, args.dataset, args.data_dir, args.checkpoint)
    if args.json:
        print(json.dumps(result))
        return
    print(f"{result['run']}: {100 * result['accuracy']:.2f}% of {result['samples']} samples classified as the class asked for "
          f"(worst: class {result['worst_class']}, {100 * result['worst_accuracy']:.1f}%)")
    print("per class: " + " ".join(f"{k}:{100 * a:.1f}" for k, a in enumerate(result["per_class"])))


if __name__ == "__main__":
    main()
