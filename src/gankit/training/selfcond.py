"""Self-conditioning: class labels for unlabelled data from clustering the discriminator's features.

Liu, Wang, Bau, Zhu & Torralba, "Diverse Image Generation via Self-Conditioned GANs", CVPR 2020.
A class-conditional GAN is trained on labels that k-means finds in D's last hidden
features of the real images, and G is asked for each cluster in its share of the
data. Every cluster thus gets its share of the samples, so a mode G was drawing too
rarely or too often is asked for exactly as often as the data holds it. The
clustering is redone as D's features improve; each new clustering is matched to the
last (the Hungarian algorithm on their overlap) so that a cluster keeps its index,
and with it what G has learnt to draw for it.
"""

from __future__ import annotations

import torch
from scipy.optimize import linear_sum_assignment
from torch import nn

from gankit.data import ImageDataset


def squared_distances(points: torch.Tensor, centroids: torch.Tensor) -> torch.Tensor:
    """(N, k) squared Euclidean distances, |x|^2 - 2 x.c + |c|^2 as one matrix product (clamped at 0)."""
    return (points.pow(2).sum(1, keepdim=True) - 2 * points @ centroids.T + centroids.pow(2).sum(1)).clamp_(min=0)


def kmeans(points: torch.Tensor, k: int, generator: torch.Generator, iters: int = 25) -> torch.Tensor:
    """Centroids (k, F) of points (N, F) by Lloyd's algorithm from a k-means++ start (Arthur & Vassilvitskii 2007).

    A cluster left empty is re-seeded with the point farthest from its centroid.
    """
    n = len(points)
    if not 1 <= k <= n:
        raise ValueError(f"k-means: k={k} needs between 1 and {n} points")
    points = points.float()
    picks = [int(torch.randint(n, (1,), generator=generator))]
    nearest = squared_distances(points, points[picks]).squeeze(1)  # (N,) to the closest centroid so far
    for _ in range(1, k):
        pick = int(torch.multinomial(nearest, 1, generator=generator)) if nearest.sum() > 0 else int(torch.randint(n, (1,), generator=generator))
        picks.append(pick)
        nearest = torch.minimum(nearest, squared_distances(points, points[pick:pick + 1]).squeeze(1))
    centroids = points[picks]  # (k, F)
    for _ in range(iters):
        distances = squared_distances(points, centroids)  # (N, k)
        labels = distances.argmin(dim=1)
        counts = torch.bincount(labels, minlength=k)
        new = torch.zeros_like(centroids).index_add_(0, labels, points) / counts.clamp(min=1).unsqueeze(1).to(points.dtype)
        own = distances.gather(1, labels.unsqueeze(1)).squeeze(1)  # (N,) each point's distance to its centroid
        for empty in torch.nonzero(counts == 0).flatten().tolist():
            far = int(own.argmax())
            new[empty], own[far] = points[far], -1  # not picked twice
        if torch.equal(new, centroids):
            break
        centroids = new
    return centroids


def assign(points: torch.Tensor, centroids: torch.Tensor) -> torch.Tensor:
    """(N,) index of the nearest centroid (k, F) of each point (N, F)."""
    return squared_distances(points.float(), centroids.float()).argmin(dim=1)


def match_labels(new: torch.Tensor, old: torch.Tensor, k: int) -> torch.Tensor:
    """``new`` (N,) relabelled by the one-to-one map of its k clusters onto ``old``'s that keeps the most points
    in the cluster they were in (the Hungarian algorithm on the k x k overlap counts)."""
    overlap = torch.zeros(k, k, dtype=torch.long)
    overlap.index_put_((new, old), torch.ones_like(new), accumulate=True)
    rows, cols = linear_sum_assignment(-overlap.numpy())
    mapping = torch.empty(k, dtype=torch.long)
    mapping[torch.as_tensor(rows)] = torch.as_tensor(cols)
    return mapping[new]


@torch.no_grad()
def real_features(discriminator: nn.Module, dataset: ImageDataset, device: torch.device, memory_format: torch.memory_format,
                  batch: int = 500) -> torch.Tensor:
    """D's last hidden features (N, F) of every real image, in eval mode (no dropout), as float32 on the CPU."""
    was_training = discriminator.training
    discriminator.eval()
    chunks = []
    for start in range(0, len(dataset), batch):
        images = dataset.batch(torch.arange(start, min(start + batch, len(dataset)))).to(device)
        images = images.contiguous(memory_format=memory_format) if images.ndim == 4 else images
        chunks.append(discriminator.hidden(images).float().cpu())
    discriminator.train(was_training)
    return torch.cat(chunks)


def cluster_labels(features: torch.Tensor, k: int, generator: torch.Generator, previous: torch.Tensor | None = None,
                   fit_points: int = 20_000, dims: int = 128) -> torch.Tensor:
    """(N,) cluster of each row of ``features`` (N, F): k-means fitted on at most ``fit_points`` rows drawn at random,
    then every row assigned; matched to ``previous`` labels when given. Wider features are first projected on
    ``dims`` random Gaussian directions, which keeps distances to within a few percent (Johnson & Lindenstrauss
    1984) at a fraction of the cost."""
    if features.shape[1] > dims:
        features = features @ (torch.randn(features.shape[1], dims, generator=generator) / dims**0.5)  # (N, dims)
    fit = features[torch.randperm(len(features), generator=generator)[:fit_points]]
    labels = assign(features, kmeans(fit, k, generator))
    return labels if previous is None else match_labels(labels, previous, k)


def recluster(trainer) -> torch.Tensor:
    """The real images' new labels (N,): the k-means clusters of the trainer's D features, matched to its previous
    labels (Liu et al. 2020). Every process computes the same clusters from the same weights and seed."""
    features = real_features(trainer.discriminator, trainer.dataset, trainer.device, trainer.memory_format)  # (N, F)
    seed = torch.Generator().manual_seed(trainer.cfg.train.seed * 1_000_003 + trainer.step)
    return cluster_labels(features, trainer.cfg.data.clusters, seed, previous=trainer.real_labels)
