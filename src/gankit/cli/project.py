"""``gankit project``: find the latent codes of images (inversion), optionally filling a masked region."""

from __future__ import annotations

import argparse
import json
import logging
import time
from pathlib import Path

from gankit.errors import ConfigError

log = logging.getLogger("gankit")

EXAMPLES = """examples:
  gankit project runs/mnist_dcgan --input digit.png --out projected/
  gankit project runs/mnist_dcgan --input digits/ --out projected/ --steps 300
  gankit project runs/mnist_dcgan --input digits/ --out projected/ --encoder runs/mnist_dcgan_encoder --steps 50
  gankit project runs/mnist_dcgan --input digit.png --mask hole.png --out filled/      # masked inversion (inpainting)
  gankit project runs/mnist_dcgan --input digits/ --out projected/ --feature-weight 0.1   # + the evaluator's features
  gankit project runs/mnist_cond --input seven.png --label 7 --out projected/
  gankit project runs/mnist_cond --input seven.png --label 7 --out projected/ --sphere   # codes on G's shell

Writes into --out, for each input NAME: NAME's stem .png (G's reconstruction; with --mask, the input's known pixels
and G's completion of the white region), latents.safetensors (z (N, L) and, for conditional runs, labels (N,)),
and project.json (each image's loss and PSNR against the input; with --mask, G's own image's PSNR over the known
pixels).
"""


