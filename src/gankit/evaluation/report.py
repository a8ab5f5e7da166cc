"""One self-contained HTML page about a run: curves, FID, samples through training, class histogram.

Everything is embedded (PNG as base64), so the page can be mailed or archived as
one file. Plots are drawn with matplotlib (Agg).
"""

from __future__ import annotations

import base64
import html
import io
import logging
import os
from pathlib import Path

import torch

from gankit.data import DatasetSpec
from gankit.errors import ConfigError, GankitError
from gankit.metrics.evaluator import EvaluatorMissingError
from gankit.run import RunDir

log = logging.getLogger("gankit")

MAX_GRIDS = 6


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _png(fig) -> bytes:
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=80, bbox_inches="tight")
    _pyplot().close(fig)
    return buffer.getvalue()


def plot_curves(records: list[dict]) -> bytes | None:
    """Losses and mean D outputs against steps."""
    plt = _pyplot()
    losses = [r for r in records if "d_loss" in r or "loss" in r]
    if not losses:
        return None
    steps = [r["step"] for r in losses]
    has_d = any("d_real" in r for r in losses)
    fig, axes = plt.subplots(1, 2 if has_d else 1, figsize=(12 if has_d else 6, 3.6), squeeze=False)
    ax = axes[0][0]
    for key, label in (("d_loss", "D loss"), ("g_loss", "G loss"), ("loss", "loss")):
        if any(key in r for r in losses):
            ax.plot(steps, [r.get(key, float("nan")) for r in losses], label=label)
    ax.set_title("losses")
    if has_d:
        ax = axes[0][1]
        ax.plot(steps, [r.get("d_real", float("nan")) for r in losses], label="mean D(x)")
        ax.plot(steps, [r.get("d_fake", float("nan")) for r in losses], label="mean D(G(z))")
        ax.set_ylim(0, 1)
        ax.set_title("discriminator outputs")
    for ax in axes[0]:
        ax.set_xlabel("step")
        ax.legend()
        ax.grid(alpha=0.3)
    return _png(fig)


def plot_fid(records: list[dict], best_step: int | None) -> bytes | None:
    points = [(r["step"], r["fid"]) for r in records if isinstance(r.get("fid"), (int, float))]
    if not points:
        return None
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(6, 3.6))
    ax.plot([s for s, _ in points], [f for _, f in points], marker="o", ms=3)
    if best_step is not None:
        ax.axvline(best_step, color="green", ls="--", label=f"best (step {best_step})")
        ax.legend()
    ax.set_yscale("log")
    ax.set_xlabel("step")
    ax.set_title("FID during training")
    ax.grid(alpha=0.3)
    return _png(fig)


def plot_class_histogram(fake_counts: torch.Tensor, real_counts: torch.Tensor, class_names: list[str], title: str) -> bytes:
    plt = _pyplot()
    k = len(fake_counts)
    fake = (fake_counts.double() / max(int(fake_counts.sum()), 1)).numpy()
    real = (real_counts.double() / max(int(real_counts.sum()), 1)).numpy()
    fig, ax = plt.subplots(figsize=(max(6, min(14, 0.5 * k)), 3.6))
    if k <= 50:
        xs = torch.arange(k).numpy()
        ax.bar(xs - 0.2, real, width=0.4, label="real (test)")
        ax.bar(xs + 0.2, fake, width=0.4, label="samples")
        ax.set_xticks(xs)
        ax.set_xticklabels(class_names, rotation=45 if max(len(n) for n in class_names) > 3 else 0, ha="right" if k > 10 else "center")
    else:
        ax.plot(real, lw=0.8, label="real (test)")
        ax.plot(fake, lw=0.8, label="samples")
        ax.set_xlabel("class")
    ax.set_ylabel("share")
    ax.set_title(title)
    ax.legend()
    ax.grid(alpha=0.3, axis="y")
    return _png(fig)


def class_histograms(run_dir: Path, num: int, seed: int) -> tuple[bytes, str] | None:
    """The class histogram of ``num`` samples of the run's generator and of the real test split."""
    from gankit.data.toy2d import MIXTURES
    from gankit.evaluation.run_eval import run_dataset, samples_from_run
    from gankit.metrics.classes import class_histogram
    from gankit.metrics.extractors import default_extractor
    from gankit.metrics.modes import nearest_modes

    dataset = run_dataset(run_dir)
    name = dataset.name
    test = dataset.load("test")
    samples = samples_from_run(run_dir, None, num, seed)
    if name in MIXTURES:
        mixture = MIXTURES[name]
        fake_counts = torch.bincount(nearest_modes(samples, mixture.means)[0], minlength=mixture.num_modes)
        real_counts = torch.bincount(nearest_modes(test.images[:num], mixture.means)[0], minlength=mixture.num_modes)
        names = [str(k) for k in range(mixture.num_modes)]
        note = f"nearest mode of {num} samples"
    else:
        extractor = default_extractor(dataset)
        fake_probs = extractor(samples).probs
        if fake_probs is None:
            return None
        fake_counts = class_histogram(fake_probs)
        real_counts = class_histogram(extractor(test.images[:num]).probs)
        names = list(test.class_names) or [str(k) for k in range(len(fake_counts))]
        note = f"domain classifier's class of {num} samples; {int((fake_counts > 0).sum())} of {len(fake_counts)} classes present"
    return plot_class_histogram(fake_counts, real_counts, names, f"{name}: class histogram"), note


