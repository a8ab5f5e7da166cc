"""gankit: train, sample and evaluate generative adversarial networks, CPU first."""

__version__ = "0.1.0"


def load(path, device="cpu", generator=None):
    """A trained model from a run directory, an export directory, the Hugging Face layout or a checkpoint file.

    Returns the pipeline of the run's kind (a :class:`gankit.hub.GeneratorPipeline` for GANs); see
    :func:`gankit.hub.load`. torch is imported on the first call, not with ``import gankit``.
    """
    from gankit.hub import load as load_pipeline

    return load_pipeline(path, device=device, generator=generator)


def train(generator, discriminator, data, run_dir, steps, latent_dim, **options):
    """Train your own generator and discriminator on your own data with gankit's loop, losses and checkpoints.

    Returns the trained generator as a pipeline; see :func:`gankit.training.custom.train` for the options.
    """
    from gankit.training.custom import train as train_custom

    return train_custom(generator, discriminator, data, run_dir, steps, latent_dim, **options)
