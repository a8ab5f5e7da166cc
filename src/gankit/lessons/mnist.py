"""Lesson 3, MNIST: the reference GAN's sample grid over time, its loss curves and D(x) / D(G(z)), healthy and not.

The reference preset ``mnist_mlp`` (Goodfellow et al., "Generative Adversarial Nets", NeurIPS 2014, the fully
connected GAN) trains as it is (healthy), and once with the discriminator's learning rate 10x and the generator's
1/10x (unhealthy: D wins the game and G's samples stop improving). Every ``log_every`` steps the lesson records the
trainer's logged statistics (losses, mean D(x), mean D(G(z))), and every ``frame_every`` steps a sample grid of 36
fixed noise vectors, which become the frames of a GIF.
"""

from __future__ import annotations

import io

import torch

from gankit.lessons import LessonOptions, register_lesson, save_figure
from gankit.lessons.common import image_grid, lesson_data, scratch_trainer
from gankit.run.files import atomic_write

RUNS = {
    "healthy (the preset)": [],
    "unhealthy (lr_d x10, lr_g /10)": ["optim.lr_d=2.0e-3", "optim.lr_g=2.0e-5"],
}
STATS = ("d_loss", "g_loss", "d_real", "d_fake")


def train_and_record(overrides: list[str], options: LessonOptions, steps: int, log_every: int, frame_every: int) -> dict:
    """Train mnist_mlp with ``overrides``: logged statistics (means over each ``log_every`` steps) and grid frames."""
    base = [f"data.name={lesson_data(options.tiny)}", f"train.seed={options.seed}"]
    with scratch_trainer("mnist_mlp", base + overrides) as trainer:
        z = torch.randn(36, trainer.cfg.model.latent_dim, generator=torch.Generator().manual_seed(options.seed + 3))
        history = {name: [] for name in ("step", *STATS)}
        window = {name: [] for name in STATS}
        frames = []
        for step in range(steps + 1):
            if step % frame_every == 0:
                with torch.no_grad():
                    frames.append((step, trainer.generator(z)))
            if step == steps:
                break
            real, labels = trainer.next_batch()
            stats = trainer.train_step(real, labels, with_stats=True)
            trainer.step += 1
            for name in STATS:
                window[name].append(stats[name])
            if trainer.step % log_every == 0:
                history["step"].append(trainer.step)
                for name in STATS:
                    history[name].append(sum(window[name]) / len(window[name]))
                    window[name].clear()
    return {"history": history, "frames": frames}


def write_gif(runs: dict[str, dict], path) -> int:
    """One GIF: per frame, the grids of every run side by side, captioned with the step. Returns the frame count."""
    from PIL import Image, ImageDraw

    frames = []
    names = list(runs)
    for index in range(len(runs[names[0]]["frames"])):
        panels = []
        for name in names:
            step, images = runs[name]["frames"][index]
            grid = (image_grid(images, 6).numpy() * 255).round().astype("uint8")  # (H, W)
            panel = Image.new("L", (grid.shape[1], grid.shape[0] + 14), 255)
            panel.paste(Image.fromarray(grid), (0, 14))
            ImageDraw.Draw(panel).text((2, 1), f"{name.split(' (')[0]}, step {step}", fill=0)
            panels.append(panel)
        frame = Image.new("L", (sum(p.width for p in panels) + 8 * (len(panels) - 1), panels[0].height), 255)
        x = 0
        for panel in panels:
            frame.paste(panel, (x, 0))
            x += panel.width + 8
        frames.append(frame)
    buffer = io.BytesIO()
    frames[0].save(buffer, format="GIF", save_all=True, append_images=frames[1:], duration=250, loop=0)
    atomic_write(path, buffer.getvalue())
    return len(frames)


@register_lesson("mnist")
def mnist(options: LessonOptions) -> dict:
    """The reference GAN on MNIST: a GIF of its samples, its curves; a healthy and an unhealthy run side by side."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    steps, log_every, frame_every = options.size(1800, 8), options.size(50, 2), options.size(100, 4)
    runs = {name: train_and_record(extra, options, steps, log_every, frame_every) for name, extra in RUNS.items()}
    frames = write_gif(runs, options.out / "mnist-training.gif")

    figure, axes = plt.subplots(2, 2, figsize=(10, 5.6), sharex=True)
    for row, (name, run) in zip(axes, runs.items()):
        h = run["history"]
        row[0].plot(h["step"], h["d_loss"], label="D's loss")
        row[0].plot(h["step"], h["g_loss"], label="G's loss")
        row[0].set_title(f"{name}: losses", fontsize=9)
        row[1].plot(h["step"], h["d_real"], label="D(x), real")
        row[1].plot(h["step"], h["d_fake"], label="D(G(z)), fake")
        row[1].axhline(0.5, color="gray", ls=":", lw=1)
        row[1].set_ylim(0, 1)
        row[1].set_title(f"{name}: D's mean output", fontsize=9)
        for ax in row:
            ax.legend(fontsize=7)
    for ax in axes[1]:
        ax.set_xlabel(f"step (each point: the mean of {log_every} steps)")
    save_figure(figure, options.out / "mnist-curves.png")

    figure, axes = plt.subplots(1, 2, figsize=(8, 4.2))
    for ax, (name, run) in zip(axes, runs.items()):
        ax.imshow(image_grid(run["frames"][-1][1], 6), cmap="gray", vmin=0, vmax=1)
        ax.set_title(f"{name}, step {steps}", fontsize=9)
        ax.axis("off")
    save_figure(figure, options.out / "mnist-final.png")

    numbers: dict = {"steps": steps, "log_every": log_every, "frame_every": frame_every, "gif_frames": frames,
                     "data": lesson_data(options.tiny), "runs": {}}
    rows = []
    tail = max(1, len(runs[next(iter(runs))]["history"]["step"]) // 5)
    for name, run in runs.items():
        h = run["history"]
        last = {stat: sum(h[stat][-tail:]) / tail for stat in STATS}
        numbers["runs"][name] = {"overrides": RUNS[name], "history": h, "last_fifth": last}
        rows.append(f"| {name} | {last['d_loss']:.3f} | {last['g_loss']:.3f} | {last['d_real']:.3f} | {last['d_fake']:.3f} |")
    numbers["summary"] = "\n".join([
        "| run | D's loss | G's loss | mean D(x) | mean D(G(z)) |", "| --- | --- | --- | --- | --- |", *rows, "",
        f"Means over the last fifth of {steps} steps of the mnist_mlp preset on {numbers['data']}, seed {options.seed}.",
    ])
    return numbers
