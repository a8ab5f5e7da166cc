"""Samples in the form the datasets hold them, for the metrics: :func:`gankit.sampling.draw_samples`."""

from gankit.sampling import draw_samples

__all__ = ["draw_samples"]
