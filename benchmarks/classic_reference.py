"""Train the classic tutorial loop (benchmarks/classic.py) for N epochs and export its generator.

This is the baseline the [models] and [perf] targets are stated against ("what the
classic reference loop reaches after 200 epochs"). The generator is exported like a
gankit run (``OUT/export``), so ``gankit sample OUT`` draws from it and ``gankit eval --samples``
scores the draws the same way as any run's.
Wall time and this process's CPU time are recorded in ``OUT/classic.json``; the CPU
time is the figure to compare when other work shares the machine.

Every ``--save-every`` epochs the whole training state (both networks, both Adam
states, the RNG that draws z and shuffles the loader, the clocks) is written to
``OUT/resume.pt``, so a run of several CPU-hours (200 epochs of Fashion-MNIST's 60k
images) can be stopped and continued with ``--resume``, ending bit for bit where an
uninterrupted run ends.

    python benchmarks/classic_reference.py --epochs 200 --out runs/classic_mlp_200ep
    gankit sample runs/classic_mlp_200ep --num 2000 --out classic.npz
    gankit eval --samples classic.npz --dataset mnist
"""

from __future__ import annotations

import argparse
import io
import json
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))

from classic import ClassicGAN  # noqa: E402

from gankit.data import load_dataset  # noqa: E402
from gankit.errors import first_line  # noqa: E402
from gankit.models import export_generator, generator_spec  # noqa: E402
from gankit.sampling import generate, write_images  # noqa: E402
from gankit.run import atomic_write  # noqa: E402


def save_state(classic: ClassicGAN, epoch: int, images: int, wall: float, cpu: float, path: Path) -> None:
    """Write the training state atomically (a temporary file renamed over ``path``)."""
    state = {
        "generator": classic.generator.state_dict(), "discriminator": classic.discriminator.state_dict(),
        "opt_g": classic.opt_g.state_dict(), "opt_d": classic.opt_d.state_dict(),
        "rng": torch.get_rng_state(), "epoch": epoch, "images": images, "wall": wall, "cpu": cpu,
    }
    buffer = io.BytesIO()
    torch.save(state, buffer)
    atomic_write(path, buffer.getvalue())


def load_state(classic: ClassicGAN, path: Path) -> tuple[int, int, float, float]:
    """Restore a state written by :func:`save_state`; returns (epoch, images, wall, cpu) so far.

    A file that is not such a state (truncated, another model's, not a torch file) ends
    the script with one line naming it, not a traceback.
    """
    try:
        state = torch.load(path, weights_only=True)
        classic.generator.load_state_dict(state["generator"])
        classic.discriminator.load_state_dict(state["discriminator"])
        classic.opt_g.load_state_dict(state["opt_g"])
        classic.opt_d.load_state_dict(state["opt_d"])
        torch.set_rng_state(state["rng"])
        return int(state["epoch"]), int(state["images"]), float(state["wall"]), float(state["cpu"])
    except Exception as exc:  # noqa: BLE001 - any failure here means the file is not a state of this loop
        raise SystemExit(f"classic_reference.py: {path} is not a saved state of this loop ({first_line(exc)})") from None


def train(classic: ClassicGAN, epochs: int, state_path: Path, save_every: int, resume: bool) -> tuple[int, float, float]:
    """Train up to ``epochs`` epochs, saving every ``save_every``; returns (images, wall s, CPU s)."""
    epoch, images, wall_before, cpu_before = load_state(classic, state_path) if resume else (0, 0, 0.0, 0.0)
    if resume:
        print(f"resuming after epoch {epoch}/{epochs}", flush=True)
    wall, cpu = time.perf_counter(), time.process_time()
    while epoch < epochs:
        images += classic.train_epoch()
        epoch += 1
        elapsed_wall, elapsed_cpu = wall_before + time.perf_counter() - wall, cpu_before + time.process_time() - cpu
        if epoch % save_every == 0 or epoch == epochs:
            save_state(classic, epoch, images, elapsed_wall, elapsed_cpu, state_path)
        if epoch % 10 == 0 or epoch == epochs:
            print(f"epoch {epoch}/{epochs}: {elapsed_wall:.0f} s wall, {elapsed_cpu:.0f} s CPU", flush=True)
    return images, wall_before + time.perf_counter() - wall, cpu_before + time.process_time() - cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--epochs", type=int, default=200)
    parser.add_argument("--dataset", default="mnist")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", default="runs/classic_mlp_200ep")
    parser.add_argument("--save-every", type=int, default=5, help="epochs between saves of OUT/resume.pt")
    parser.add_argument("--resume", action="store_true", help="continue from OUT/resume.pt")
    args = parser.parse_args()
    if args.epochs < 1 or args.save_every < 1:
        parser.error(f"--epochs and --save-every must be at least 1 (got {args.epochs} and {args.save_every})")

    out = Path(args.out)
    state_path = out / "resume.pt"
    if args.resume and not state_path.is_file():
        parser.error(f"--resume: no saved state at {state_path}; run once without --resume first")
    out.mkdir(parents=True, exist_ok=True)
    dataset = load_dataset(args.dataset, "train")
    classic = ClassicGAN(dataset.images, dataset.labels, seed=args.seed)
    images, wall, cpu = train(classic, args.epochs, state_path, args.save_every, args.resume)

    spec = generator_spec("mlp", dataset.img_shape, 100, 0, {})
    export_generator(classic.generator, spec, out / "export")
    classic.generator.eval()
    samples, _ = generate(classic.generator, spec, 64, seed=0)
    write_images(samples, out / "samples.png")
    record = {
        "dataset": dataset.source, "epochs": args.epochs, "images": images, "wall_seconds": wall,
        "cpu_seconds": cpu, "threads": torch.get_num_threads(), "images_per_wall_second": images / wall,
    }
    (out / "classic.json").write_text(json.dumps(record, indent=2) + "\n")
    print(json.dumps(record))


if __name__ == "__main__":
    main()
