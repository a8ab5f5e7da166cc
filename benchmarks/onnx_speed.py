"""Sampling speed on the CPU with torch and with onnxruntime, side by side: the same generator, z and batch.

Each engine runs with the same number of threads (``--threads``, default ``OMP_NUM_THREADS`` or 1); the two are
timed in turn ``--repeats`` times (so a change in the machine's load hits both) and the medians are compared.
Both compute the generator's float output for the same z (N, latent_dim); the ratio is torch's time over
onnxruntime's (above 1: onnxruntime is faster). Uses a run's generator when given (``--run-dir``), else a freshly
built generator of each preset (speed does not depend on the weights).

    python benchmarks/onnx_speed.py [--presets mnist_mlp mnist_dcgan] [--run-dir RUN] [--batch 256] [--repeats 5]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

import torch

import gankit
from gankit.hub import GeneratorPipeline

sys.path.insert(0, str(Path(__file__).resolve().parent))
from sampling import preset_generator  # noqa: E402


def timed(fn) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def compare(pipeline: GeneratorPipeline, batch: int, repeats: int, threads: int) -> tuple[float, float, float]:
    """Median seconds per batch with torch and with onnxruntime, and the largest difference of their outputs."""
    import onnxruntime as ort

    spec = pipeline.spec
    z = torch.randn(batch, spec["latent_dim"], generator=torch.Generator().manual_seed(0))
    labels = torch.arange(batch) % spec["num_classes"] if spec.get("num_classes") else None
    args = (z, labels) if labels is not None else (z,)
    feeds = {"z": z.numpy(), **({"labels": labels.numpy()} if labels is not None else {})}
    with tempfile.TemporaryDirectory() as tmp:
        path = pipeline.export_onnx(Path(tmp) / "g.onnx")
        options = ort.SessionOptions()
        options.intra_op_num_threads, options.inter_op_num_threads = threads, 1
        session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
    module = pipeline.module.eval()

    def run_torch():
        with torch.inference_mode():
            return module(*args)

    def run_ort():
        return session.run(["samples"], feeds)[0]

    diff = float((run_torch() - torch.from_numpy(run_ort())).abs().max())  # also the warm-up
    torch_s, ort_s = [], []
    for _ in range(repeats):
        torch_s.append(timed(run_torch))
        ort_s.append(timed(run_ort))
    return statistics.median(torch_s), statistics.median(ort_s), diff


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--presets", nargs="+", default=["mnist_mlp", "mnist_dcgan"])
    parser.add_argument("--run-dir", help="time this run's generator instead of the presets'")
    parser.add_argument("--batch", type=int, default=256)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--threads", type=int, default=int(os.environ.get("OMP_NUM_THREADS", "1")))
    args = parser.parse_args()
    torch.set_num_threads(args.threads)

    if args.run_dir:
        sources = [(args.run_dir, gankit.load(args.run_dir))]
    else:
        sources = [(p, GeneratorPipeline(*preset_generator(p), origin=p)) for p in args.presets]
    import onnxruntime

    print(f"torch {torch.__version__}, onnxruntime {onnxruntime.__version__}, {args.threads} thread(s) each, batch "
          f"{args.batch}, median of {args.repeats}")
    print(f"{'generator':<16}{'torch img/s':>14}{'onnxruntime img/s':>20}{'torch / ort time':>18}{'max |diff|':>12}")
    for name, pipeline in sources:
        torch_s, ort_s, diff = compare(pipeline, args.batch, args.repeats, args.threads)
        print(f"{name:<16}{args.batch / torch_s:>14,.0f}{args.batch / ort_s:>20,.0f}{torch_s / ort_s:>17.2f}x{diff:>12.1e}")


if __name__ == "__main__":
    main()
