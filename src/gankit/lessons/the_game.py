"""Lesson 1, the game: the optimal discriminator and the value of the game, on a 1D mixture.

Goodfellow et al., "Generative Adversarial Nets", NeurIPS 2014, Proposition 1 and Theorem 1: for a fixed G the
discriminator that maximises V(D, G) = E_data[log D(x)] + E_g[log(1 - D(x))] is D*(x) = p_data / (p_data + p_g),
and V(D*, G) = -log 4 + 2 JSD(p_data || p_g), which reaches its minimum -log 4 exactly when p_g = p_data.

The data is 0.5 N(-2, 0.5^2) + 0.5 N(2, 0.5^2); a fixed G draws 0.5 N(-2t, s^2) + 0.5 N(2t, s^2), s = 1 - t/2, for
t from 0 (one wide bump) to 1 (the data itself). For each t a D (an MLP on fresh samples every step) is trained to
convergence with gankit's discriminator loss; its curve is compared with D*, and its value with -log 4 + 2 JSD.
"""

from __future__ import annotations

import math

import torch
from torch import nn

from gankit.lessons import LessonOptions, register_lesson, save_figure
from gankit.losses.adversarial import bce_loss_dis

DATA_MEANS, DATA_STD = (-2.0, 2.0), 0.5
STAGES = (0.0, 0.5, 0.75, 0.9, 1.0)
"""How far G has moved towards the data: t = 0 one wide bump, t = 1 the data itself."""
SUPPORT = 0.01
"""D is compared with D* where p_data + p_g > SUPPORT: elsewhere no sample tells D anything."""


def generator_params(t: float) -> tuple[tuple[float, float], float]:
    """The means and the shared std of G's two equal-weight components at stage t."""
    return (DATA_MEANS[0] * t, DATA_MEANS[1] * t), 1.0 - 0.5 * t


def mixture_density(x: torch.Tensor, means: tuple[float, float], std: float) -> torch.Tensor:
    """The density of 0.5 N(means[0], std^2) + 0.5 N(means[1], std^2) at x (float64)."""
    norm = 1.0 / (std * math.sqrt(2 * math.pi))
    return sum(0.5 * norm * torch.exp(-0.5 * ((x - m) / std) ** 2) for m in means)


def mixture_sample(num: int, means: tuple[float, float], std: float, gen: torch.Generator) -> torch.Tensor:
    """(num, 1) float32 draws from the equal-weight two-component mixture."""
    component = torch.randint(2, (num,), generator=gen)
    centre = torch.tensor(means)[component]
    return (centre + std * torch.randn(num, generator=gen)).unsqueeze(1)


def jsd(p: torch.Tensor, q: torch.Tensor, x: torch.Tensor) -> float:
    """JSD(p || q) in nats of two densities tabulated on the uniform grid x, by the trapezoid rule."""
    m = 0.5 * (p + q)

    def kl(a: torch.Tensor) -> torch.Tensor:
        return torch.where(a > 0, a * (torch.log(a) - torch.log(m)), torch.zeros_like(a))

    return float(torch.trapezoid(0.5 * kl(p) + 0.5 * kl(q), x))


def train_discriminator(t: float, steps: int, batch: int, gen: torch.Generator) -> nn.Module:
    """A D (1 -> 64 -> 64 -> 1, LeakyReLU 0.2) trained against G at stage t on fresh samples every step."""
    discriminator = nn.Sequential(nn.Linear(1, 64), nn.LeakyReLU(0.2), nn.Linear(64, 64), nn.LeakyReLU(0.2), nn.Linear(64, 1))
    optimizer = torch.optim.Adam(discriminator.parameters(), lr=2e-3, betas=(0.5, 0.999))
    schedule = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, steps)
    g_means, g_std = generator_params(t)
    for _ in range(steps):
        real = mixture_sample(batch, DATA_MEANS, DATA_STD, gen)  # (B, 1)
        fake = mixture_sample(batch, g_means, g_std, gen)  # (B, 1)
        logits = discriminator(torch.cat([real, fake])).squeeze(1)  # (2B,)
        loss = bce_loss_dis(*logits.chunk(2))  # -V(D, G) / 2
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        schedule.step()
    return discriminator.eval()


def game_value(discriminator: nn.Module, t: float, num: int, gen: torch.Generator) -> float:
    """Monte Carlo V(D, G) = E_data[log D(x)] + E_g[log(1 - D(x))] on ``num`` fresh draws of each."""
    g_means, g_std = generator_params(t)
    with torch.no_grad():
        real_logits = discriminator(mixture_sample(num, DATA_MEANS, DATA_STD, gen)).squeeze(1).double()
        fake_logits = discriminator(mixture_sample(num, g_means, g_std, gen)).squeeze(1).double()
    # log D = log sigmoid(logit) = -softplus(-logit); log(1 - D) = -softplus(logit)
    return float(-nn.functional.softplus(-real_logits).mean() - nn.functional.softplus(fake_logits).mean())