def add_parser(subparsers) -> None:
    p = subparsers.add_parser(
        "project", help="invert images: find the latent code that reconstructs each",
        description="Find each image's latent code by optimisation (batched), optionally from an encoder's guess; "
                    "with --mask, fill the white region of the mask (masked inversion).",
        epilog=EXAMPLES, formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("run_dir", help="the run whose generator to invert")
    p.add_argument("--input", required=True, help="an image file, or a directory of them (each the run's size and channels)")
    p.add_argument("--out", required=True, help="output directory (created if missing)")
    p.add_argument("--steps", type=int, default=300, help="optimisation steps (default 300; 0: the encoder's codes alone)")
    p.add_argument("--encoder", metavar="ENCODER_RUN", help="an encoder run (gankit train --objective encoder) to start from")
    p.add_argument("--mask", help="a mask image of the run's size; white marks the pixels to fill")
    p.add_argument("--label", type=int, help="conditional runs: the class of every input (default: the domain evaluator's reading)")
    p.add_argument("--lr", type=float, default=0.1, help="peak learning rate (default 0.1)")
    p.add_argument("--feature-weight", type=float, default=0.0,
                   help="weight of the distance between the domain evaluator's features (or --perceptual-weights') (default 0)")
    p.add_argument("--perceptual-weights", metavar="FILE", help="VGG-16 weights (.safetensors, or a weights-only .pt) for the feature distance")
    p.add_argument("--prior-weight", type=float, help="weight of the discriminator prior (default: 0.01 with --mask, else 0)")
    p.add_argument("--sphere", action="store_true",
                   help="keep each code on the sphere of radius sqrt(latent size), where z ~ N(0, I) lies, projecting it "
                        "back after every step (PULSE, Menon et al. 2020)")
    p.add_argument("--seed", type=int, default=0, help="seeds the noise added to the codes (default 0)")
    p.add_argument("--search", type=int, default=1000, help="start from the nearest of this many random codes (default 1000; 0: from zeros)")
    p.add_argument("--sheet", help="also write a picture (.png): the inputs in the top row (with --mask, the hole in gray), "
                                   "the results below")
    p.add_argument("--scale", type=int, default=1, help="--sheet: enlarge each pixel to SCALE x SCALE (default 1)")
    p.set_defaults(func=run)


def output_dir(out: str) -> Path:
    """``--out``: an existing directory, or a new one in an existing folder."""
    path = Path(out)
    if path.exists() and not path.is_dir():
        raise ConfigError(f"--out {path}: exists and is not a directory")
    if not path.exists() and not path.parent.is_dir():
        raise ConfigError(f"--out {path}: the folder {path.parent} does not exist")
    return path


def output_names(names: list[str]) -> list[str]:
    """``STEM.png`` for each input name; a stem that repeats gets ``-2``, ``-3``, ..."""
    seen: dict[str, int] = {}
    out = []
    for name in names:
        stem = Path(name).stem
        seen[stem] = seen.get(stem, 0) + 1
        out.append(f"{stem}.png" if seen[stem] == 1 else f"{stem}-{seen[stem]}.png")
    return out


def projector_settings(args: argparse.Namespace, masked: bool):
    from gankit.edit import ProjectorConfig

    if not 0 <= args.steps <= 100_000:
        raise ConfigError(f"--steps: {args.steps} is outside 0..100000")
    prior = args.prior_weight if args.prior_weight is not None else (0.01 if masked else 0.0)
    return ProjectorConfig(steps=max(args.steps, 1), lr=args.lr, feature_weight=args.feature_weight, prior_weight=prior,
                           sphere=args.sphere)


def feature_net(args: argparse.Namespace, run):
    """The feature net for ``--feature-weight``: the user's VGG-16, else the domain evaluator's features."""
    from gankit.edit.features import EvaluatorFeatures, vgg_features
    from gankit.edit.runs import domain_evaluator

    if args.perceptual_weights:
        return vgg_features(args.perceptual_weights)
    if args.feature_weight > 0:
        return EvaluatorFeatures(domain_evaluator(run).net)
    return None


def input_labels(args: argparse.Namespace, run, images):
    """Conditional runs: ``--label`` for every image, else the domain evaluator's reading of each."""
    import torch

    from gankit.edit.runs import classify, domain_evaluator

    if not run.num_classes:
        if args.label is not None:
            raise ConfigError(f"--label: the run {run.path} is unconditional; leave it out")
        return None
    if args.label is not None:
        run.check_class(args.label, "--label")
        return torch.full((len(images),), args.label, dtype=torch.long)
    return classify(domain_evaluator(run), images).argmax(dim=1)


def run(args: argparse.Namespace) -> int:
    import torch
    from safetensors.torch import save as save_tensors

    from gankit.edit import load_discriminator, load_encoder, load_generator_run, project
    from gankit.inputs import read_inputs, read_mask, write_image
    from gankit.metrics.restoration import psnr
    from gankit.run.files import atomic_write

    out = output_dir(args.out)
    sheet = None
    if args.sheet:
        from gankit.edit.media import check_picture_path

        sheet = check_picture_path(args.sheet, (".png",), "--sheet")
    if not 1 <= args.scale <= 32:
        raise ConfigError(f"--scale: {args.scale} is outside 1..32")
    if not 0 <= args.search <= 1_000_000:
        raise ConfigError(f"--search: {args.search} is outside 0..1000000")
    if args.steps == 0 and not args.encoder:
        raise ConfigError("--steps 0 takes the encoder's codes as they are; give --encoder ENCODER_RUN")
    settings = projector_settings(args, args.mask is not None)
    if args.feature_weight > 0 and args.mask:
        raise ConfigError("--feature-weight: the feature distance compares whole images; leave it out with --mask")
    if args.perceptual_weights and not args.feature_weight > 0:
        raise ConfigError("--perceptual-weights: give --feature-weight W > 0 for the feature distance to count")
    gen_run = load_generator_run(args.run_dir)
    batch = read_inputs(args.input, gen_run.img_shape)
    missing = read_mask(args.mask, gen_run.img_shape[1:])[None] if args.mask else None  # (1, 1, H, W)
    encoder = load_encoder(args.encoder, gen_run) if args.encoder else None
    features = feature_net(args, gen_run)
    discriminator = load_discriminator(gen_run) if settings.prior_weight > 0 else None
    labels = input_labels(args, gen_run, batch.images)
    for failure in batch.failures:
        log.warning("skipped %s", failure)

    start = time.perf_counter()
    if args.steps == 0:
        from gankit.edit import encode

        z = encode(encoder, batch.images)
        recon = gen_run.generate(z, labels)
        loss = (recon.float() - batch.images.float()).div(127.5).pow(2).flatten(1).mean(1)
    else:
        result = project(gen_run, batch.images, settings, labels=labels, encoder=encoder, missing=missing,
                         features=features, discriminator=discriminator, seed=args.seed, search=args.search)
        z, recon, loss = result.z, result.images, result.final_loss
    seconds = time.perf_counter() - start
    if missing is None:
        values = psnr(recon, batch.images)
    else:  # how well G's own image fits the known pixels (the blended result equals them there)
        values = psnr(gen_run.generate(z, labels), batch.images, mask=(~missing).expand(len(recon), -1, -1, -1))

    out.mkdir(exist_ok=True)
    names = output_names(batch.names)
    for name, image in zip(names, recon):
        write_image(out / name, image)
    tensors = {"z": z.contiguous()}
    if labels is not None:
        tensors["labels"] = labels.contiguous()
    atomic_write(out / "latents.safetensors", save_tensors(tensors, metadata={"names": json.dumps(batch.names)}))
    record = {"run": str(gen_run.path), "steps": args.steps, "encoder": args.encoder, "mask": args.mask, "sphere": args.sphere, "seconds": round(seconds, 3),
              "images": [{"input": n, "output": o, "loss": float(lo), "psnr_db": float(v)}
                         for n, o, lo, v in zip(batch.names, names, loss, values)]}
    atomic_write(out / "project.json", json.dumps(record, indent=2) + "\n")
    if sheet is not None:
        from gankit.edit.media import write_picture

        shown = batch.images if missing is None else batch.images.masked_fill(missing, 128)
        write_picture(sheet, torch.cat([shown, recon]), scale=args.scale, rows=2)
    finite = values[torch.isfinite(values)]
    mean = f"{float(finite.mean()):.2f} dB" if len(finite) else "exact"
    log.info("projected %d image(s) in %.1f s (mean PSNR %s%s); wrote %s", len(recon), seconds, mean,
             " over the known pixels" if missing is not None else "", out)
    return 1 if batch.failures else 0
