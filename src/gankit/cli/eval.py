"""``gankit eval``: score a run's generator, or a file of samples, against the real data."""

from __future__ import annotations

import argparse
import json
import logging
from pathlib import Path

from gankit.errors import ConfigError

log = logging.getLogger("gankit")

EXAMPLES = """examples:
  gankit eval runs/mnist_mlp                          # domain FID, KID, IS, P/R, D/C, classes
  gankit eval runs/mnist_mlp --num 5000 --metrics fid,pr --json
  gankit eval --samples samples.npz --dataset mnist   # key 'images': uint8 (N, C, H, W)
  gankit eval runs/mnist_hybrid --num 2000 --d-keep 0.67  # the 2/3 of 3000 draws D rates most real
  gankit eval runs/fashion_dcgan --num 2000 --by-class  # precision and recall of each class
  gankit eval runs/mnist_dcgan --num 2000 --no-memorisation  # skip the nearest-training-item figures
  gankit eval runs/mnist_mlp --extractor inception --inception-weights weights-inception-2015-12-05-6726825d.pth
  gankit eval runs/fashion_sr2_gan --baseline-run runs/fashion_sr2_l1 --figure sr2.png  # a restoration run
  gankit eval runs/mnist_inpaint_feat --baseline-run runs/mnist_inpaint_l1 --gan-run runs/mnist_inpaint_gan
                                                      # trained with restore.feature_weight: scored by another seed's evaluator
Every figure is printed beside its floor: the same metric for real test images
against the real training images, with as many images as samples. A run's figures
are also written to RUN/eval.json. Memorisation: fid_test is the FID against the test
items; nn_ratio, copy_share, z_u (Meehan et al. 2020) and authenticity (Alaa et al.
2022) compare each sample's distance to its nearest training item with that of real
test items (in evaluator features, and _pixels in pixels): a generator that copies its
training images reads nn_ratio near 0 and z_u far below -3; real data reads 1 and 0. The first evaluation on a dataset trains its
domain evaluator (a few minutes on the CPU) and caches it for the next ones.
A restoration run (pix2pix, srresnet) prints one table: its restorations of the
degraded test images beside the classical baselines and its L1-only run (see
docs/restore.md), and writes RUN/restore_eval.json.
"""


def add_parser(subparsers) -> None:
    from gankit.data import DATASETS
    from gankit.metrics import METRICS
    from gankit.metrics.extractors import EXTRACTOR_CHOICES

    p = subparsers.add_parser(
        "eval", help="score a run or a file of samples (FID, KID, IS, precision/recall, ...)",
        description="Score a trained run, or a file of samples, against the real data, beside the real-vs-real floor.",
        epilog=EXAMPLES, formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("run_dir", nargs="?", help="a run directory (its newest valid checkpoint, else export/)")
    p.add_argument("--samples", help="an .npz file as gankit sample writes it: 'images' (uint8 (N, C, H, W)) or 'points' (float (N, 2))")
    p.add_argument("--dataset", choices=DATASETS.names(), help="the dataset to compare with (default: the run's)")
    p.add_argument("--checkpoint", help="a checkpoint file of the run (default: the newest valid one)")
    p.add_argument("--num", type=int, help="samples to draw (default: the test split's size, at most 10000)")
    p.add_argument("--metrics", help=f"comma-separated, from: {', '.join(METRICS.names())} (default: all that apply)")
    p.add_argument("--seed", type=int, default=0, help="noise and subset seed (default 0)")
    p.add_argument("--extractor", default="domain", choices=EXTRACTOR_CHOICES, help="feature extractor (default domain)")
    p.add_argument("--inception-weights", metavar="PATH", help="local FID Inception-V3 weights (with --extractor inception)")
    p.add_argument("--data-dir", help="data root (default: the run's, else $GANKIT_DATA or ~/.cache/gankit/data)")
    p.add_argument("--d-keep", type=float, metavar="F",
                   help="score the num of num/F draws the run's discriminator rates most real (as gankit sample --d-keep)")
    p.add_argument("--by-class", action="store_true",
                   help="also split precision and recall by the domain classifier's class (which classes are missed)")
    p.add_argument("--floor-draws", type=int, default=5, metavar="N",
                   help="with --by-class: draws of the real subsets over which the floor's recall spread is measured (default 5)")
    p.add_argument("--no-memorisation", action="store_true",
                   help="skip fid_test and the nearest-training-item figures (nn_ratio, copy_share, z_u, authenticity), "
                        "which are measured with the default metrics or when --metrics names 'memorisation'")
    p.add_argument("--no-floor", action="store_true", help="skip the real-vs-real floor")
    p.add_argument("--json", action="store_true", help="print JSON instead of a table")
    p.add_argument("--baseline-run", metavar="L1_RUN",
                   help="restoration runs: the L1-only run (restore.adv_weight=0) to show beside it (default: RUN's name "
                        "with _gan replaced by _l1, when that run exists)")
    p.add_argument("--gan-run", metavar="GAN_RUN",
                   help="restoration runs trained with the domain evaluator's feature loss: the GAN run without it to show "
                        "beside it (default: RUN's name with _feat replaced by _gan, when that run exists)")
    p.add_argument("--evaluator-seed", type=int, metavar="N",
                   help="restoration runs: score with the domain evaluator trained from seed N (trained and cached on first "
                        "use); default: the default evaluator, or for a run trained with the feature loss the next seed after "
                        "the one it was trained against, which N may not be")
    p.add_argument("--figure", metavar="PNG", help="restoration runs: also write the picture input | best baseline | L1 | GAN | ground truth")
    p.set_defaults(func=run)


def load_samples_file(path: str | Path):
    """The ``images`` (or a 2D run's ``points``) array of an .npz file as a tensor; never unpickles."""
    import numpy as np
    import torch

    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"--samples {path}: file not found")
    try:
        with np.load(path, allow_pickle=False) as archive:
            key = next((k for k in ("images", "points") if k in archive.files), None)
            if key is None:
                raise ConfigError(f"--samples {path}: no 'images' or 'points' array (found: {', '.join(archive.files) or 'none'})")
            array = archive[key]
    except (ValueError, OSError) as exc:
        raise ConfigError(f"--samples {path}: not a NumPy .npz archive ({exc.__class__.__name__})") from None
    if array.dtype == np.float64:
        array = array.astype(np.float32)
    return torch.from_numpy(np.ascontiguousarray(array))