@register_lesson("the-game")
def the_game(options: LessonOptions) -> dict:
    """D trained against a fixed G matches p_data / (p_data + p_g); its value is -log 4 + 2 JSD."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    torch.manual_seed(options.seed)
    gen = torch.Generator().manual_seed(options.seed)
    steps, batch, mc = options.size(3000, 300), options.size(512, 256), options.size(200_000, 20_000)
    x_fine = torch.linspace(-8, 8, 16001, dtype=torch.float64)  # for the integrals
    x_plot = torch.linspace(-4, 4, 161, dtype=torch.float64)  # where D is drawn and compared with D*
    p_data_fine, p_data_plot = mixture_density(x_fine, DATA_MEANS, DATA_STD), mixture_density(x_plot, DATA_MEANS, DATA_STD)

    stages, curves = [], []
    for t in STAGES:
        g_means, g_std = generator_params(t)
        discriminator = train_discriminator(t, steps, batch, gen)
        with torch.no_grad():
            d_trained = torch.sigmoid(discriminator(x_plot.float().unsqueeze(1)).squeeze(1)).double()  # (161,)
        p_g_plot = mixture_density(x_plot, g_means, g_std)
        d_star = p_data_plot / (p_data_plot + p_g_plot)
        inside = (p_data_plot + p_g_plot) > SUPPORT
        divergence = jsd(p_data_fine, mixture_density(x_fine, g_means, g_std), x_fine)
        error = (d_trained - d_star).abs()[inside]
        stages.append({
            "t": t, "g_means": list(g_means), "g_std": g_std, "jsd": divergence,
            "optimal_value": -math.log(4) + 2 * divergence,
            "trained_value": game_value(discriminator, t, mc, gen),
            "max_abs_error": float(error.max()), "mean_abs_error": float(error.mean()),
            "trained_d": [round(float(v), 5) for v in d_trained],
        })
        curves.append((p_g_plot, d_star, d_trained))

    figure, axes = plt.subplots(1, len(STAGES), figsize=(3.0 * len(STAGES), 2.8), sharey=True)
    for ax, stage, (p_g, d_star, d_trained) in zip(axes, stages, curves):
        ax.fill_between(x_plot, p_data_plot, color="tab:blue", alpha=0.25, label="p_data")
        ax.plot(x_plot, p_g, color="tab:orange", label="p_g")
        ax.plot(x_plot, d_star, "k--", lw=1.5, label="D* = p_data/(p_data+p_g)")
        ax.plot(x_plot, d_trained, color="tab:red", lw=1, label="trained D")
        ax.set_title(f"t = {stage['t']}: JSD {stage['jsd']:.3f}", fontsize=9)
        ax.set_ylim(0, 1.05)
        ax.set_xlabel("x")
    axes[0].legend(fontsize=7, loc="upper left")
    figure.suptitle("A discriminator trained against a fixed G lands on the optimal one", fontsize=10, y=1.04)
    save_figure(figure, options.out / "the-game-discriminator.png")

    figure, ax = plt.subplots(figsize=(4.8, 3.4))
    line = torch.linspace(0, math.log(2), 50)
    ax.plot(line, -math.log(4) + 2 * line, "k-", lw=1, label="-log 4 + 2 JSD (theory, D = D*)")
    ax.scatter([s["jsd"] for s in stages], [s["trained_value"] for s in stages], color="tab:red", zorder=3,
               label="V(D, G) with the trained D")
    for s in stages:
        ax.annotate(f"t={s['t']}", (s["jsd"], s["trained_value"]), textcoords="offset points",
                    xytext=(5, 6) if s["t"] == 1.0 else (5, -10), fontsize=7)
    ax.axhline(-math.log(4), color="gray", ls=":", label="-log 4: p_g = p_data")
    ax.set_xlabel("JSD(p_data || p_g) (nats)")
    ax.set_ylabel("value of the game V(D, G)")
    ax.legend(fontsize=7)
    save_figure(figure, options.out / "the-game-value.png")

    rows = [f"| {s['t']} | {s['jsd']:.4f} | {s['optimal_value']:.4f} | {s['trained_value']:.4f} | {s['mean_abs_error']:.3f} | "
            f"{s['max_abs_error']:.3f} |" for s in stages]
    summary = "\n".join([
        "| t | JSD(p_data, p_g) | -log 4 + 2 JSD | V(trained D, G) | mean abs(D - D*) | max abs(D - D*) |",
        "| --- | --- | --- | --- | --- | --- |", *rows,
        "", f"D trained {steps} steps of {batch} fresh real and {batch} fresh fake points; V estimated on {mc:,} draws "
        f"of each; D compared with D* where p_data + p_g > {SUPPORT}; -log 4 = {-math.log(4):.4f}.",
    ])
    return {"summary": summary, "steps": steps, "batch": batch, "monte_carlo_samples": mc, "support_threshold": SUPPORT,
            "data_means": list(DATA_MEANS), "data_std": DATA_STD, "grid": [round(float(v), 5) for v in x_plot],
            "stages": stages}
