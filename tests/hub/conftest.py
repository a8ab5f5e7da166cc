"""Shared pieces of the hub tests: a tiny trained run, and every registered model at tiny size."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from gankit.models import MODELS, create_model, generator_spec


def tiny_spec(name: str, latent_dim: int = 8) -> dict:
    """The spec of model ``name`` at the tiny size its family registers (``factory.tiny_kwargs``)."""
    kwargs = dict(getattr(MODELS.get(name), "tiny_kwargs", {}))
    options = {"g_hidden": [16], "d_hidden": [16]} if name == "mlp" else kwargs.get("options", {})
    return generator_spec(name, kwargs.get("img_shape", (1, 28, 28)), latent_dim, kwargs.get("num_classes", 0), options)


def tiny_generator(name: str, seed: int = 0) -> tuple[torch.nn.Module, dict]:
    """A freshly initialised tiny generator of ``name`` in eval mode, BatchNorm statistics moved off their start."""
    spec = tiny_spec(name)
    torch.manual_seed(seed)
    generator = create_model(name, spec["img_shape"], spec["latent_dim"], spec["num_classes"], **spec["options"]).generator
    inputs = torch.rand(16, *generator.input_shape) * 2 - 1 if hasattr(generator, "input_shape") else torch.randn(16, spec["latent_dim"])
    with torch.no_grad():
        generator(inputs, torch.arange(16) % spec["num_classes"]) if spec["num_classes"] else generator(inputs)
    return generator.eval(), spec


@pytest.fixture(scope="session")
def tiny_run(tmp_path_factory) -> Path:
    """A run of the reference MLP trained for 6 steps on the synthetic squares (checkpoints, export, config)."""
    from gankit.training.config import config_from_dict
    from gankit.training.trainer import Trainer
    from tests.conftest import tiny_config_dict

    run_dir = tmp_path_factory.mktemp("hub") / "run"
    Trainer(config_from_dict(tiny_config_dict(max_steps=6, checkpoint_every=3)), run_dir).train(progress=False)
    return run_dir
