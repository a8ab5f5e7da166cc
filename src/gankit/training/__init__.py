"""Training: typed config, trainer, checkpoints."""
