"""Lesson 2, the loop: docs/lessons/loop.py (seven steps) against gankit's trainer, and Algorithm 1's second noise batch.

Goodfellow et al., "Generative Adversarial Nets", NeurIPS 2014, Algorithm 1 (k = 1). The reference preset
``mnist_mlp`` is trained for N steps by gankit's :class:`~gankit.training.trainer.Trainer`; the seven-step loop of
``docs/lessons/loop.py`` is run from the same starting weights on the same batches, noise and random state, and its
losses are compared bit for bit. A third run draws a second noise batch for G's update, as Algorithm 1 does.
"""

from __future__ import annotations

import copy

import torch

from gankit.lessons import LessonOptions, register_lesson, save_figure
from gankit.lessons.common import image_grid, lesson_data, reference_loop, scratch_trainer


def trainer_run(trainer, steps: int) -> tuple[torch.Tensor, list[torch.Tensor], list[torch.Tensor]]:
    """``steps`` trainer steps: their (steps, 2) float32 (D, G) losses, and each step's real indices and noise z."""
    losses, indices, noises = [], [], []
    batch = trainer.cfg.train.batch_size
    for _ in range(steps):
        indices.append(trainer.sampler.indices(trainer.step))
        real, labels = trainer.next_batch()
        state = trainer.noise.get_state()
        stats = trainer.train_step(real, labels, with_stats=True)
        after = trainer.noise.get_state()
        trainer.noise.set_state(state)
        noises.append(trainer.sample_noise(batch)[0])  # the z this step drew, drawn again
        assert torch.equal(trainer.noise.get_state(), after), "a step drew more than one noise batch"
        losses.append((stats["d_loss"], stats["g_loss"]))
        trainer.step += 1
    return torch.tensor(losses, dtype=torch.float32), indices, noises


def loop_run(loop, generator, discriminator, dataset, indices, noises, rng_state: torch.Tensor,
             second_noise: torch.Generator | None = None) -> torch.Tensor:
    """loop.py's steps from the given weights and global random state: (steps, 2) float32 (D, G) losses."""
    torch.set_rng_state(rng_state)  # dropout draws its masks from the global generator
    opt_g, opt_d = loop.make_optimizers(generator, discriminator)
    losses = []
    for idx, z in zip(indices, noises):
        z_g = None if second_noise is None else torch.randn(z.shape, generator=second_noise)
        d_loss, g_loss = loop.train_step(generator, discriminator, opt_g, opt_d, dataset.batch(idx), z, z_g)
        losses.append(torch.stack([d_loss, g_loss]))
    return torch.stack(losses)


@register_lesson("the-loop")
def the_loop(options: LessonOptions) -> dict:
    """gankit's trainer and the seven-step loop give the same losses; Algorithm 1's second noise batch does not."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    loop = reference_loop()
    steps = options.size(1500, 20)
    overrides = [f"data.name={lesson_data(options.tiny)}", f"train.seed={options.seed}"]
    with scratch_trainer("mnist_mlp", overrides) as trainer:
        start_g, start_d = copy.deepcopy(trainer.generator), copy.deepcopy(trainer.discriminator)
        rng_state = torch.get_rng_state()
        trainer_losses, indices, noises = trainer_run(trainer, steps)
        dataset, trained_g = trainer.dataset, trainer.generator
        runs = {}
        for name, second in (("loop", None), ("second_noise", torch.Generator().manual_seed(options.seed + 1))):
            generator, discriminator = copy.deepcopy(start_g), copy.deepcopy(start_d)
            runs[name] = (loop_run(loop, generator, discriminator, dataset, indices, noises, rng_state, second), generator)
        loop_losses, loop_g = runs["loop"]
        same_weights = all(torch.equal(a, b) for a, b in zip(trained_g.state_dict().values(), loop_g.state_dict().values()))
        z_show = torch.randn(64, trainer.cfg.model.latent_dim, generator=torch.Generator().manual_seed(options.seed + 2))
        with torch.no_grad():
            grids = {name: g.eval()(z_show) for name, g in (("gankit Trainer", trained_g), ("loop.py", loop_g),
                                                             ("loop.py, second noise batch", runs["second_noise"][1]))}

    window = max(1, steps // 50)

    def smooth(values: torch.Tensor) -> torch.Tensor:
        return values.unfold(0, window, window).mean(1) if len(values) >= window else values

    figure, axes = plt.subplots(1, 2, figsize=(10, 3.2))
    x = torch.arange(len(smooth(trainer_losses[:, 0]))) * window + window
    for ax, column, what in zip(axes, (0, 1), ("D's loss", "G's loss")):
        ax.plot(x, smooth(trainer_losses[:, column]), color="tab:blue", lw=5, alpha=0.35, label="gankit Trainer")
        ax.plot(x, smooth(loop_losses[:, column]), color="black", lw=1, ls="--", label="loop.py (same fake batch)")
        ax.plot(x, smooth(runs["second_noise"][0][:, column]), color="tab:orange", lw=1, label="loop.py, second noise batch for G")
        ax.set_title(f"{what} (mean of every {window} steps)", fontsize=9)
        ax.set_xlabel("step")
    axes[0].legend(fontsize=7)
    save_figure(figure, options.out / "the-loop-losses.png")

    figure, axes = plt.subplots(1, 3, figsize=(10, 3.6))
    for ax, (name, images) in zip(axes, grids.items()):
        ax.imshow(image_grid(images, 8), cmap="gray", vmin=0, vmax=1)
        ax.set_title(f"{name}, step {steps}", fontsize=9)
        ax.axis("off")
    save_figure(figure, options.out / "the-loop-samples.png")

    identical = torch.equal(trainer_losses, loop_losses)
    difference = float((trainer_losses - loop_losses).abs().max())
    second = runs["second_noise"][0]
    tail = max(1, steps // 5)
    summary = "\n".join([
        "| run | losses equal to the Trainer's | mean D loss, last {0} steps | mean G loss, last {0} steps |".format(tail),
        "| --- | --- | --- | --- |",
        f"| gankit Trainer | - | {trainer_losses[-tail:, 0].mean():.3f} | {trainer_losses[-tail:, 1].mean():.3f} |",
        f"| loop.py | {'all' if identical else 'not all'} {steps} steps, bit for bit (largest difference {difference:g}) | "
        f"{loop_losses[-tail:, 0].mean():.3f} | {loop_losses[-tail:, 1].mean():.3f} |",
        f"| loop.py, second noise batch | {int((second == trainer_losses).all(1).sum())} of {steps} steps | "
        f"{second[-tail:, 0].mean():.3f} | {second[-tail:, 1].mean():.3f} |",
        "", f"Generator weights after {steps} steps equal to the Trainer's: {'yes' if same_weights else 'no'} (loop.py); "
        f"data: {dataset.name}, batch {len(noises[0])}, preset mnist_mlp, float32.",
    ])
    return {"summary": summary, "steps": steps, "identical_losses": identical, "max_abs_difference": difference,
            "identical_generator_weights": same_weights,
            "steps_equal_with_second_noise": int((second == trainer_losses).all(1).sum()),
            "trainer_losses_tail": trainer_losses[-tail:].mean(0).tolist(), "loop_losses_tail": loop_losses[-tail:].mean(0).tolist(),
            "second_noise_losses_tail": second[-tail:].mean(0).tolist()}
