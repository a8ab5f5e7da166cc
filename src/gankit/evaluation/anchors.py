"""Published mode-collapse results, printed beside gankit's figures by ``gankit bench modes``.

Each row is as the paper printed it (means over the paper's runs). Sources:

* VEEGAN: Srivastava et al., NeurIPS 2017, Table 1 (ring, grid: modes, % high quality)
  and Table 2 (Stacked MNIST: modes, KL).
* PacGAN: Lin et al., NeurIPS 2018, Table 1 (grid: modes, % high quality, reverse KL)
  and Table 2 (Stacked MNIST: modes, KL).

Note the papers' setups differ from gankit's in details (VEEGAN's ring has radius 2
and std 0.02 where gankit's, like PacGAN's code, scores a radius-1 ring),
so the anchors are a yardstick, not a replication.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Anchor:
    benchmark: str  # "ring", "grid" or "stacked-mnist"
    method: str
    modes: float
    high_quality: float | None  # share in [0, 1]
    reverse_kl: float | None
    source: str


ANCHORS: tuple[Anchor, ...] = (
    # VEEGAN Table 1
    Anchor("ring", "GAN", 1.0, 0.993, None, "VEEGAN T1"),
    Anchor("ring", "ALI", 2.8, 0.0013, None, "VEEGAN T1"),
    Anchor("ring", "Unrolled GAN", 7.6, 0.356, None, "VEEGAN T1"),
    Anchor("ring", "VEEGAN", 8.0, 0.529, None, "VEEGAN T1"),
    Anchor("grid", "GAN", 3.3, 0.005, None, "VEEGAN T1"),
    Anchor("grid", "ALI", 15.8, 0.016, None, "VEEGAN T1"),
    Anchor("grid", "Unrolled GAN", 23.6, 0.16, None, "VEEGAN T1"),
    Anchor("grid", "VEEGAN", 24.6, 0.40, None, "VEEGAN T1"),
    # PacGAN Table 1
    Anchor("grid", "GAN", 17.3, 0.948, 0.70, "PacGAN T1"),
    Anchor("grid", "PacGAN2", 23.8, 0.913, 0.13, "PacGAN T1"),
    Anchor("grid", "PacGAN3", 24.6, 0.942, 0.06, "PacGAN T1"),
    Anchor("grid", "PacGAN4", 24.8, 0.936, 0.04, "PacGAN T1"),
    # VEEGAN Table 2 (also quoted in PacGAN Table 2)
    Anchor("stacked-mnist", "DCGAN", 99.0, None, 3.40, "VEEGAN T2"),
    Anchor("stacked-mnist", "ALI", 16.0, None, 5.40, "VEEGAN T2"),
    Anchor("stacked-mnist", "Unrolled GAN", 48.7, None, 4.32, "VEEGAN T2"),
    Anchor("stacked-mnist", "VEEGAN", 150.0, None, 2.95, "VEEGAN T2"),
    # PacGAN Table 2
    Anchor("stacked-mnist", "PacDCGAN2", 1000.0, None, 0.06, "PacGAN T2"),
    Anchor("stacked-mnist", "PacDCGAN3", 1000.0, None, 0.06, "PacGAN T2"),
    Anchor("stacked-mnist", "PacDCGAN4", 1000.0, None, 0.07, "PacGAN T2"),
)


def anchors_for(benchmark: str) -> list[Anchor]:
    return [a for a in ANCHORS if a.benchmark == benchmark]
