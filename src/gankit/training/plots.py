"""Training curves as a PNG a person can look at."""

from __future__ import annotations

from pathlib import Path

from gankit.run.files import atomic_path
from gankit.run.metrics import read_metrics


def plot_training_curves(metrics_path: str | Path, out_path: str | Path) -> Path | None:
    """Losses, D outputs and gradient norms against steps; None when there is nothing to plot."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    records = [r for r in read_metrics(metrics_path) if "d_loss" in r]
    if not records:
        return None
    fig, axes = plt.subplots(1, 3, figsize=(15, 4))
    panels = ((("d_loss", "D loss"), ("g_loss", "G loss")), (("d_real", "mean D(x)"), ("d_fake", "mean D(G(z))")),
              (("grad_norm_d", "|grad D|"), ("grad_norm_g", "|grad G|")))
    for ax, curves in zip(axes, panels):
        for key, label in curves:  # a record of a D-only step (optim.n_critic > 1) has no G figures
            points = [(r["step"], r[key]) for r in records if key in r]
            if points:
                ax.plot(*zip(*points), label=label)
    axes[0].set_title("losses")
    axes[1].set_ylim(0, 1)
    axes[1].set_title("discriminator outputs")
    axes[2].set_yscale("log")
    axes[2].set_title("gradient norms")
    for ax in axes:
        ax.set_xlabel("step")
        ax.legend()
        ax.grid(alpha=0.3)
    fig.tight_layout()
    out_path = Path(out_path)
    try:
        with atomic_path(out_path) as tmp:
            fig.savefig(tmp, dpi=80, format="png")
    finally:
        plt.close(fig)
    return out_path


def plot_points(points, reference, out_path: str | Path, title: str = "") -> Path:
    """Scatter generated 2D points (N, 2) over real ones (M, 2): the sample grid of vector data."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(5, 5))
    ref = reference.numpy() if hasattr(reference, "numpy") else reference
    pts = points.numpy() if hasattr(points, "numpy") else points
    ax.scatter(ref[:, 0], ref[:, 1], s=4, c="#bbbbbb", label="real", linewidths=0)
    ax.scatter(pts[:, 0], pts[:, 1], s=6, c="#d62728", label="generated", linewidths=0)
    lo, hi = float(ref[:, :2].min()), float(ref[:, :2].max())  # the real data's extent; stray points fall outside
    margin = 0.25 * (hi - lo) + 1e-6
    ax.set_xlim(lo - margin, hi + margin)
    ax.set_ylim(lo - margin, hi + margin)
    ax.set_aspect("equal")
    ax.legend(loc="upper right", fontsize=8)
    ax.set_title(title)
    fig.tight_layout()
    out_path = Path(out_path)
    fig.savefig(out_path, dpi=80, format="png")
    plt.close(fig)
    return out_path
