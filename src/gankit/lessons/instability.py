"""Lesson 6, instability: a plain GAN's oscillating losses and wandering samples, and what each stabiliser changes.

On the ring of 8 Gaussians (as lesson 5) the plain GAN is trained, then the same run with one change each:
spectral normalisation of D (Miyato et al., ICLR 2018), R1 (Mescheder et al., ICML 2018), an exponential moving
average of G's weights (Karras et al., ICLR 2018; Yazici et al., ICLR 2019), or two time-scales, D learning 4x
faster than G (TTUR, Heusel et al., NeurIPS 2017). Measured per run: how much the losses swing (their standard
deviation over the second half), how far G's samples of the same noise move between snapshots (the mean distance
each point travels, over the second half: zero for a generator that has settled), and the mode score at the end.
"""

from __future__ import annotations

import statistics

from gankit.lessons import LessonOptions, register_lesson, save_figure
from gankit.lessons.mode_collapse import PLAIN, plot_strips, train_and_snapshot

METHODS = {
    "plain GAN": [],
    "spectral norm on D": ["model.options.spectral_norm=true"],
    "R1 (gamma 0.1)": ["reg.r1_gamma=0.1", "reg.r1_every=4"],
    "EMA of G (half-life 20k images)": ["ema.half_life_kimg=20"],
    "TTUR (lr_g 1.25e-4, lr_d 5e-4)": ["optim.lr_g=1.25e-4"],
}


def drift(shots: list[dict]) -> float:
    """Mean distance a sample of the same noise moves between consecutive snapshots in the second half of training."""
    half = [s for s in shots if s["step"] >= shots[-1]["step"] / 2]
    moves = [float((b["points"] - a["points"]).norm(dim=1).mean()) for a, b in zip(half, half[1:])]
    return sum(moves) / len(moves) if moves else 0.0


@register_lesson("instability")
def instability(options: LessonOptions) -> dict:
    """Loss swings, sample drift and modes of a plain GAN and of each stabiliser, from the same start."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import torch

    steps = options.size(3000, 10)
    snapshots = sorted({round(steps * k / 10) for k in range(11)})
    runs = {name: train_and_snapshot(extra, steps, snapshots, options.seed) for name, extra in METHODS.items()}

    window = max(1, steps // 100)
    figure, axes = plt.subplots(1, len(runs), figsize=(3.0 * len(runs), 2.8), sharey=True)
    for ax, (name, (_, losses)) in zip(axes, runs.items()):
        for key, label in (("d_loss", "D's loss"), ("g_loss", "G's loss")):
            values = torch.tensor(losses[key])
            smooth = values.unfold(0, window, window).mean(1) if len(values) >= window else values
            ax.plot(torch.arange(len(smooth)) * window + window, smooth, lw=1, label=label)
        ax.set_title(name, fontsize=8)
        ax.set_xlabel("step")
    axes[0].legend(fontsize=7)
    axes[0].set_ylabel(f"loss (mean of every {window} steps)")
    save_figure(figure, options.out / "instability-losses.png")
    strips = {name: [s for s in shots if s["step"] in snapshots[::2]] for name, (shots, _) in runs.items()}
    plot_strips(strips, options.out / "instability-ring.png", "G's samples of the same noise over training; title: modes covered")

    numbers: dict = {"steps": steps, "snapshots": snapshots, "plain_overrides": PLAIN, "methods": {}}
    rows = []
    for name, (shots, losses) in runs.items():
        second = len(losses["d_loss"]) // 2
        d_std = statistics.pstdev(losses["d_loss"][second:]) if steps > 1 else 0.0
        g_std = statistics.pstdev(losses["g_loss"][second:]) if steps > 1 else 0.0
        final = shots[-1]["score"]
        entry = {"overrides": METHODS[name], "d_loss_std": d_std, "g_loss_std": g_std, "drift": drift(shots),
                 "scores": [{"step": s["step"], **s["score"].to_dict()} for s in shots]}
        numbers["methods"][name] = entry
        rows.append(f"| {name} | {d_std:.3f} | {g_std:.3f} | {entry['drift']:.3f} | {final.modes}/8 | {final.high_quality:.1%} |")
    numbers["summary"] = "\n".join([
        "| run | std of D's loss, 2nd half | std of G's loss, 2nd half | sample drift between snapshots, 2nd half | "
        "modes at the end | high-quality samples at the end |",
        "| --- | --- | --- | --- | --- | --- |", *rows, "",
        f"{steps} steps of the ring2d preset made plain ({', '.join(PLAIN)}), then one change per run; snapshots every "
        f"{snapshots[1]} steps of 2,500 samples of the same noise; drift in units of the ring's radius (1).",
    ])
    return numbers
