"""The classical restoration baselines on a dataset's test images: one table per task.

The test images are degraded as a restoration run's evaluation set is (:meth:`gankit.restore.PairedData.evaluation_set`:
seed 0, the evaluation stream), then restored by every baseline of the task
(:mod:`gankit.evaluation.restore_baselines`) and scored by :func:`gankit.evaluation.restore_eval.score_restorations`:
PSNR, SSIM, masked PSNR (inpainting), the domain evaluator's FID (KID under 1,000 images) against the clean images,
and, for labelled data, the share read as the original's class; the last row is real data's floor.

    python benchmarks/restore_baselines.py [--dataset fashion-mnist] [--tasks downscale_x2 gaussian_noise mask_centre]
        [--num N] [--no-features]

Degradations: ``downscale_x2`` / ``downscale_x4`` (bicubic with antialiasing; bicubic upscaling restores),
``gaussian_noise`` (sigma 25/255, clipped; the noisy input, a 3x3 median and a Gaussian blur of sigma 1 restore),
``mask_centre`` (the centre quarter; the masked input, mean fill and the harmonic neighbour fill restore).
"""

from __future__ import annotations

import argparse
import time

import torch

from gankit.data import DatasetSpec, to_uint8
from gankit.evaluation.restore_baselines import baselines_for
from gankit.evaluation.restore_eval import describe_extractor, format_restore_table, restore_extractor, restore_floors, score_restorations
from gankit.restore import PairedData


def restorations(pairs, task: str, scale: int) -> tuple[dict[str, torch.Tensor], torch.Tensor | None]:
    """Method -> uint8 restorations of the evaluation set, and the bool mask (inpainting)."""
    degraded = to_uint8(pairs.degraded.images)  # (N, C, h, w)
    mask = None if pairs.mask is None else pairs.mask > 0.5  # (N, 1, H, W), True = missing
    outputs = {} if task == "super_resolution" else {"input": degraded}
    inputs = {"scale": scale} if task == "super_resolution" else {"mask": mask} if task == "inpaint" else {}
    for name, baseline in baselines_for(task).items():
        started = time.perf_counter()
        outputs[name] = baseline(degraded, **inputs)
        print(f"  {name}: {time.perf_counter() - started:.1f} s")
    return outputs, mask


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--dataset", default="fashion-mnist")
    parser.add_argument("--tasks", nargs="+", default=["downscale_x2", "gaussian_noise", "mask_centre"])
    parser.add_argument("--num", type=int, default=None, help="test images (default: the whole test split)")
    parser.add_argument("--no-features", action="store_true", help="PSNR and SSIM only (no domain evaluator)")
    args = parser.parse_args()

    spec = DatasetSpec.of(args.dataset)
    test = spec.load("test")
    extractor = None if args.no_features else restore_extractor(spec)
    for name in args.tasks:
        paired = PairedData(test, name, seed=0)
        pairs = paired.evaluation_set(args.num)
        clean = to_uint8(pairs.clean)
        labels = test.labels[:len(clean)] if test.labels is not None and extractor is not None else None
        print(f"{args.dataset} {name}: {len(clean)} test images")
        outputs, mask = restorations(pairs, paired.task, paired.degradation.scale)
        scores = score_restorations(clean, outputs, mask=mask, labels=labels, extractor=extractor)
        floors = None if extractor is None else restore_floors(clean, dataset=spec, labels=labels, extractor=extractor)
        print(format_restore_table(paired.task, scores, floors, evaluator=None if extractor is None else describe_extractor(extractor),
                                   num=len(clean)))
        print()


if __name__ == "__main__":
    main()
