"""``gankit sample``: images from a trained run, as a PNG grid or a NumPy archive."""

from __future__ import annotations

import argparse
import logging

from gankit.errors import ConfigError

log = logging.getLogger("gankit")

EXAMPLES = """examples:
  gankit sample runs/mnist_mlp --num 64 --out grid.png
  gankit sample runs/mnist_mlp --num 10000 --seed 1 --out samples.npz
  gankit sample runs/mnist_mlp --checkpoint runs/mnist_mlp/checkpoints/ckpt-000002000.ckpt --out early.png
"""


def add_parser(subparsers) -> None:
    p = subparsers.add_parser(
        "sample", help="draw images from a trained run", description="Draw images from a trained run.",
        epilog=EXAMPLES, formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("run_dir", help="the run directory")
    p.add_argument("--num", type=int, default=64, help="number of images (default 64)")
    p.add_argument("--seed", type=int, default=0, help="noise seed; the same seed gives the same images (default 0)")
    p.add_argument("--checkpoint", help="a checkpoint file (default: the newest valid one, else export/)")
    p.add_argument("--out", required=True, help="output file: .png (grid) or .npz (key 'images', uint8 (N, C, H, W))")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from gankit.sampling import check_output_path, generate, load_run_generator, write_images

    if not 1 <= args.num <= 1_000_000:
        raise ConfigError(f"--num: {args.num} is outside 1..1000000")
    if args.seed < 0:
        raise ConfigError(f"--seed: {args.seed} must be >= 0")
    check_output_path(args.out)
    generator, spec = load_run_generator(args.run_dir, args.checkpoint)
    images, labels = generate(generator, spec, args.num, args.seed)
    out = write_images(images, args.out, labels)
    log.info("wrote %d images to %s", args.num, out)
    return 0
