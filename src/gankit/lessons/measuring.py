"""Lesson 8, measuring a GAN: FID, precision and recall on sample sets whose faults are known.

FID (Heusel et al., NeurIPS 2017) compares Gaussians fitted to the features of real and generated images;
precision and recall (Kynkäänniemi et al., NeurIPS 2019) ask what share of the samples lies on the real images'
manifold and what share of the real images lies on the samples'. Features come from gankit's domain evaluator (a
small classifier trained once on the dataset and cached; :func:`gankit.evaluation.evaluator_training.extractor_for`).
Scored against N training images: N real *test* images (the floor), the same blurred, N test images of one digit
only (collapsed), and N *training* images (memorised: a generator that copies its data). The distance from each
set to its nearest training image shows what the three figures cannot.
"""

from __future__ import annotations

import torch

from gankit.lessons import LessonOptions, register_lesson, save_figure
from gankit.lessons.common import image_grid, lesson_data

SEARCHED = 10_000
"""The memorised images and the nearest-neighbour search both use the first SEARCHED training images."""


class PoolExtractor:
    """``--tiny`` features without an evaluator: 4x4 average-pooled pixels (N, 49), no classifier."""

    id = "avgpool4-pixels"

    def __call__(self, samples: torch.Tensor):
        from gankit.metrics import Features

        pooled = torch.nn.functional.avg_pool2d(samples.float() / 255, 4)  # (N, 1, 7, 7)
        return Features(pooled.flatten(1).double())


def blur(images: torch.Tensor, sigma: float) -> torch.Tensor:
    """uint8 images (N, C, H, W) blurred by a Gaussian of std ``sigma`` pixels (kernel 4 sigma + 1 wide)."""
    from torchvision.transforms.functional import gaussian_blur

    size = 2 * round(2 * sigma) + 1
    return gaussian_blur(images.float(), [size, size], [sigma, sigma]).round().clamp(0, 255).to(torch.uint8)


def nearest_training_distance(samples: torch.Tensor, train: torch.Tensor) -> float:
    """Mean over samples of the pixel distance (in [0, 1] units, per image) to the nearest of ``train``.

    The nearest image is found with matrix products (fast, rounding errors of ~1e-3), then its distance is computed
    exactly, so a copy of a training image is at distance 0.
    """
    flat_train = train.flatten(1).float() / 255  # (M, 784)
    best = []
    for chunk in samples.flatten(1).float().split(500):
        chunk = chunk / 255  # (B, 784)
        nearest = torch.cdist(chunk, flat_train).argmin(dim=1)  # (B,)
        best.append((chunk - flat_train[nearest]).norm(dim=1))
    return float(torch.cat(best).mean())


@register_lesson("measuring")
def measuring(options: LessonOptions) -> dict:
    """FID, precision and recall of real, blurred, collapsed and memorised sets, and their distance to the data."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from gankit.data import load_dataset
    from gankit.metrics import compute_metrics
    from gankit.metrics.stats_cache import real_subset

    name, num = lesson_data(options.tiny), options.size(2000, 200)
    if options.tiny:
        extractor = PoolExtractor()
    else:
        from gankit.evaluation.evaluator_training import extractor_for

        extractor = extractor_for(name)  # trains and caches the evaluator the first time
    train, test = load_dataset(name, "train"), load_dataset(name, "test")
    searched = min(options.size(SEARCHED, 1000), len(train))
    gen = torch.Generator().manual_seed(options.seed)
    reference = real_subset(name, "train", num, seed=options.seed)  # what every set is scored against
    real = test.images[torch.randperm(len(test), generator=gen)[:num]]
    one_class = test.images[test.labels == 1]
    sets = {
        "real (test images)": real,
        "blurred (sigma 1 px)": blur(real, 1.0),
        "blurred (sigma 2 px)": blur(real, 2.0),
        "collapsed (only 1s)": one_class[torch.randint(len(one_class), (num,), generator=gen)],
        "memorised (training images)": train.images[torch.randperm(searched, generator=gen)[:num]],
    }
    reference_features = extractor(reference)
    results = {}
    for label, images in sets.items():
        figures = compute_metrics(["fid", "pr"], reference_features, extractor(images), seed=options.seed)
        results[label] = {"fid": figures["fid"], "precision": figures["precision"], "recall": figures["recall"],
                          "nearest_training_distance": nearest_training_distance(images, train.images[:searched])}

    figure, axes = plt.subplots(1, len(sets), figsize=(2.6 * len(sets), 3.3))
    for ax, (label, images) in zip(axes, sets.items()):
        r = results[label]
        ax.imshow(image_grid(images[:36].float() / 127.5 - 1, 6), cmap="gray", vmin=0, vmax=1)
        ax.set_title(f"{label}\nFID {r['fid']:.2f}  P {r['precision']:.2f}  R {r['recall']:.2f}", fontsize=8)
        ax.axis("off")
    save_figure(figure, options.out / "measuring-sets.png")

    figure, axes = plt.subplots(1, 4, figsize=(14, 3.0))
    labels = list(results)
    short = ["real", "blur 1 px", "blur 2 px", "collapsed", "memorised"]
    for ax, key, title in zip(axes, ("fid", "precision", "recall", "nearest_training_distance"),
                              ("FID (lower is better)", "precision (higher is better)", "recall (higher is better)",
                               "mean distance to the nearest training image")):
        ax.bar(range(len(labels)), [results[label][key] for label in labels], color=["tab:green", "tab:orange", "tab:orange", "tab:red", "tab:purple"])
        ax.set_xticks(range(len(labels)), short, fontsize=7, rotation=30)
        ax.set_title(title, fontsize=9)
    save_figure(figure, options.out / "measuring-figures.png")

    rows = [f"| {label} | {r['fid']:.2f} | {r['precision']:.3f} | {r['recall']:.3f} | {r['nearest_training_distance']:.3f} |"
            for label, r in results.items()]
    summary = "\n".join([
        "| sample set | FID | precision | recall | mean pixel distance to the nearest training image |",
        "| --- | --- | --- | --- | --- |", *rows, "",
        f"{num:,} images per set, scored against {num:,} {name} training images; features: {extractor.id}; "
        f"nearest neighbours among the first {searched:,} training images (pixel values in [0, 1], distance per image).",
    ])
    return {"summary": summary, "num": num, "data": name, "extractor": extractor.id, "searched": searched, "sets": results}
