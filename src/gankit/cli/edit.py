"""``gankit edit``: invert an image and move it toward another class."""

from __future__ import annotations

import argparse
import logging

from gankit.errors import ConfigError

log = logging.getLogger("gankit")

DEFAULT_STRENGTH = 4.0
"""The strength ``docs/edit.md`` recommends for class directions (signed distance past the class's boundary in z)."""

EXAMPLES = """examples:
  gankit edit runs/mnist_cond --input seven.png --toward 1 --out one.png              # conditional: same z, class 1
  gankit edit runs/mnist_dcgan --input three.png --toward 8 --strength 4 --out eight.png
  gankit edit runs/mnist_dcgan --input three.png --toward 8 --out eight.png --strip steps.png   # input | inverted | edited

The inversion keeps the code on the sphere of radius sqrt(latent size) where G's training codes lie (--no-sphere:
anywhere in z). A conditional run keeps the inverted z and asks G for the new class (the input's class is --from,
else the domain evaluator's reading). An unconditional run moves z along the class's direction, a linear boundary in z fitted to
the domain evaluator's labels of the run's samples (InterFaceGAN), until the code is --strength past the boundary.
"""


def add_parser(subparsers) -> None:
    p = subparsers.add_parser(
        "edit", help="change the class of an image through the generator",
        description="Invert an image, move its code toward a class, and draw the result.",
        epilog=EXAMPLES, formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("run_dir", help="the run directory")
    p.add_argument("--input", required=True, help="an image file of the run's size and channels")
    p.add_argument("--toward", required=True, help="the class to move toward (0-based)")
    p.add_argument("--strength", type=float, help=f"unconditional runs: distance past the class boundary in z (default {DEFAULT_STRENGTH})")
    p.add_argument("--from", dest="source", help="conditional runs: the input's class (default: the domain evaluator's reading)")
    p.add_argument("--steps", type=int, default=300, help="inversion steps (default 300)")
    p.add_argument("--encoder", metavar="ENCODER_RUN", help="an encoder run to start the inversion from")
    p.add_argument("--sphere", action=argparse.BooleanOptionalAction, default=True,
                   help="invert on the sphere of radius sqrt(latent size) where G's training codes lie (PULSE); "
                        "--no-sphere: anywhere in z (default: --sphere)")
    p.add_argument("--samples", type=int, default=10_000, help="unconditional runs: samples behind the class directions (default 10000)")
    p.add_argument("--out", required=True, help="the edited image (.png)")
    p.add_argument("--strip", help="also write input | inverted | edited side by side (.png)")
    p.add_argument("--scale", type=int, default=1, help="--strip: enlarge each pixel to SCALE x SCALE (default 1)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    import torch

    from gankit.edit import change_class, fit_directions, load_encoder, load_generator_run, project
    from gankit.edit.invert import ProjectorConfig
    from gankit.edit.media import check_picture_path, write_picture
    from gankit.edit.runs import classify, domain_evaluator
    from gankit.inputs import read_image, write_image

    out = check_picture_path(args.out, (".png",))
    strip_out = check_picture_path(args.strip, (".png",), "--strip") if args.strip else None
    if not 1 <= args.scale <= 32:
        raise ConfigError(f"--scale: {args.scale} is outside 1..32")
    if not 1 <= args.steps <= 100_000:
        raise ConfigError(f"--steps: {args.steps} is outside 1..100000")
    if not 100 <= args.samples <= 1_000_000:
        raise ConfigError(f"--samples: {args.samples} is outside 100..1000000")
    gen_run = load_generator_run(args.run_dir)
    target = gen_run.check_class(args.toward, "--toward")
    if gen_run.num_classes and args.strength is not None:
        raise ConfigError("--strength: a conditional run changes the class directly; leave it out")
    if not gen_run.num_classes and args.source is not None:
        raise ConfigError("--from: an unconditional run reads no class; leave it out")
    strength = DEFAULT_STRENGTH if args.strength is None else args.strength
    if not -20 <= strength <= 20:
        raise ConfigError(f"--strength: {strength} is outside -20..20")
    image = read_image(args.input, gen_run.img_shape)[None]  # (1, C, H, W)
    encoder = load_encoder(args.encoder, gen_run) if args.encoder else None
    evaluator = domain_evaluator(gen_run)
    labels = None
    if gen_run.num_classes:
        source = gen_run.check_class(args.source, "--from") if args.source is not None else int(classify(evaluator, image).argmax())
        labels = torch.tensor([source])
    inverted = project(gen_run, image, ProjectorConfig(steps=args.steps, sphere=args.sphere), labels=labels, encoder=encoder, search=1000)
    if gen_run.num_classes:
        edited = change_class(gen_run, inverted.z, target)
    else:
        boundaries = fit_directions(gen_run, lambda x: classify(evaluator, x), num=args.samples)
        edited = gen_run.generate(boundaries.edit(inverted.z, target, strength))
    write_image(out, edited[0])
    if strip_out is not None:
        write_picture(strip_out, torch.cat([image, inverted.images, edited]), scale=args.scale)
    reading = int(classify(evaluator, edited).argmax())
    log.info("wrote %s: toward class %d, the domain evaluator reads it as %d", out, target, reading)
    return 0
