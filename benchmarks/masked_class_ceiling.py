"""How much of a digit's class is left once a restoration degradation has removed part of it.

"Completions read as the original digit" (docs/restore.md) scores inpainting by the domain evaluator's reading of
the completed image. Completion then evaluator is one function of the degraded image, so its accuracy cannot exceed
that of the best classifier of degraded images. This script trains the domain evaluator's network and recipe
(``gankit.metrics.evaluator.EvaluatorNet``, ``EvaluatorConfig``) on degraded training images (the degradation applied
after the evaluator's random shift, as at test time) and reports its accuracy on the degraded test split, beside the
same network trained and tested on clean images. A trained classifier is a lower estimate of that ceiling, not the
ceiling itself.

Usage:
    OMP_NUM_THREADS=1 python benchmarks/masked_class_ceiling.py                       # mnist, mask_centre
    OMP_NUM_THREADS=1 python benchmarks/masked_class_ceiling.py --dataset fashion-mnist --seeds 0,1
"""

from __future__ import annotations

import argparse
import statistics

import torch

from gankit.data import DatasetSpec
from gankit.evaluation.evaluator_training import fit_evaluator_net
from gankit.metrics.evaluator import EvaluatorConfig, auto_epochs
from gankit.restore.degrade import centre_mask


def masked_images(images: torch.Tensor) -> torch.Tensor:
    """The ``mask_centre`` degradation as the restoration input holds it: the missing pixels mid-gray (0 in [-1, 1]).
    images (B, C, H, W) -> same shape."""
    return images * (1.0 - centre_mask(*images.shape[-2:]))


def accuracy(dataset: str, masked: bool, seed: int) -> float:
    """Test accuracy of the evaluator's network trained with its recipe from ``seed``, on masked or clean images."""
    spec = DatasetSpec.of(dataset)
    train, test = spec.load("train"), spec.load("test")
    cfg = EvaluatorConfig(seed=seed, epochs=auto_epochs(len(train)))
    degrade = masked_images if masked else (lambda x: x)
    net = fit_evaluator_net(train, cfg, transform=degrade).eval()
    correct = 0
    with torch.inference_mode():
        for start in range(0, len(test), 500):
            idx = torch.arange(start, min(start + 500, len(test)))
            correct += (net(degrade(test.batch(idx))).argmax(1) == test.labels[idx]).sum().item()
    return correct / len(test)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dataset", default="mnist")
    parser.add_argument("--seeds", default="0")
    args = parser.parse_args()
    seeds = [int(s) for s in args.seeds.split(",")]
    print(f"{args.dataset}: the domain evaluator's network and recipe, trained and tested on each kind of image")
    print("| images | test accuracy per seed | mean |")
    print("| --- | --- | ---: |")
    for masked in (False, True):
        accs = [accuracy(args.dataset, masked, seed) for seed in seeds]
        label = "centre quarter missing (mask_centre)" if masked else "clean"
        print(f"| {label} | {', '.join(f'{a:.2%}' for a in accs)} | {statistics.mean(accs):.2%} |", flush=True)


if __name__ == "__main__":
    main()
