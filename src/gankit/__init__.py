"""gankit: train, sample and evaluate generative adversarial networks, CPU first."""

__version__ = "0.1.0"
