"""Class directions in z for an unconditional generator, found from the domain evaluator's labels.

InterFaceGAN (Shen et al., "Interpreting the Latent Space of GANs for Semantic Face Editing", CVPR 2020): draw
codes, label G's images with a classifier, fit a linear boundary in z per attribute, and edit by moving a code
along the boundary's unit normal n. Here the attribute is "is of class k" (one against the rest, from the
domain evaluator's argmax on G's samples), the boundary a logistic regression with a small L2 penalty (InterFaceGAN
fits a linear SVM; both give a separating hyperplane), fitted by L-BFGS.

An edit toward class k with strength s moves z along n_k until its signed distance to k's boundary is s:
``z' = z + max(0, s - (n_k . z + b_k)) n_k``, so codes already deep inside class k stay where they are and every
other code crosses the boundary by the same margin. A larger s reaches the class more often but moves the code
further from where G's training codes lie; ``docs/edit.md`` gives the share reaching the class and the precision at each strength (4 is recommended).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from gankit.errors import ConfigError


@dataclass
class ClassBoundaries:
    """One linear boundary per class in z: ``normals`` (K, L) unit vectors, ``offsets`` (K,), and each class's count."""

    normals: torch.Tensor
    offsets: torch.Tensor
    counts: torch.Tensor

    def distance(self, z: torch.Tensor) -> torch.Tensor:
        """Signed distance of each code to each class's boundary: (N, K), positive on the class's side."""
        return z @ self.normals.T + self.offsets

    def edit(self, z: torch.Tensor, target: torch.Tensor | int, strength: float, keep_norm: bool = False) -> torch.Tensor:
        """Move each code (N, L) toward class ``target`` (int or (N,)) until its distance to the boundary is ``strength``.

        With ``keep_norm``, each code turns instead, in the plane of the code and the normal, on the sphere of its own
        norm r (where z ~ N(0, I) lies, for G's codes): ``z' = c n + sqrt(r^2 - c^2) p / |p|`` with ``c = strength -
        offset`` and p the part of z orthogonal to n; where the sphere does not reach that far (c > r), z' = r n.
        """
        num_classes = len(self.normals)
        target = torch.as_tensor(target).expand(len(z)) if torch.as_tensor(target).ndim == 0 else torch.as_tensor(target)
        if int(target.min()) < 0 or int(target.max()) >= num_classes:
            raise ConfigError(f"class {int(target.max())} is not one of the {num_classes} classes 0..{num_classes - 1}")
        n, offset = self.normals[target], self.offsets[target]  # (N, L), (N,)
        d = (z * n).sum(1) + offset  # (N,)
        if not keep_norm:
            return z + (strength - d).clamp_min(0.0)[:, None] * n
        radius = z.norm(dim=1)  # (N,)
        along = (z * n).sum(1)  # (N,)
        ortho = z - along[:, None] * n  # (N, L)
        unit = ortho / ortho.norm(dim=1, keepdim=True).clamp_min(1e-12)
        c = torch.maximum(torch.minimum(strength - offset, radius), -radius)  # (N,) the new component along n
        turned = c[:, None] * n + (radius ** 2 - c ** 2).clamp_min(0.0).sqrt()[:, None] * unit
        return torch.where((d < strength)[:, None], turned, z)


def fit_boundary(z: torch.Tensor, positive: torch.Tensor, l2: float = 1e-3, iterations: int = 100) -> tuple[torch.Tensor, float]:
    """Logistic regression of ``positive`` (N,) bool on ``z`` (N, L): the unit normal (L,) and offset of its boundary.

    The offset is scaled with the normal, so ``z . normal + offset`` is the signed Euclidean distance to the boundary.
    """
    z = z.double()
    y = positive.double()
    w = torch.zeros(z.shape[1], dtype=torch.float64, requires_grad=True)
    b = torch.zeros((), dtype=torch.float64, requires_grad=True)
    optimizer = torch.optim.LBFGS([w, b], max_iter=iterations, line_search_fn="strong_wolfe")
    # Classes are rare against the rest: weight the positives so both sides count equally.
    pos_weight = (len(y) - y.sum()) / y.sum().clamp_min(1.0)

    def closure():
        optimizer.zero_grad()
        logits = z @ w + b
        loss = nn.functional.binary_cross_entropy_with_logits(logits, y, pos_weight=pos_weight) + l2 * w.pow(2).sum()
        loss.backward()
        return loss

    optimizer.step(closure)
    norm = w.detach().norm().clamp_min(1e-12)
    return (w.detach() / norm).float(), float(b.detach() / norm)


def class_boundaries(z: torch.Tensor, labels: torch.Tensor, num_classes: int) -> ClassBoundaries:
    """One boundary per class from codes ``z`` (N, L) and their images' labels (N,) int64.

    Raises:
        ConfigError: a class has fewer than 10 codes (G rarely draws it; no boundary can be trusted).
    """
    counts = torch.bincount(labels, minlength=num_classes)
    normals, offsets = [], []
    for k in range(num_classes):
        if counts[k] < 10:
            raise ConfigError(f"class {k}: only {int(counts[k])} of {len(z)} samples read as it; the generator rarely draws it, "
                              "so no direction toward it can be found")
        normal, offset = fit_boundary(z, labels == k)
        normals.append(normal)
        offsets.append(offset)
    return ClassBoundaries(torch.stack(normals), torch.tensor(offsets), counts)
