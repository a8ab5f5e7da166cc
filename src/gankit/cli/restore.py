"""``gankit restore``: restore the user's own images with a trained restoration run."""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

from gankit.errors import ConfigError

log = logging.getLogger("gankit")

EXAMPLES = """examples:
  gankit restore runs/fashion_sr2_gan --input small.png --out restored/          # 14x14 -> 28x28
  gankit restore runs/fashion_denoise_gan --input noisy_folder/ --out restored/
  gankit restore runs/mnist_inpaint_gan --input digit.png --mask hole.png --out restored/
The inputs must be what the run was trained to restore: the size of its degraded
images (the output size divided by the super-resolution scale) and its colours.
A mask (inpainting) is an image of the output's size, white where pixels are missing.
Each input NAME.EXT is written as DIR/NAME.png. A file that cannot be used is named
on one line and skipped; the others are restored, and the exit status is then 1.
"""


def add_parser(subparsers) -> None:
    p = subparsers.add_parser(
        "restore", help="restore your own images with a trained restoration run (super-resolution, denoising, inpainting)",
        description="Restore image files with the generator of a restoration run (pix2pix, srresnet).",
        epilog=EXAMPLES, formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("run_dir", help="a restoration run directory (its newest valid checkpoint, else export/)")
    p.add_argument("--input", required=True, metavar="FILE_OR_DIR", help="an image file, or a directory of them")
    p.add_argument("--out", required=True, metavar="DIR", help="the directory to write the restored PNGs into (created)")
    p.add_argument("--mask", metavar="MASK.png", help="inpainting: the missing pixels, white, one mask for every input")
    p.add_argument("--checkpoint", help="a checkpoint file of the run (default: the newest valid one)")
    p.set_defaults(func=run)


def output_names(names: list[str]) -> list[str]:
    """``NAME.EXT`` -> ``NAME.png``; where two inputs would share a name, ``NAME.EXT.png``."""
    stems = [Path(n).stem + ".png" for n in names]
    return [stem if stems.count(stem) == 1 else f"{name}.png" for stem, name in zip(stems, names)]


def run(args: argparse.Namespace) -> int:
    from gankit.inputs import read_inputs, read_mask, write_image
    from gankit.models import is_paired
    from gankit.restore import create_degradation, model_input_from_uint8, restore_batches
    from gankit.run import RunDir

    run = RunDir(args.run_dir)
    cfg = run.read_config()
    if not is_paired(cfg.model.name):
        raise ConfigError(f"{args.run_dir}: model {cfg.model.name!r} draws images from noise; gankit restore needs a "
                          "restoration run (pix2pix, srresnet)")
    degradation = create_degradation(cfg.restore.degradation)
    out = Path(args.out)
    if out.exists() and not out.is_dir():
        raise ConfigError(f"--out {out}: is a file; give a directory")
    if not out.parent.is_dir():
        raise ConfigError(f"--out {out}: the folder {out.parent} does not exist")
    if degradation.task == "inpaint" and not args.mask:
        raise ConfigError(f"{args.run_dir} inpaints: give --mask MASK.png (white where pixels are missing)")
    if degradation.task != "inpaint" and args.mask:
        raise ConfigError(f"--mask: {args.run_dir} is a {degradation.task.replace('_', '-')} run and takes no mask")
    generator, spec = run.load_generator(args.checkpoint)
    channels, height, width = spec["img_shape"]
    mask = read_mask(args.mask, (height, width)) if args.mask else None  # (1, H, W) bool
    batch = read_inputs(args.input, (channels, height // degradation.scale, width // degradation.scale))
    restored = restore_batches(generator, model_input_from_uint8(batch.images, mask[None] if mask is not None else None))
    out.mkdir(exist_ok=True)
    for name, image in zip(output_names(batch.names), restored):
        write_image(out / name, image)
    for failure in batch.failures:
        print(f"gankit: skipped: {failure}", file=sys.stderr)
    log.info("restored %d image(s) into %s%s", len(restored), out, f"; {len(batch.failures)} skipped" if batch.failures else "")
    return 1 if batch.failures else 0
