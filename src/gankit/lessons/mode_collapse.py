"""Lesson 5, mode collapse: a plain GAN on the ring of 8 Gaussians against PacGAN, R1 and InfoGAN codes.

The ring benchmark of Srivastava et al., "VEEGAN", NeurIPS 2017 and Lin et al., "PacGAN", NeurIPS 2018 (8 Gaussians
of std 0.01 on the unit circle), scored with :func:`gankit.metrics.modes.score_mixture` (a mode is covered when one
of 2,500 samples lies within 3 std of its mean). Each run starts from the ``ring2d`` preset with every stabiliser
off (the plain GAN), then turns one on: packing (Lin et al. 2018), R1 (Mescheder et al., ICML 2018), or a discrete
InfoGAN code of 8 values (Chen et al., NeurIPS 2016). With ``--run`` it also scores a Stacked MNIST run (1,000 modes,
26,000 samples, the MNIST evaluator labelling each channel).
"""

from __future__ import annotations

import io

import torch

from gankit.data.toy2d import RING
from gankit.lessons import LessonOptions, register_lesson, save_figure
from gankit.lessons.common import image_grid, scratch_trainer
from gankit.metrics.modes import MIXTURE_SAMPLES, STACKED_SAMPLES, score_mixture
from gankit.run.files import atomic_write
from gankit.sampling import draw_samples

PLAIN = ["model.options.pack=1", "reg.r1_gamma=0", "ema.half_life_kimg=0", "optim.lr_decay_start=1.0",
         "model.options.g_hidden=[128,128,128]", "model.options.d_hidden=[128,128,128]"]
"""The ring2d preset with every stabiliser off and narrower networks: the plain GAN."""
METHODS = {
    "plain GAN": [],
    "PacGAN (pack 2)": ["model.options.pack=2"],
    "R1 (gamma 0.1)": ["reg.r1_gamma=0.1", "reg.r1_every=4"],
    "InfoGAN code (8 values)": ["model.options.components=8"],
}
STACKED_COMMAND = "gankit train configs/stacked_mnist.yaml --run-dir runs/stacked_mnist"


def train_and_snapshot(overrides: list[str], steps: int, snapshots: list[int], seed: int) -> tuple[list[dict], dict]:
    """Train ring2d with ``overrides``: at each snapshot step 2,500 samples (the same noise every time) and their mode
    score; and every step's D and G losses."""
    shots, losses = [], {"d_loss": [], "g_loss": []}
    with scratch_trainer("ring2d", PLAIN + overrides + [f"train.seed={seed}"]) as trainer:
        for step in range(steps + 1):
            if step in snapshots:
                trainer.generator.eval()
                points = draw_samples(trainer.sampling_generator, trainer.sample_spec(), MIXTURE_SAMPLES, seed + 1)
                trainer.generator.train()
                shots.append({"step": step, "points": points, "score": score_mixture(points, RING)})
            if step == steps:
                break
            real, labels = trainer.next_batch()
            stats = trainer.train_step(real, labels, with_stats=True)
            trainer.step += 1
            losses["d_loss"].append(stats["d_loss"])
            losses["g_loss"].append(stats["g_loss"])
    return shots, losses


def plot_strips(runs: dict[str, list[dict]], path, title: str) -> None:
    """Rows of scatter plots, one row per run and one column per snapshot, G's samples over the ring's means."""
    import matplotlib.pyplot as plt

    means = RING.means.numpy()
    columns = len(next(iter(runs.values())))
    figure, axes = plt.subplots(len(runs), columns, figsize=(1.9 * columns, 2.0 * len(runs)), squeeze=False)
    for row, (name, shots) in zip(axes, runs.items()):
        for ax, shot in zip(row, shots):
            points = shot["points"].numpy()
            ax.scatter(points[:, 0], points[:, 1], s=1, alpha=0.3, color="tab:blue")
            ax.scatter(means[:, 0], means[:, 1], s=25, marker="x", color="tab:red")
            ax.set_xlim(-1.6, 1.6), ax.set_ylim(-1.6, 1.6)
            ax.set_xticks([]), ax.set_yticks([])
            ax.set_title(f"step {shot['step']}: {shot['score'].modes}/8", fontsize=8)
        row[0].set_ylabel(name, fontsize=8)
    figure.suptitle(title, fontsize=10)
    save_figure(figure, path)