def _img(png: bytes, alt: str) -> str:
    return f'<img alt="{html.escape(alt)}" src="data:image/png;base64,{base64.b64encode(png).decode()}">'


def sample_grids(run_dir: Path) -> list[tuple[str, bytes]]:
    """Up to ``MAX_GRIDS`` progress grids, evenly spread through training, ending with the final one."""
    folder = run_dir / "samples"
    grids = sorted(p for p in folder.glob("epoch-*.png")) if folder.is_dir() else []
    if len(grids) > MAX_GRIDS - 1:
        step = (len(grids) - 1) / (MAX_GRIDS - 2)
        grids = [grids[round(i * step)] for i in range(MAX_GRIDS - 1)]
    if (folder / "final.png").is_file():
        grids.append(folder / "final.png")
    return [(p.stem, p.read_bytes()) for p in grids]


def no_fid_note(run_dir: Path, records: list[dict]) -> str:
    """Why a run has no FID curve: ``train.fid_every`` is unset, no measurement is due yet, or the
    in-training FID was off (no domain evaluator for the dataset when the run trained)."""
    from gankit.metrics.extractors import default_extractor

    cfg = RunDir(run_dir).read_config()
    every, name = cfg.train.fid_every, cfg.data.name
    if not every:
        return "No FID measured: set <code>train.fid_every</code> to log one."
    steps = max((r.get("step", 0) for r in records), default=0)
    if steps < every:
        return f"No FID yet: <code>train.fid_every</code> is {every}, and the run has logged {steps} steps."
    missed = f"No FID logged although <code>train.fid_every</code> is {every}: the in-training FID was off"
    try:
        default_extractor(DatasetSpec.from_config(cfg.data))
    except EvaluatorMissingError:
        return (f"{missed}, as dataset {html.escape(repr(name), quote=False)} has no domain evaluator. <code>gankit eval RUN</code> "
                f"trains it (or <code>gankit evaluator train --dataset {html.escape(name)}</code>); runs trained after it log FID.")
    except GankitError as exc:
        return f"{missed}: {html.escape(str(exc))}"
    return (f"{missed} when the run trained (its log says why; most often the domain evaluator of {html.escape(repr(name), quote=False)} "
            "was not trained yet). It can be scored now: <code>gankit eval RUN</code>.")


def build_report(run_dir: str | os.PathLike, num: int = 2000, seed: int = 0) -> str:
    """The HTML page of the run in ``run_dir``."""
    run_dir = Path(run_dir)
    if not (run_dir / "config.yaml").is_file():
        raise ConfigError(f"{run_dir}: not a gankit run directory (no config.yaml)")
    run = RunDir(run_dir)
    records, best = run.read_metrics(), run.read_best()
    parts = [f"<h1>gankit run: {html.escape(str(run_dir))}</h1>"]
    steps = max((r.get("step", 0) for r in records), default=0)
    summary = f"{steps} steps logged"
    if best:
        summary += f"; best FID {best['fid']:.4g} at step {best['step']} ({html.escape(best['checkpoint'])})"
    parts.append(f"<p>{summary}</p>")

    parts.append("<h2>Training curves</h2>")
    curves = plot_curves(records)
    parts.append(_img(curves, "losses and D outputs") if curves else "<p>No losses logged yet.</p>")

    parts.append("<h2>FID during training</h2>")
    fid_png = plot_fid(records, best["step"] if best else None)
    parts.append(_img(fid_png, "FID curve") if fid_png else f"<p>{no_fid_note(run_dir, records)}</p>")

    parts.append("<h2>Samples through training</h2>")
    grids = sample_grids(run_dir)
    if grids:
        parts.append('<div class="grids">' + "".join(f"<figure>{_img(png, name)}<figcaption>{html.escape(name)}</figcaption></figure>"
                                                      for name, png in grids) + "</div>")
    else:
        parts.append("<p>No sample grids in samples/.</p>")

    parts.append("<h2>Class histogram</h2>")
    try:
        histogram = class_histograms(run_dir, num, seed)
    except GankitError as exc:
        histogram = None
        parts.append(f"<p>Not drawn: {html.escape(str(exc))}</p>")
    if histogram is not None:
        png, note = histogram
        parts.append(_img(png, "class histogram") + f"<p>{html.escape(note)}</p>")

    style = ("body{font-family:sans-serif;max-width:1200px;margin:2em auto;color:#222}"
             "img{max-width:100%}.grids{display:flex;flex-wrap:wrap;gap:1em}"
             ".grids figure{margin:0;width:31%}.grids img{width:100%;image-rendering:pixelated}")
    return (f"<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>gankit report: {html.escape(run_dir.name)}</title>"
            f"<style>{style}</style></head><body>\n" + "\n".join(parts) + "\n</body></html>\n")


def write_report(run_dir: str | os.PathLike, out: str | os.PathLike | None = None, num: int = 2000, seed: int = 0) -> Path:
    from gankit.run import atomic_write

    out = Path(out) if out else Path(run_dir) / "report.html"
    page = build_report(run_dir, num, seed)
    try:
        atomic_write(out, page.encode())
    except OSError as exc:
        raise GankitError(f"--out {out}: cannot write ({exc.strerror})") from None
    return out
