"""``gankit sample``: samples from a trained run, as a PNG (image grid, or 2D points over the data) or a NumPy archive."""

from __future__ import annotations

import argparse
import logging

from gankit.errors import ConfigError

log = logging.getLogger("gankit")

EXAMPLES = """examples:
  gankit sample runs/mnist_mlp --num 64 --out grid.png
  gankit sample runs/mnist_mlp --num 10000 --seed 1 --out samples.npz
  gankit sample runs/mnist_mlp --checkpoint runs/mnist_mlp/checkpoints/ckpt-000002000.ckpt --out early.png
  gankit sample runs/mnist_cond --class 7 --out sevens.png
  gankit sample runs/emoji_cond --balanced --num 100 --out every_category.png
  gankit sample runs/emoji --truncation 1.0 --out typical.png
  gankit sample runs/mnist_hybrid --d-keep 0.67 --num 2000 --out kept.npz
  gankit sample runs/ring2d --num 2500 --out points.npz       # 2D data: float32 points (N, 2) under 'points'

Conditional runs draw the classes in the training set's proportions unless --class or --balanced says otherwise.
"""


def add_parser(subparsers) -> None:
    p = subparsers.add_parser(
        "sample", help="draw samples from a trained run", description="Draw samples (images, or points for 2D data) from a trained run.",
        epilog=EXAMPLES, formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("run_dir", help="the run directory")
    p.add_argument("--num", type=int, default=64, help="number of images (default 64)")
    p.add_argument("--seed", type=int, default=0, help="noise seed; the same seed gives the same images (default 0)")
    p.add_argument("--checkpoint", help="a checkpoint file (default: the newest valid one, else export/)")
    p.add_argument("--truncation", type=float, metavar="T",
                   help="draw z from the normal cut to [-T, T] (BigGAN's truncation trick): more typical, less varied images")
    p.add_argument("--d-keep", type=float, metavar="F",
                   help="draw num/F images and keep the num the run's discriminator rates most real (discriminator "
                        "rejection sampling, Azadi et al. 2019): more typical, less varied images; unconditional runs")
    labels = p.add_mutually_exclusive_group()
    labels.add_argument("--class", dest="label", type=int, help="conditional runs: draw every image of this class (0-based)")
    labels.add_argument("--balanced", action="store_true", help="conditional runs: the classes in turn, 0, 1, 2, ...")
    p.add_argument("--out", required=True, help="output file: .png (a grid; 2D data: a scatter plot over the real points) or "
                                                ".npz (key 'images', uint8 (N, C, H, W); 2D data: key 'points', float32 (N, 2))")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from gankit.run import is_points
    from gankit.sampling import (
        candidates_for, check_output_path, data_reference, generate, load_run_discriminator, load_run_generator,
        select_by_discriminator, write_images,
    )

    if not 1 <= args.num <= 1_000_000:
        raise ConfigError(f"--num: {args.num} is outside 1..1000000")
    if args.seed < 0:
        raise ConfigError(f"--seed: {args.seed} must be >= 0")
    if args.truncation is not None and not 0 < args.truncation <= 10:
        raise ConfigError(f"--truncation: {args.truncation} is outside (0, 10]")
    draws = args.num if args.d_keep is None else candidates_for(args.num, args.d_keep)
    check_output_path(args.out)
    generator, spec = load_run_generator(args.run_dir, args.checkpoint)
    from gankit.models import is_paired

    if is_paired(spec["model"]):
        raise ConfigError(f"{args.run_dir}: a restoration run ({spec['model']}) restores images instead of drawing them "
                          f"from noise; use gankit restore {args.run_dir} --input FILE_OR_DIR --out DIR")
    labels = chosen_labels(args, spec)
    discriminator = load_run_discriminator(args.run_dir, args.checkpoint) if args.d_keep is not None else None
    samples, labels = generate(generator, spec, draws, args.seed, labels, truncation=args.truncation)
    if discriminator is not None:
        samples = select_by_discriminator(discriminator, samples, args.num)
    points = is_points(samples)
    reference = data_reference(args.run_dir, args.checkpoint) if points and args.out.lower().endswith(".png") else None
    out = write_images(samples, args.out, labels, reference)
    log.info("wrote %d %s to %s", args.num, "points" if points else "images", out)
    return 0


def chosen_labels(args: argparse.Namespace, spec: dict):
    """The labels --class or --balanced ask for, (num,) int64; None for the default."""
    import torch

    if args.label is None and not args.balanced:
        return None
    num_classes = int(spec.get("num_classes", 0))
    flag = "--balanced" if args.balanced else "--class"
    if not num_classes:
        raise ConfigError(f"{flag}: {args.run_dir} holds an unconditional generator; it takes no classes")
    if args.balanced:
        return torch.arange(args.num) % num_classes
    if not 0 <= args.label < num_classes:
        raise ConfigError(f"--class: {args.label} is not a class of this generator; allowed: 0..{num_classes - 1}")
    return torch.full((args.num,), args.label, dtype=torch.long)
