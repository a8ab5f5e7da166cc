"""Lesson 4, vanishing gradients: G's saturating loss log(1 - D(G(z))) against the non-saturating -log D(G(z)).

Goodfellow et al., "Generative Adversarial Nets", NeurIPS 2014, Section 3: early in training D rejects G's samples
with high confidence and log(1 - D(G(z))) saturates; maximising log D(G(z)) instead gives the same fixed point with
much stronger gradients early on. On a logit l (D = sigmoid(l)) the two losses' derivatives are -D and -(1 - D):
the saturating one vanishes exactly when D(G(z)) -> 0. The lesson trains the reference preset with each loss from
the same start and measures, at probe steps, the gradient norm each loss sends into G's weights, and the samples.
"""

from __future__ import annotations

import copy

import torch

from gankit.lessons import LessonOptions, register_lesson, save_figure
from gankit.lessons.common import image_grid, lesson_data, scratch_trainer
from gankit.losses.adversarial import ns_loss_gen, saturating_loss_gen

LOSSES = {"saturating": saturating_loss_gen, "non_saturating": ns_loss_gen}


def logit_gradients(d_values: torch.Tensor) -> dict[str, torch.Tensor]:
    """|dL/dl| of each generator loss for one fake sample whose D(G(z)) is ``d_values`` (autograd on the loss)."""
    logits = torch.logit(d_values.double()).requires_grad_(True)
    out = {}
    for name, loss in LOSSES.items():
        (grad,) = torch.autograd.grad(loss(logits) * len(logits), logits)  # the mean's 1/B undone: per-sample derivatives
        out[name] = grad.abs()
    return out


def probe(trainer, z: torch.Tensor) -> dict[str, float]:
    """On noise z (B, L): mean D(G(z)) and the norm of the gradient each loss sends into G's weights (no update).

    D is put in eval mode (no dropout) for the probe, so both losses see the same scores.
    """
    generator, discriminator = trainer.generator, trainer.discriminator
    discriminator.eval()
    logits = discriminator(generator(z)).logits  # (B,)
    out = {"d_fake": float(torch.sigmoid(logits.detach()).mean())}
    for name, loss in LOSSES.items():
        grads = torch.autograd.grad(loss(logits), list(generator.parameters()), retain_graph=True)
        out[f"grad_norm_{name}"] = float(torch.linalg.vector_norm(torch.cat([g.flatten() for g in grads])))
    discriminator.train()
    discriminator.zero_grad(set_to_none=True)
    return out


def train_with(loss: str, options: LessonOptions, steps: int, probe_every: int, start: dict | None) -> dict:
    """Train the reference preset with G's ``loss`` for ``steps``; probes, per-step G gradient norms and samples."""
    overrides = [f"data.name={lesson_data(options.tiny)}", f"train.seed={options.seed}", f"loss.name={loss}"]
    with scratch_trainer("mnist_mlp", overrides) as trainer:
        if start is not None:  # the same starting weights for both losses
            trainer.generator.load_state_dict(start["generator"])
            trainer.discriminator.load_state_dict(start["discriminator"])
        weights = {"generator": copy.deepcopy(trainer.generator.state_dict()),
                   "discriminator": copy.deepcopy(trainer.discriminator.state_dict())}
        z_probe = torch.randn(256, trainer.cfg.model.latent_dim, generator=torch.Generator().manual_seed(options.seed + 7))
        probes, grad_norms, d_fake = [], [], []
        for step in range(steps + 1):
            if step % probe_every == 0:
                probes.append({"step": step, **probe(trainer, z_probe)})
            if step == steps:
                break
            real, labels = trainer.next_batch()
            stats = trainer.train_step(real, labels, with_stats=True)
            trainer.step += 1
            grad_norms.append(stats["grad_norm_g"])
            d_fake.append(stats["d_fake"])
        with torch.no_grad():
            samples = trainer.generator(z_probe[:36])
    return {"start": weights, "probes": probes, "grad_norm_g": grad_norms, "d_fake": d_fake, "samples": samples}


