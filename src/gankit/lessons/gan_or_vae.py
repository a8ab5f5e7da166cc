"""Lesson 7, GAN or VAE: the same decoder on the same data for the same CPU time, trained both ways and scored alike.

The VAE is the ``mnist_vae`` preset (Kingma & Welling, ICLR 2014: a DCGAN generator as the decoder, width 32,
latent 16, trained on the negative ELBO). The GAN is ``mnist_dcgan`` (Radford et al., ICLR 2016) with its generator
made that same network (latent 16, no dense layer): only the training signal differs, a discriminator instead of
an encoder and a reconstruction loss. Each trains until it has used the same CPU time; then 2,000 samples of each
(and 2,000 real test images, the floor) are scored with FID, precision and recall in the features of gankit's
domain evaluator (:func:`gankit.evaluation.evaluator_training.extractor_for`; its one-off training is not counted).
"""

from __future__ import annotations

import time

import torch

from gankit.lessons import LessonOptions, register_lesson, save_figure
from gankit.lessons.common import image_grid, lesson_data, scratch_trainer
from gankit.sampling import draw_samples

RUNS = {
    "VAE (mnist_vae)": ("mnist_vae", []),
    "GAN (mnist_dcgan, the VAE's decoder as G)": ("mnist_dcgan", ["model.latent_dim=16", "model.options.g_dense=0",
                                                                  "train.fid_every=null"]),
}


def train_for(preset: str, overrides: list[str], cpu_seconds: float, num: int, options: LessonOptions) -> dict:
    """Train ``preset`` until it has used ``cpu_seconds`` of this process's CPU time; ``num`` samples (uint8) after."""
    base = [f"data.name={lesson_data(options.tiny)}", f"train.seed={options.seed}", "train.max_steps=1000000"]
    with scratch_trainer(preset, base + overrides) as trainer:
        start = time.process_time()
        while time.process_time() - start < cpu_seconds:
            real, labels = trainer.next_batch()
            trainer.set_learning_rates(trainer.total_steps)
            trainer.train_step(real, labels)
            trainer.step += 1
        used = time.process_time() - start
        trainer.generator.eval()
        samples = draw_samples(trainer.sampling_generator, trainer.sample_spec(), num, options.seed + 1)
        parameters = sum(p.numel() for p in trainer.generator.parameters())
        return {"steps": trainer.step, "cpu_seconds": used, "samples": samples, "generator_parameters": parameters,
                "images_seen": trainer.step * trainer.cfg.train.batch_size}


@register_lesson("gan-or-vae")
def gan_or_vae(options: LessonOptions) -> dict:
    """The same decoder trained as a VAE and as a GAN for the same CPU time: samples and figures side by side."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from gankit.data import load_dataset
    from gankit.lessons.measuring import PoolExtractor
    from gankit.metrics import compute_metrics
    from gankit.metrics.stats_cache import real_subset

    name, num, budget = lesson_data(options.tiny), options.size(2000, 200), options.size(110.0, 1.0)
    if options.tiny:
        extractor = PoolExtractor()
    else:
        from gankit.evaluation.evaluator_training import extractor_for

        extractor = extractor_for(name)  # trains and caches the evaluator the first time; not part of the budget
    runs = {label: train_for(preset, extra, budget, num, options) for label, (preset, extra) in RUNS.items()}
    test = load_dataset(name, "test")
    real = test.images[torch.randperm(len(test), generator=torch.Generator().manual_seed(options.seed))[:num]]
    reference = extractor(real_subset(name, "train", num, seed=options.seed))
    scored = {"real test images (the floor)": {"samples": real}, **runs}
    for entry in scored.values():
        entry.update(compute_metrics(["fid", "pr"], reference, extractor(entry["samples"]), seed=options.seed))

    figure, axes = plt.subplots(1, len(scored), figsize=(3.4 * len(scored), 3.9))
    for ax, (label, entry) in zip(axes, scored.items()):
        ax.imshow(image_grid(entry["samples"][:64].float() / 127.5 - 1, 8), cmap="gray", vmin=0, vmax=1)
        cost = f"{entry['steps']} steps, {entry['cpu_seconds']:.0f} CPU-s" if "steps" in entry else "the data"
        ax.set_title(f"{label}\n{cost}\nFID {entry['fid']:.1f}  P {entry['precision']:.2f}  R {entry['recall']:.2f}", fontsize=8)
        ax.axis("off")
    save_figure(figure, options.out / "gan-or-vae-samples.png")

    rows, numbers = [], {"num": num, "data": name, "extractor": extractor.id, "cpu_budget_seconds": budget, "runs": {}}
    for label, entry in scored.items():
        kept = {k: v for k, v in entry.items() if k != "samples"}
        numbers["runs"][label] = kept
        steps = f"{kept['steps']:,} ({kept['images_seen']:,} images)" if "steps" in kept else "-"
        cpu = f"{kept['cpu_seconds']:.0f}" if "cpu_seconds" in kept else "-"
        params = f"{kept['generator_parameters']:,}" if "generator_parameters" in kept else "-"
        rows.append(f"| {label} | {params} | {steps} | {cpu} | {kept['fid']:.1f} | {kept['precision']:.3f} | {kept['recall']:.3f} |")
    numbers["summary"] = "\n".join([
        "| | generator / decoder parameters | steps | CPU-s | FID | precision | recall |",
        "| --- | --- | --- | --- | --- | --- | --- |", *rows, "",
        f"{num:,} samples each against {num:,} {name} training images; features: {extractor.id}.",
    ])
    return numbers