def stacked_run_data(run_dir):
    """The data spec of ``run_dir``, which must be a Stacked MNIST run."""
    from gankit.errors import ConfigError
    from gankit.evaluation.run_eval import run_dataset

    spec = run_dataset(run_dir)
    if spec.name != "stacked-mnist":
        raise ConfigError(f"--run: {run_dir} trained on {spec.name!r}; lesson mode-collapse reads a stacked-mnist run ({STACKED_COMMAND})")
    return spec


def stacked_mnist(run_dir, out, seed: int, num: int) -> dict:
    """Score a Stacked MNIST run's modes on ``num`` samples; a grid of its samples and its mode histogram."""
    import matplotlib.pyplot as plt

    from gankit.evaluation.evaluator_training import extractor_for
    from gankit.evaluation.run_eval import samples_from_run
    from gankit.metrics.evaluate import mode_score

    spec = stacked_run_data(run_dir)
    extractor = extractor_for(spec)
    samples = samples_from_run(run_dir, None, num, seed)  # (N, 3, 28, 28) uint8
    score = mode_score(samples, spec, extractor)
    digits = extractor.digits_of(samples)
    counts = torch.bincount(digits[:, 0] * 100 + digits[:, 1] * 10 + digits[:, 2], minlength=1000)
    figure, axes = plt.subplots(1, 2, figsize=(10, 4))
    axes[0].imshow(image_grid(samples[:64].float() / 127.5 - 1, 8))
    axes[0].set_title("Stacked MNIST samples (each channel one digit)", fontsize=9)
    axes[0].axis("off")
    axes[1].bar(range(1000), counts.sort(descending=True).values, width=1.0)
    axes[1].axhline(num / 1000, color="k", ls="--", lw=1, label=f"uniform: {num / 1000:.0f} per mode")
    axes[1].set_title(f"samples per mode, sorted: {score.modes}/1000 modes, KL {score.reverse_kl:.3f}", fontsize=9)
    axes[1].set_xlabel("mode (three digits), most frequent first")
    axes[1].legend(fontsize=7)
    save_figure(figure, out / "mode-collapse-stacked-mnist.png")
    return {"run": str(run_dir), **score.to_dict()}


@register_lesson("mode-collapse", takes_run=True)
def mode_collapse(options: LessonOptions) -> dict:
    """Snapshot strips and mode counts of each method on the ring; Stacked MNIST's modes with ``--run``."""
    import matplotlib

    matplotlib.use("Agg")
    import numpy as np

    if options.run is not None:
        stacked_run_data(options.run)  # refuse a wrong run before training anything
    steps = options.size(3000, 10)
    snapshots = sorted({round(steps * k / 5) for k in range(6)})
    runs = {name: train_and_snapshot(extra, steps, snapshots, options.seed)[0] for name, extra in METHODS.items()}

    plot_strips(runs, options.out / "mode-collapse-ring.png", "G's samples (blue) and the 8 modes (red x); title: modes covered")

    arrays = {f"{name}": shots[-1]["points"].numpy() for name, shots in runs.items()}
    buffer = io.BytesIO()
    np.savez(buffer, **arrays)
    atomic_write(options.out / "mode-collapse-points.npz", buffer.getvalue())

    numbers: dict = {"steps": steps, "snapshots": snapshots, "samples": MIXTURE_SAMPLES, "mode_std": RING.std,
                     "methods": {name: {"overrides": PLAIN + METHODS[name],
                                        "scores": [{"step": s["step"], **s["score"].to_dict()} for s in shots]}
                                 for name, shots in runs.items()}}
    rows = []
    for name, shots in runs.items():
        per_step = " / ".join(str(s["score"].modes) for s in shots)
        final = shots[-1]["score"]
        kl = "-" if final.reverse_kl == float("inf") else f"{final.reverse_kl:.3f}"
        rows.append(f"| {name} | {per_step} | {final.high_quality:.1%} | {kl} |")
    lines = [f"| method | modes covered at steps {' / '.join(map(str, snapshots))} | high-quality samples at the end | "
             "KL(modes histogram, uniform) at the end |", "| --- | --- | --- | --- |", *rows, "",
             f"{steps} steps of the ring2d preset with {', '.join(PLAIN)}, then each method's own setting; "
             f"{MIXTURE_SAMPLES:,} samples per snapshot."]
    if options.run is not None:
        numbers["stacked_mnist"] = stacked_mnist(options.run, options.out, options.seed, options.size(STACKED_SAMPLES, 2000))
        s = numbers["stacked_mnist"]
        lines += ["", f"Stacked MNIST ({s['run']}): {s['modes']}/1000 modes covered, KL {s['reverse_kl']:.3f} on {s['num_samples']:,} samples."]
    numbers["summary"] = "\n".join(lines)
    return numbers
