"""k-nearest-neighbour radii and ball membership, in row chunks so memory stays O(chunk * N)."""

from __future__ import annotations

import torch

CHUNK = 1024


def kth_neighbour_distances(points: torch.Tensor, k: int, chunk: int = CHUNK) -> torch.Tensor:
    """Distance from every point to its k-th nearest *other* point of the same set.

    Args:
        points: (N, D) features.
        k: which neighbour (1 = the nearest other point).

    Returns:
        (N,) float64 radii.
    """
    n = len(points)
    if not 1 <= k < n:
        raise ValueError(f"k = {k} needs at least {k + 1} points, got {n}")
    x = points.double()
    radii = torch.empty(n, dtype=torch.float64)
    for start in range(0, n, chunk):
        d = torch.cdist(x[start:start + chunk], x)  # (chunk, N)
        # The smallest distance of each row is the point to itself (0); the k-th other is at index k.
        radii[start:start + chunk] = d.topk(k + 1, dim=1, largest=False).values[:, k]
    return radii


def ball_counts(queries: torch.Tensor, centres: torch.Tensor, radii: torch.Tensor, strict: bool = False, chunk: int = CHUNK) -> torch.Tensor:
    """For each query, how many balls ``B(centres[i], radii[i])`` contain it.

    Args:
        queries: (M, D); centres: (N, D); radii: (N,).
        strict: count ``d < r`` instead of ``d <= r``.

    Returns:
        (M,) int64 counts.
    """
    q, c, r = queries.double(), centres.double(), radii.double()
    counts = torch.empty(len(q), dtype=torch.long)
    for start in range(0, len(q), chunk):
        d = torch.cdist(q[start:start + chunk], c)  # (chunk, N)
        inside = d < r[None, :] if strict else d <= r[None, :]
        counts[start:start + chunk] = inside.sum(dim=1)
    return counts


def nearest_distances(queries: torch.Tensor, points: torch.Tensor, chunk: int = CHUNK) -> torch.Tensor:
    """(M,) distance from each query to its nearest point of ``points``."""
    q, p = queries.double(), points.double()
    out = torch.empty(len(q), dtype=torch.float64)
    for start in range(0, len(q), chunk):
        out[start:start + chunk] = torch.cdist(q[start:start + chunk], p).min(dim=1).values
    return out


def nearest_neighbours(queries: torch.Tensor, points: torch.Tensor, chunk: int = CHUNK) -> tuple[torch.Tensor, torch.Tensor]:
    """The nearest point of ``points`` to each query: its distance and its index.

    The search runs through float64 matrix products (``torch.cdist``'s fast path, whose
    rounding is about 1e-8 of the vectors' norms); the distance to the neighbour found is
    then recomputed directly, so an exact copy reads exactly 0. The one-line reference is
    ``(points - q).norm(dim=1).min()`` for each query ``q``.

    Args:
        queries: (M, D); points: (N, D).

    Returns:
        (M,) float64 distances and (M,) int64 indices into ``points``.
    """
    if len(points) == 0:
        raise ValueError("the nearest neighbour needs at least one point")
    q64, p64 = queries.double(), points.double()
    index = torch.empty(len(queries), dtype=torch.long)
    distances = torch.empty(len(queries), dtype=torch.float64)
    for start in range(0, len(queries), chunk):
        rows = slice(start, start + chunk)
        index[rows] = torch.cdist(q64[rows], p64).argmin(dim=1)  # (chunk, N) -> (chunk,)
        distances[rows] = (q64[rows] - p64[index[rows]]).norm(dim=1)
    return distances, index