@register_lesson("vanishing-gradients")
def vanishing_gradients(options: LessonOptions) -> dict:
    """The gradient norm reaching G under each loss, early in training, and the samples each produces."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    steps, probe_every = options.size(1500, 12), options.size(25, 4)
    runs: dict[str, dict] = {}
    start = None
    for loss in ("non_saturating", "saturating"):
        runs[loss] = train_with(loss, options, steps, probe_every, start)
        start = runs[loss]["start"]

    colours = {"saturating": "tab:red", "non_saturating": "tab:blue"}
    labels = {"saturating": "saturating: log(1 - D(G(z)))", "non_saturating": "non-saturating: -log D(G(z))"}
    d_axis = torch.linspace(0.001, 0.999, 400)
    derivative = logit_gradients(d_axis)

    figure, axes = plt.subplots(1, 3, figsize=(13, 3.4))
    for name in LOSSES:
        axes[0].plot(d_axis, derivative[name], color=colours[name], label=labels[name])
    axes[0].set_xlabel("D(G(z)) of a fake sample")
    axes[0].set_ylabel("|dL/d logit|")
    axes[0].set_title("what each loss asks of one sample", fontsize=9)
    axes[0].legend(fontsize=7)
    for loss, run in runs.items():
        steps_axis = [p["step"] for p in run["probes"]]
        axes[1].plot(steps_axis, [p[f"grad_norm_{loss}"] for p in run["probes"]], color=colours[loss], label=f"trained with {loss}")
        axes[2].plot(steps_axis, [p["d_fake"] for p in run["probes"]], color=colours[loss], label=f"trained with {loss}")
    axes[1].set_yscale("log")
    axes[1].set_title("norm of the gradient reaching G (its own loss)", fontsize=9)
    axes[2].set_title("mean D(G(z)) on 256 fixed noise vectors", fontsize=9)
    for ax in axes[1:]:
        ax.set_xlabel("training step")
        ax.legend(fontsize=7)
    save_figure(figure, options.out / "vanishing-gradients-norms.png")

    figure, axes = plt.subplots(1, 2, figsize=(8, 4.2))
    for ax, (loss, run) in zip(axes, runs.items()):
        ax.imshow(image_grid(run["samples"], 6), cmap="gray", vmin=0, vmax=1)
        ax.set_title(f"{labels[loss]}\nafter {steps} steps", fontsize=9)
        ax.axis("off")
    save_figure(figure, options.out / "vanishing-gradients-samples.png")

    # The probe where D rejects the saturating run's fakes most confidently, and both losses' gradients there.
    summary_rows, numbers = [], {}
    for loss, run in runs.items():
        low = min(run["probes"], key=lambda p: p["d_fake"])
        first = run["probes"][0]
        final = run["probes"][-1]
        numbers[loss] = {"probes": run["probes"], "lowest_d_fake_probe": low, "final_probe": final,
                         "mean_grad_norm_g": sum(run["grad_norm_g"]) / len(run["grad_norm_g"])}
        summary_rows.append(
            f"| {loss} | {first['grad_norm_' + loss]:.3g} | {low['step']} | {low['d_fake']:.3f} | {low['grad_norm_saturating']:.3g} | "
            f"{low['grad_norm_non_saturating']:.3g} | {final['d_fake']:.3f} |")
    summary = "\n".join([
        "| G trained with | gradient norm into G at step 0 | step of lowest D(G(z)) | lowest D(G(z)) | "
        "saturating loss's gradient norm there | non-saturating loss's gradient norm there | D(G(z)) at the end |",
        "| --- | --- | --- | --- | --- | --- | --- |", *summary_rows,
        "", f"{steps} steps of the mnist_mlp preset on {lesson_data(options.tiny)} from the same starting weights; probes every "
        f"{probe_every} steps on 256 fixed noise vectors, D without dropout.",
    ])
    return {"summary": summary, "steps": steps, "probe_every": probe_every, "runs": numbers,
            "logit_gradient_at": {f"{d:.2f}": {k: float(v[0]) for k, v in logit_gradients(torch.tensor([d], dtype=torch.float64)).items()}
                                  for d in (0.01, 0.1, 0.5, 0.9)}}
