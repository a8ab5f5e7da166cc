"""``gankit interpolate``: walk the latent space between seeds, or between two inverted images, as a GIF or PNG strip."""

from __future__ import annotations

import argparse
import logging

from gankit.errors import ConfigError

log = logging.getLogger("gankit")

EXAMPLES = """examples:
  gankit interpolate runs/mnist_dcgan --seeds 1,2,3 --frames 32 --out walk.gif
  gankit interpolate runs/mnist_dcgan --seeds 1,2 --frames 8 --out walk.png --method linear
  gankit interpolate runs/mnist_dcgan --images a.png,b.png --frames 16 --out between.gif   # inverts both first
  gankit interpolate runs/mnist_cond --seeds 1,2,3 --classes 3,5,8 --frames 16 --out morph.gif

Seed S's code is the z of gankit sample --seed S --num 1. Spherical interpolation (the default) keeps the
codes' norm; linear cuts through the middle of the sphere.
"""


def add_parser(subparsers) -> None:
    p = subparsers.add_parser(
        "interpolate", help="walk between latent codes: an animated GIF or a PNG strip",
        description="Interpolate between the codes of seeds, or of two images inverted first, and draw G's images along the way.",
        epilog=EXAMPLES, formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("run_dir", help="the run directory")
    ends = p.add_mutually_exclusive_group(required=True)
    ends.add_argument("--seeds", help="comma-separated seeds, at least two, e.g. 1,2,3")
    ends.add_argument("--images", help="two or more comma-separated image files to invert and walk between")
    p.add_argument("--frames", type=int, default=32, help="frames from one code to the next (default 32)")
    p.add_argument("--method", choices=("spherical", "linear"), default="spherical", help="interpolation (default spherical)")
    p.add_argument("--classes", help="conditional runs: one class per code (comma-separated; default 0, 1, 2, ...)")
    p.add_argument("--steps", type=int, default=300, help="with --images: optimisation steps of the inversion (default 300)")
    p.add_argument("--scale", type=int, default=1, help="enlarge each pixel to SCALE x SCALE (default 1)")
    p.add_argument("--frame-ms", type=int, default=80, help="GIF: milliseconds per frame (default 80)")
    p.add_argument("--out", required=True, help="output file: .gif (animation) or .png (all frames in a row)")
    p.set_defaults(func=run)


def parse_ints(text: str, flag: str) -> list[int]:
    try:
        values = [int(v) for v in text.split(",") if v.strip()]
    except ValueError:
        raise ConfigError(f"{flag} {text}: expected comma-separated whole numbers, e.g. 1,2,3") from None
    return values


def run(args: argparse.Namespace) -> int:
    import torch

    from gankit.edit import interpolation_frames, load_generator_run, project, seed_codes
    from gankit.edit.invert import ProjectorConfig
    from gankit.edit.media import check_picture_path, write_picture
    from gankit.inputs import read_image

    out = check_picture_path(args.out)
    if not 1 <= args.frames <= 1000:
        raise ConfigError(f"--frames: {args.frames} is outside 1..1000")
    if not 1 <= args.scale <= 32:
        raise ConfigError(f"--scale: {args.scale} is outside 1..32")
    if not 10 <= args.frame_ms <= 10_000:
        raise ConfigError(f"--frame-ms: {args.frame_ms} is outside 10..10000")
    if not 1 <= args.steps <= 100_000:
        raise ConfigError(f"--steps: {args.steps} is outside 1..100000")
    gen_run = load_generator_run(args.run_dir)
    count = len(parse_ints(args.seeds, "--seeds")) if args.seeds else len([f for f in args.images.split(",") if f.strip()])
    if count < 2:
        raise ConfigError(f"{'--seeds' if args.seeds else '--images'}: give at least two, comma-separated")
    if any(s < 0 for s in (parse_ints(args.seeds, "--seeds") if args.seeds else [])):
        raise ConfigError(f"--seeds {args.seeds}: seeds must be >= 0")
    labels = None
    if gen_run.num_classes:
        classes = parse_ints(args.classes, "--classes") if args.classes else [k % gen_run.num_classes for k in range(count)]
        if len(classes) == 1:
            classes = classes * count
        if len(classes) != count:
            raise ConfigError(f"--classes {args.classes}: give one class per code ({count}) or one for all")
        labels = torch.tensor([gen_run.check_class(k, "--classes") for k in classes])
    elif args.classes:
        raise ConfigError(f"--classes: the run {gen_run.path} is unconditional; leave it out")
    if args.seeds:
        codes = seed_codes(parse_ints(args.seeds, "--seeds"), gen_run.latent_dim)
    else:
        images = torch.stack([read_image(f.strip(), gen_run.img_shape) for f in args.images.split(",") if f.strip()])
        codes = project(gen_run, images, ProjectorConfig(steps=args.steps), labels=labels, search=1000).z
    frames = interpolation_frames(gen_run, codes, args.frames, args.method, labels)
    write_picture(out, frames, scale=args.scale, frame_ms=args.frame_ms)
    log.info("wrote %s: %d frames, %s interpolation through %d codes", out, len(frames), args.method, count)
    return 0
