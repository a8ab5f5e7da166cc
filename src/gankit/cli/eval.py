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
  gankit eval runs/mnist_mlp --extractor inception --inception-weights weights-inception-2015-12-05-6726825d.pth
Every figure is printed beside its floor: the same metric for real test images
against the real training images, with as many images as samples.
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
    p.add_argument("--samples", help="an .npz file with key 'images' (uint8 (N, C, H, W), or float (N, D) for 2D data)")
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
    p.add_argument("--no-floor", action="store_true", help="skip the real-vs-real floor")
    p.add_argument("--json", action="store_true", help="print JSON instead of a table")
    p.set_defaults(func=run)


def load_samples_file(path: str | Path):
    """The ``images`` array of an .npz file as a tensor; never unpickles."""
    import numpy as np
    import torch

    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"--samples {path}: file not found")
    try:
        with np.load(path, allow_pickle=False) as archive:
            if "images" not in archive.files:
                raise ConfigError(f"--samples {path}: no 'images' array (found: {', '.join(archive.files) or 'none'})")
            array = archive["images"]
    except (ValueError, OSError) as exc:
        raise ConfigError(f"--samples {path}: not a NumPy .npz archive ({exc.__class__.__name__})") from None
    if array.dtype == np.float64:
        array = array.astype(np.float32)
    return torch.from_numpy(np.ascontiguousarray(array))


def run_data(run_dir: Path):
    """The run's ``DataConfig``, from its saved config.yaml."""
    from gankit.training.config import load_config

    path = run_dir / "config.yaml"
    if not path.is_file():
        raise ConfigError(f"{run_dir}: not a gankit run directory (no config.yaml)")
    return load_config(path).data


def default_num(dataset: str, data_dir) -> int:
    from gankit.data import load_dataset
    from gankit.data.toy2d import MIXTURES
    from gankit.metrics.evaluate import DEFAULT_NUM
    from gankit.metrics.modes import MIXTURE_SAMPLES

    if dataset in MIXTURES:
        return MIXTURE_SAMPLES
    return min(DEFAULT_NUM, len(load_dataset(dataset, "test", data_dir)))


def samples_from_run(run_dir: str, checkpoint: str | None, num: int, seed: int, d_keep: float | None = None):
    """``num`` samples of the run's generator; with ``d_keep``, the ones its discriminator rates most real."""
    from gankit.metrics.sampling import draw_samples
    from gankit.sampling import candidates_for, load_run_discriminator, load_run_generator, select_by_discriminator

    generator, spec = load_run_generator(run_dir, checkpoint)
    if d_keep is None:
        return draw_samples(generator, spec, num, seed)
    discriminator = load_run_discriminator(run_dir, checkpoint)
    return select_by_discriminator(discriminator, draw_samples(generator, spec, candidates_for(num, d_keep), seed), num)


def run(args: argparse.Namespace) -> int:
    from gankit.data import data_load_options, dataset_defaults
    from gankit.metrics.evaluate import check_by_class, check_samples, evaluate_samples, format_table
    from gankit.metrics.extractors import default_extractor

    if bool(args.run_dir) == bool(args.samples):
        raise ConfigError("give either a RUN_DIR or --samples FILE.npz (with --dataset)")
    if args.num is not None and not 10 <= args.num <= 200_000:
        raise ConfigError(f"--num: {args.num} is outside 10..200000")
    if args.seed < 0:
        raise ConfigError(f"--seed: {args.seed} must be >= 0")
    if args.d_keep is not None:
        if args.samples:
            raise ConfigError("--d-keep needs a RUN_DIR (its discriminator picks the samples); a --samples file is scored as it is")
        from gankit.sampling import candidates_for

        candidates_for(1, args.d_keep)  # the range check, before any work
    if args.inception_weights and args.extractor != "inception":
        raise ConfigError("--inception-weights is only used with --extractor inception")
    data_dir = args.data_dir
    if args.samples:
        if not args.dataset:
            raise ConfigError("--samples needs --dataset NAME (the data the samples imitate)")
        dataset = args.dataset
        samples = load_samples_file(args.samples)
        if args.num is not None:
            samples = samples[:args.num]
        check_samples(samples, dataset, data_dir)
        extractor = default_extractor(dataset, data_dir, args.extractor, args.inception_weights)
        result = evaluate_samples(samples, dataset, args.metrics, data_dir, extractor, floor=not args.no_floor, seed=args.seed,
                                  by_class=args.by_class)
    else:
        data = run_data(Path(args.run_dir))
        dataset = args.dataset or data.name
        data_dir = data_dir or data.dir
        # An image-folder run is scored against its own folder, size and colours, wherever the metrics load it.
        with dataset_defaults(data.name, **data_load_options(data)):
            num = args.num or default_num(dataset, data_dir)
            extractor = default_extractor(dataset, data_dir, args.extractor, args.inception_weights)  # fail before sampling
            if args.by_class:
                check_by_class(extractor, dataset)
            samples = samples_from_run(args.run_dir, args.checkpoint, num, args.seed, args.d_keep)
            result = evaluate_samples(samples, dataset, args.metrics, data_dir, extractor, floor=not args.no_floor, seed=args.seed,
                                      by_class=args.by_class)
    if args.json:
        print(json.dumps(result.to_dict(), indent=2))
    else:
        print(format_table(result))
    return 0
