"""The Lab: a 2D GAN trained live, in memory, one step at a time, and the frames that show it.

A small trainer for the toy game GAN Lab shows (Kahng et al., "GAN Lab: Understanding Complex Deep
Generative Models using Interactive Visual Experimentation", IEEE VIS 2018): the ``mlp2d`` pair of
:mod:`gankit.models.mlp2d`, the adversarial losses of :mod:`gankit.losses`, R1 from
:mod:`gankit.losses.regularizers` and the generator EMA of :mod:`gankit.training.ema`, on points
held as tensors (a ring or grid of :mod:`gankit.data.toy2d`, or points the user draws). Unlike
:class:`gankit.training.trainer.Trainer` it writes nothing to disk, every setting can change
between two steps, and each :meth:`LabTrainer.frame` returns what the page draws: the real and
fake points, D's output over the plane, G's gradient at each fake point, the losses, and the modes
covered (:func:`gankit.metrics.modes.score_mixture`).

The stabilisers, each switchable:

* PacGAN (Lin et al. 2018): D judges packs of 2 samples.
* R1 (Mescheder et al. 2018): ``gamma / 2 * E||grad D(x)||^2`` on real points, lazily every 4 steps.
* EMA of G (Karras et al. 2020; Yazici et al. 2019): the fake points shown and scored are the average's.
* TTUR (Heusel et al., "GANs Trained by a Two Time-Scale Update Rule", NeurIPS 2017): D learns
  ``ttur_ratio`` times faster than G (``lr_d = ttur_ratio * lr_g``).
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, fields, replace
from typing import Any

import torch
from torch import nn

from gankit.data.toy2d import MIXTURES, GaussianMixture2D
from gankit.errors import ConfigError
from gankit.losses import LOSSES, create_loss
from gankit.losses.regularizers import r1_penalty
from gankit.metrics.modes import score_mixture
from gankit.models import create_model
from gankit.training.ema import GeneratorEMA

LAB_LOSSES = ("saturating", "non_saturating", "hinge")
DATASETS = ("ring", "grid", "drawn")
R1_EVERY = 4
MAX_DRAWN_POINTS = 5_000
SCORE_SAMPLES = 2_500
"""Samples scored for the modes covered (the VEEGAN/PacGAN protocol's count, :data:`gankit.metrics.modes.MIXTURE_SAMPLES`)."""


@dataclass(frozen=True)
class LabSettings:
    """Everything the Lab's controls set. Fields marked *rebuild* start training again when changed.

    Attributes:
        dataset: ``ring`` (8 Gaussians), ``grid`` (25) or ``drawn`` (the user's points); *rebuild*.
        loss: ``saturating``, ``non_saturating`` or ``hinge`` (:mod:`gankit.losses.adversarial`).
        pacgan: D judges packs of 2 samples (Lin et al. 2018); *rebuild*.
        r1_gamma: R1 weight gamma; 0 is off.
        ema: show and score the EMA of G's weights.
        ema_half_life_kimg: the EMA's half-life in thousands of points.
        ttur: ``lr_d = ttur_ratio * lr_g`` (Heusel et al. 2017) instead of ``lr_d``.
        ttur_ratio: D's learning rate over G's under TTUR.
        lr_g, lr_d: Adam learning rates (beta1 0.5, beta2 0.999).
        batch_size: points per step, a multiple of 2 (PacGAN's pack).
        hidden: width of the 3 hidden layers of G and of D; *rebuild*.
        latent_dim: z's size; *rebuild*.
        steps_per_frame: training steps between two frames while playing.
        heatmap_size: the heat map is this many cells a side.
        seed: seeds the weights, the noise and the data; *rebuild*.
    """

    dataset: str = "ring"
    loss: str = "non_saturating"
    pacgan: bool = False
    r1_gamma: float = 0.0
    ema: bool = False
    ema_half_life_kimg: float = 10.0
    ttur: bool = False
    ttur_ratio: float = 4.0
    lr_g: float = 1e-3
    lr_d: float = 1e-3
    batch_size: int = 128
    hidden: int = 64
    latent_dim: int = 8
    steps_per_frame: int = 10
    heatmap_size: int = 40
    seed: int = 0

    REBUILD = ("dataset", "pacgan", "hidden", "latent_dim", "seed")

    def check(self) -> LabSettings:
        """Return self, or raise :class:`ConfigError` naming the bad value and what is allowed."""
        if self.dataset not in DATASETS:
            raise ConfigError(f"lab dataset {self.dataset!r}: choose one of {', '.join(DATASETS)}")
        if self.loss not in LAB_LOSSES or self.loss not in LOSSES:
            raise ConfigError(f"lab loss {self.loss!r}: choose one of {', '.join(LAB_LOSSES)}")
        ranges = {
            "r1_gamma": (0.0, 100.0), "ema_half_life_kimg": (0.01, 1000.0), "ttur_ratio": (1.0, 100.0),
            "lr_g": (1e-6, 0.1), "lr_d": (1e-6, 0.1), "batch_size": (2, 4096), "hidden": (4, 1024),
            "latent_dim": (1, 256), "steps_per_frame": (1, 10_000), "heatmap_size": (4, 200), "seed": (0, 2**31 - 1),
        }
        for name, (low, high) in ranges.items():
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not low <= value <= high:
                raise ConfigError(f"lab {name}: {value!r} is outside {low:g}..{high:g}")
        if self.batch_size % 2:
            raise ConfigError(f"lab batch_size: {self.batch_size} must be even (PacGAN packs 2 points)")
        return self

    @property
    def pack(self) -> int:
        return 2 if self.pacgan else 1

    @property
    def d_learning_rate(self) -> float:
        return self.ttur_ratio * self.lr_g if self.ttur else self.lr_d

    def updated(self, changes: dict[str, Any]) -> LabSettings:
        """A copy with ``changes`` applied, each converted to its field's type and checked."""
        types = {f.name: f.type for f in fields(self)}
        clean = {}
        for name, value in changes.items():
            if name not in types:
                raise ConfigError(f"lab setting {name!r} does not exist; choose from {', '.join(types)}")
            kind = {"str": str, "bool": bool, "int": int, "float": float}[types[name]]
            if kind is bool and not isinstance(value, bool):
                raise ConfigError(f"lab {name}: {value!r} is not true or false")
            try:
                clean[name] = kind(value) if kind is not bool else value
            except (TypeError, ValueError):
                raise ConfigError(f"lab {name}: {value!r} is not a {types[name]}") from None
            if kind is int and clean[name] != value:
                raise ConfigError(f"lab {name}: {value!r} is not a whole number")
            if kind is float and not math.isfinite(clean[name]):
                raise ConfigError(f"lab {name}: {value!r} is not a finite number")
        return replace(self, **clean).check()

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


# The settings that show mode collapse, and the ones that prevent it (measured by benchmarks/studio_lab.py).
# Plain: the original minimax loss, no stabiliser, D learning 10x slower than G, so G chases whichever
# region D rates real and its points gather there. Stabilised: the non-saturating loss, PacGAN, R1, EMA, and
# TTUR, which turns the imbalance round (D 4x faster than G).
PRESETS: dict[str, dict[str, Any]] = {
    "plain": {"loss": "saturating", "pacgan": False, "r1_gamma": 0.0, "ema": False, "ttur": False,
              "lr_g": 1e-3, "lr_d": 1e-4},
    "stabilised": {"loss": "non_saturating", "pacgan": True, "r1_gamma": 0.1, "ema": True, "ttur": True, "ttur_ratio": 4.0,
                   "lr_g": 1e-3, "lr_d": 1e-4},
}


def drawn_mixture(points: torch.Tensor) -> torch.Tensor:
    """The user's points (N, 2) checked: finite, inside [-10, 10]^2, at least 2 and at most MAX_DRAWN_POINTS."""
    if points.ndim != 2 or points.shape[1] != 2:
        raise ConfigError(f"drawn points: expected a list of [x, y] pairs, got shape {tuple(points.shape)}")
    if not 2 <= len(points) <= MAX_DRAWN_POINTS:
        raise ConfigError(f"drawn points: {len(points)} points; draw between 2 and {MAX_DRAWN_POINTS}")
    if not torch.isfinite(points).all() or points.abs().max() > 10:
        raise ConfigError("drawn points: every coordinate must be a finite number in [-10, 10]")
    return points.float()


class LabTrainer:
    """A GAN on 2D points, steppable one D or G update at a time.

    Args:
        settings: the Lab's settings (checked).
        drawn: (N, 2) points for ``dataset = "drawn"`` (a small ring when None).
    """

    def __init__(self, settings: LabSettings | None = None, drawn: torch.Tensor | None = None) -> None:
        self.settings = (settings or LabSettings()).check()
        self.drawn = drawn_mixture(drawn) if drawn is not None else None
        self.reset()

    # ------------------------------------------------------------------ setup
    def reset(self) -> None:
        """Fresh weights, optimisers and counters from ``settings.seed``."""
        s = self.settings
        self.rng = torch.Generator().manual_seed(s.seed)
        self.mixture: GaussianMixture2D | None = MIXTURES.get(s.dataset)
        if self.mixture is not None:
            self.real_pool = self.mixture.sample(20_000, s.seed)[0]  # (P, 2)
        else:
            self.real_pool = self.drawn if self.drawn is not None else drawn_mixture(0.8 * _circle(64))
        self.extent = _extent(self.real_pool)
        hidden = [s.hidden] * 3
        with torch.random.fork_rng(devices=[]):  # seeded weights, without touching the process's global RNG
            torch.manual_seed(s.seed)
            pair = create_model("mlp2d", (2,), s.latent_dim, 0, g_hidden=hidden, d_hidden=hidden, pack=s.pack)
        self.generator, self.discriminator = pair.generator, pair.discriminator
        self.opt_g = torch.optim.Adam(self.generator.parameters(), lr=s.lr_g, betas=(0.5, 0.999))
        self.opt_d = torch.optim.Adam(self.discriminator.parameters(), lr=s.d_learning_rate, betas=(0.5, 0.999))
        self.ema = None
        self.step_count = self.d_steps = self.g_steps = 0
        self.images_seen = 0
        self.history: list[dict[str, float]] = []
        self.last = {"d_loss": float("nan"), "g_loss": float("nan")}
        self.frame_z = torch.randn(256, s.latent_dim, generator=torch.Generator().manual_seed(s.seed + 1))
        self.score_z = torch.randn(SCORE_SAMPLES, s.latent_dim, generator=torch.Generator().manual_seed(s.seed + 2))
        self._sync_ema()

    def apply(self, settings: LabSettings, drawn: torch.Tensor | None = None) -> bool:
        """Take new settings; returns True when they needed a rebuild (training started again)."""
        settings = settings.check()
        rebuild = drawn is not None or any(getattr(settings, k) != getattr(self.settings, k) for k in LabSettings.REBUILD)
        self.settings = settings
        if drawn is not None:
            self.drawn = drawn_mixture(drawn)
        if rebuild:
            self.reset()
            return True
        for group in self.opt_g.param_groups:
            group["lr"] = settings.lr_g
        for group in self.opt_d.param_groups:
            group["lr"] = settings.d_learning_rate
        self._sync_ema()
        return False

    def _sync_ema(self) -> None:
        if self.settings.ema and self.ema is None:
            self.ema = GeneratorEMA(self.generator, self.settings.ema_half_life_kimg)
        elif not self.settings.ema:
            self.ema = None
        if self.ema is not None:
            self.ema.half_life_kimg = self.settings.ema_half_life_kimg

    @property
    def loss(self):
        return create_loss(self.settings.loss)

    def _real_batch(self) -> torch.Tensor:
        index = torch.randint(len(self.real_pool), (self.settings.batch_size,), generator=self.rng)
        return self.real_pool[index]  # (B, 2)

    def _noise(self, num: int) -> torch.Tensor:
        return torch.randn(num, self.settings.latent_dim, generator=self.rng)  # (B, latent)

    # ---------------------------------------------------------------- steps
    def d_step(self) -> float:
        """One discriminator update; returns its adversarial loss."""
        s = self.settings
        real = self._real_batch()
        with torch.no_grad():
            fake = self.generator(self._noise(s.batch_size))  # (B, 2)
        lazy_r1 = s.r1_gamma > 0 and self.d_steps % R1_EVERY == 0
        real.requires_grad_(lazy_r1)
        real_logits = self.discriminator(real).logits  # (B / pack,)
        fake_logits = self.discriminator(fake).logits
        loss = self.loss.discriminator(real_logits, fake_logits)
        total = loss
        if lazy_r1:  # Karras et al. 2020, Sec. 3.1: gamma / 2 x the penalty, x the interval
            total = total + (s.r1_gamma / 2) * r1_penalty(real_logits, real) * R1_EVERY
        self.opt_d.zero_grad(set_to_none=True)
        total.backward()
        self.opt_d.step()
        self.d_steps += 1
        self.last["d_loss"] = loss.item()
        return self.last["d_loss"]

    def g_step(self) -> float:
        """One generator update (then the EMA's); returns its loss."""
        s = self.settings
        fake = self.generator(self._noise(s.batch_size))
        loss = self.loss.generator(self.discriminator(fake).logits)
        self.opt_g.zero_grad(set_to_none=True)
        loss.backward()
        self.opt_g.step()
        if self.ema is not None:
            self.ema.update(self.generator, self.images_seen, s.batch_size)
        self.images_seen += s.batch_size
        self.g_steps += 1
        self.last["g_loss"] = loss.item()
        return self.last["g_loss"]

    def train_step(self) -> None:
        """One D update, then one G update."""
        self.d_step()
        self.g_step()
        self.step_count += 1

    # ---------------------------------------------------------------- frames
    @property
    def shown_generator(self) -> nn.Module:
        """The generator whose points the page draws and the modes count: the EMA's when it is on."""
        return self.ema.module if self.ema is not None else self.generator

    @torch.no_grad()
    def modes(self) -> dict[str, Any] | None:
        """:func:`score_mixture` of SCORE_SAMPLES points of the shown G; None for drawn points."""
        if self.mixture is None:
            return None
        score = score_mixture(self.shown_generator(self.score_z), self.mixture)
        return {"covered": score.modes, "total": score.num_modes, "high_quality": score.high_quality}

    def frame(self) -> dict[str, Any]:
        """What the page draws, as JSON-ready lists.

        Returns:
            step, d_steps, g_steps; fake (256, 2) points of the shown G; arrows (256, 2): minus the
            gradient of G's loss at each fake point, the way G moves it; heatmap (S, S) rows from
            the top, D's output squashed to (0, 1) (sigmoid of the logit; for the hinge loss the same
            sigmoid of D's score); extent [xmin, xmax, ymin, ymax]; d_loss, g_loss; modes.
        """
        s = self.settings
        fake = self.shown_generator(self.frame_z).detach()  # (256, 2)
        points = fake.clone().requires_grad_(True)
        g_loss = self.loss.generator(self.discriminator(points).logits)
        (grad,) = torch.autograd.grad(g_loss, points)
        arrows = -grad * len(points)  # per-point gradient of the mean loss -> of the point's own loss
        with torch.no_grad():
            heat = torch.sigmoid(self._decision_surface(fake)).reshape(s.heatmap_size, s.heatmap_size)
        modes = self.modes()
        record = {"step": self.step_count, "d_loss": _finite(self.last["d_loss"]), "g_loss": _finite(self.last["g_loss"])}
        if modes is not None:
            record["modes"] = modes["covered"]
        self.history.append(record)
        del self.history[:-2000]
        return {
            "step": self.step_count, "d_steps": self.d_steps, "g_steps": self.g_steps,
            "fake": _round(fake), "arrows": _round(arrows), "heatmap": _round(heat, 3),
            "extent": self.extent, "d_loss": _finite(self.last["d_loss"]), "g_loss": _finite(self.last["g_loss"]),
            "modes": modes, "settings": s.to_dict(),
        }

    def real_points(self, num: int = 512) -> list[list[float]]:
        """The first ``num`` real points (N, 2), drawn once per dataset."""
        return _round(self.real_pool[:num])

    def _decision_surface(self, partners: torch.Tensor) -> torch.Tensor:
        """D's logit at every heat-map cell centre, (S * S,), rows from the top.

        A PacGAN D judges 2 points at once: a cell's score is then the mean logit of the packs
        (cell, partner) over 2 partners drawn from the fake points, as :func:`gankit.sampling.select_by_discriminator`
        scores one sample of a pack.
        """
        s = self.settings
        xmin, xmax, ymin, ymax = self.extent
        step_x, step_y = (xmax - xmin) / s.heatmap_size, (ymax - ymin) / s.heatmap_size
        xs = xmin + step_x * (torch.arange(s.heatmap_size) + 0.5)
        ys = ymax - step_y * (torch.arange(s.heatmap_size) + 0.5)
        gy, gx = torch.meshgrid(ys, xs, indexing="ij")
        cells = torch.stack([gx.reshape(-1), gy.reshape(-1)], dim=1)  # (S * S, 2)
        if s.pack == 1:
            return self.discriminator(cells).logits
        total = torch.zeros(len(cells))
        for r in range(2):
            partner = partners[torch.arange(len(cells)) % len(partners)].roll(r * 7, 0)  # (S * S, 2)
            pair = torch.stack([cells, partner] if r == 0 else [partner, cells], dim=1)  # (S * S, 2, 2)
            total += self.discriminator(pair.reshape(-1, 2)).logits
        return total / 2


def _circle(num: int) -> torch.Tensor:
    angles = torch.arange(num) * (2 * math.pi / num)
    return torch.stack([torch.cos(angles), torch.sin(angles)], dim=1)


def _extent(points: torch.Tensor) -> list[float]:
    """A square view [xmin, xmax, ymin, ymax] around ``points`` with a margin of a quarter of their span."""
    low, high = points.min(dim=0).values, points.max(dim=0).values
    centre, half = (low + high) / 2, float((high - low).max()) / 2
    half = max(half * 1.5, 0.5)
    return [round(float(centre[0]) - half, 4), round(float(centre[0]) + half, 4),
            round(float(centre[1]) - half, 4), round(float(centre[1]) + half, 4)]


def _round(tensor: torch.Tensor, digits: int = 4) -> list:
    return torch.nan_to_num(tensor.detach().float(), nan=0.0, posinf=0.0, neginf=0.0).round(decimals=digits).tolist()


def _finite(value: float) -> float | None:
    return value if math.isfinite(value) else None
