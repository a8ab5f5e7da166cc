"""The classical restoration baselines on a dataset's test images: one table per task.

The test images are degraded as a restoration run's evaluation set is (:meth:`gankit.restore.PairedData.evaluation_set`:
seed 0, the evaluation stream), then restored by every baseline of the task
(:mod:`gankit.evaluation.restore_baselines`) and scored by :func:`gankit.evaluation.restore_eval.score_restorations`:
PSNR, SSIM, masked PSNR (inpainting), the domain evaluator's FID (KID under 1,000 images) against the clean images,
and, for labelled data, the share read as the original's class; the last row is real data's floor.

    python benchmarks/restore_baselines.py [--dataset fashion-mnist] [--tasks downscale_x2 gaussian_noise mask_centre]
        [--num N] [--no-features]
    python benchmarks/restore_baselines.py --blur-sweep [--dataset mnist] [--num 3000]

``--blur-sweep`` prints the PSNR of Gaussian blurs of several sigmas on noisy *training* images instead, the
figures behind the denoising baseline's sigma (:data:`gankit.evaluation.restore_baselines.DENOISE_BLUR_SIGMA`).

Degradations: ``downscale_x2`` / ``downscale_x4`` (bicubic with antialiasing; bicubic upscaling restores),
``gaussian_noise`` (sigma 25/255, clipped; the noisy input, a 3x3 median and a Gaussian blur of sigma 0.5 restore),
``mask_centre`` (the centre quarter; the masked input, mean fill and the harmonic neighbour fill restore).
"""

from __future__ import annotations

import argparse
import time

import torch

from gankit.data import DatasetSpec, to_uint8
from gankit.evaluation.restore_baselines import baselines_for, gaussian_blur
from gankit.evaluation.restore_eval import describe_extractor, format_restore_table, restore_extractor, restore_floors, score_restorations
from gankit.metrics.restoration import mean_psnr, psnr
from gankit.restore import PairedData

BLUR_SIGMAS = (0.4, 0.5, 0.6, 0.7, 0.8, 1.0)


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


def blur_sweep(spec: DatasetSpec, num: int | None) -> None:
    """PSNR of the noisy training images and of their Gaussian blurs, one sigma per column."""
    pairs = PairedData(spec.load("train"), "gaussian_noise", seed=0).evaluation_set(num or 3000)
    noisy, clean = to_uint8(pairs.degraded.images), to_uint8(pairs.clean)
    figures = {"noisy": mean_psnr(psnr(noisy, clean))}
    figures.update({f"sigma {s}": mean_psnr(psnr(gaussian_blur(noisy, s), clean)) for s in BLUR_SIGMAS})
    print(f"{spec.name}, {len(clean)} training images, Gaussian noise 25/255: PSNR (dB)")
    print("  ".join(f"{k}: {v:.2f}" for k, v in figures.items()))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--dataset", default="fashion-mnist")
    parser.add_argument("--tasks", nargs="+", default=["downscale_x2", "gaussian_noise", "mask_centre"])
    parser.add_argument("--num", type=int, default=None, help="test images (default: the whole test split)")
    parser.add_argument("--no-features", action="store_true", help="PSNR and SSIM only (no domain evaluator)")
    parser.add_argument("--blur-sweep", action="store_true", help="Gaussian blurs of several sigmas on noisy training images")
    args = parser.parse_args()

    spec = DatasetSpec.of(args.dataset)
    if args.blur_sweep:
        blur_sweep(spec, args.num)
        return
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
