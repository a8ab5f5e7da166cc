"""``gankit export``: a trained model in the Hugging Face layout (optionally pushed to the Hub) or as an ONNX file."""

from __future__ import annotations

import argparse
import logging

log = logging.getLogger("gankit")

EXAMPLES = """examples:
  gankit export runs/mnist_dcgan --format hf --out hf/mnist_dcgan
  gankit export runs/mnist_dcgan --format hf --out hf/mnist_dcgan --push me/mnist-dcgan
  gankit export runs/mnist_dcgan --format onnx --out mnist_dcgan.onnx
  gankit export runs/mnist_dcgan/checkpoints/ckpt-000002000.ckpt --format onnx --out early.onnx

RUN is what gankit.load reads: a run directory, an export directory, a model directory or a checkpoint file.
--format hf writes config.json, model.safetensors, README.md (the model card) and samples.png;
--push uploads them when huggingface_hub is installed and a token is set (HF_TOKEN or `hf auth login`).
--format onnx writes the generator with a dynamic batch axis (needs: pip install 'gankit[onnx]').
"""


def add_parser(subparsers) -> None:
    p = subparsers.add_parser(
        "export", help="write a trained model in the Hugging Face layout or as ONNX",
        description="Write a trained model in the Hugging Face layout (config.json + model.safetensors + model card) or as ONNX.",
        epilog=EXAMPLES, formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("run", metavar="RUN", help="a run directory, an export directory, a model directory or a checkpoint file")
    p.add_argument("--format", required=True, choices=("hf", "onnx"), help="hf: a model directory; onnx: one .onnx file")
    p.add_argument("--out", required=True, help="hf: the directory to write; onnx: the .onnx file")
    p.add_argument("--push", metavar="REPO_ID", help="hf: also upload the directory to the Hugging Face Hub as REPO_ID")
    p.add_argument("--num-samples", type=int, default=64, help="hf: samples in the model card's grid (default 64)")
    p.add_argument("--seed", type=int, default=0, help="hf: the grid's noise seed (default 0)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    import gankit
    from gankit.errors import ConfigError

    if args.push and args.format != "hf":
        raise ConfigError("--push: only --format hf can be pushed to the Hugging Face Hub")
    if not 1 <= args.num_samples <= 1024:
        raise ConfigError(f"--num-samples: {args.num_samples} is outside 1..1024")
    pipeline = gankit.load(args.run)
    if args.format == "onnx":
        out = pipeline.export_onnx(args.out)
        log.info("wrote %s (ONNX, batch axis dynamic)", out)
        return 0
    out = pipeline.save_pretrained(args.out, num_samples=args.num_samples, seed=args.seed)
    log.info("wrote %s (config.json, model.safetensors, README.md)", out)
    if args.push:
        from gankit.hub.pretrained import push_to_hub

        log.info("pushed to %s", push_to_hub(out, args.push))
    return 0