def run(args: argparse.Namespace) -> int:
    from gankit.data import DatasetSpec
    from gankit.evaluation.run_eval import evaluate_run
    from gankit.metrics.evaluate import check_samples, evaluate_samples, format_table
    from gankit.evaluation.evaluator_training import extractor_for
    from gankit.run import RunDir

    if bool(args.run_dir) == bool(args.samples):
        raise ConfigError("give either a RUN_DIR or --samples FILE.npz (with --dataset)")
    if args.num is not None and not 10 <= args.num <= 200_000:
        raise ConfigError(f"--num: {args.num} is outside 10..200000")
    if args.seed < 0:
        raise ConfigError(f"--seed: {args.seed} must be >= 0")
    if not 1 <= args.floor_draws <= 100:
        raise ConfigError(f"--floor-draws: {args.floor_draws} is outside 1..100")
    if args.d_keep is not None:
        if args.samples:
            raise ConfigError("--d-keep needs a RUN_DIR (its discriminator picks the samples); a --samples file is scored as it is")
        from gankit.sampling import candidates_for

        candidates_for(1, args.d_keep)  # the range check, before any work
    if args.inception_weights and args.extractor != "inception":
        raise ConfigError("--inception-weights is only used with --extractor inception")
    if args.run_dir:
        from gankit.restore.evaluate import is_restoration_run

        if is_restoration_run(args.run_dir):
            return run_restoration(args)
    if args.baseline_run or args.figure or args.gan_run or args.evaluator_seed is not None:
        raise ConfigError("--baseline-run, --gan-run, --evaluator-seed and --figure apply to restoration runs (pix2pix, srresnet) only")
    if args.samples:
        if not args.dataset:
            raise ConfigError("--samples needs --dataset NAME (the data the samples imitate)")
        dataset = DatasetSpec(args.dataset, args.data_dir)
        samples = load_samples_file(args.samples)
        if args.num is not None:
            samples = samples[:args.num]
        check_samples(samples, dataset)
        extractor = extractor_for(dataset, kind=args.extractor, inception_weights=args.inception_weights)
        result = evaluate_samples(samples, dataset, args.metrics, extractor=extractor, floor=not args.no_floor, seed=args.seed,
                                  by_class=args.by_class, memorisation=not args.no_memorisation and not args.metrics, floor_draws=args.floor_draws)
    else:
        result, record = evaluate_run(args.run_dir, args.dataset, args.data_dir, args.checkpoint, args.num, args.metrics, args.seed,
                                      args.extractor, args.inception_weights, args.d_keep, args.by_class, floor=not args.no_floor,
                                      memorisation=not args.no_memorisation and not args.metrics, floor_draws=args.floor_draws)
        log.info("wrote %s", RunDir(args.run_dir).write_eval(record))
    print(json.dumps(result.to_dict(), indent=2) if args.json else format_table(result))
    return 0


def run_restoration(args: argparse.Namespace) -> int:
    """``gankit eval`` on a restoration run: one table of the run, its L1 run and the classical baselines."""
    from gankit.restore.evaluate import comparison_figure, evaluate_restoration, write_record

    if args.figure and Path(args.figure).suffix.lower() != ".png":
        raise ConfigError(f"--figure {args.figure}: give a .png file name")
    if args.metrics or args.d_keep is not None or args.by_class or args.extractor != "domain" or args.dataset:
        raise ConfigError("a restoration run is scored on its own test images with the domain evaluator; "
                          "--metrics, --d-keep, --by-class, --extractor and --dataset do not apply")
    if args.evaluator_seed is not None and args.evaluator_seed < 0:
        raise ConfigError(f"--evaluator-seed: {args.evaluator_seed} must be >= 0")
    evaluation = evaluate_restoration(args.run_dir, args.baseline_run, args.num, args.checkpoint, floor=not args.no_floor,
                                      gan_run=args.gan_run, evaluator_seed=args.evaluator_seed)
    log.info("wrote %s", write_record(args.run_dir, evaluation.record))
    if args.figure:
        log.info("wrote %s", comparison_figure(evaluation, args.figure))
    print(json.dumps(evaluation.record, indent=2) if args.json else evaluation.table)
    return 0
