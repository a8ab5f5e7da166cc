"""Every registered model at tiny size: shapes, backward, no NaN, export/load round trip, one trainer step.

A family registers its tiny test arguments as ``factory.tiny_kwargs`` (image shape,
number of classes, options); a model without them is tried on 28x28 gray images.
Restoration families, whose generator takes a degraded image instead of noise, have
their own tester (tests/models/test_pix2pix.py).
"""

from __future__ import annotations

import pytest
import torch

from gankit.data import ImageDataset
from gankit.models import MODELS, create_model, export_generator, generator_spec, is_paired, load_generator
from gankit.models.base import DiscriminatorOutput
from gankit.training.config import config_from_dict
from gankit.training.trainer import Trainer

LATENT = 8
BATCH = 8
NOISE_MODELS = [name for name in MODELS.names() if not is_paired(name)]


def _tiny(name: str) -> dict:
    spec = dict(getattr(MODELS.get(name), "tiny_kwargs", {}))
    spec.setdefault("img_shape", (1, 28, 28))
    spec.setdefault("num_classes", 0)
    spec.setdefault("options", {})
    if name == "mlp":
        spec["options"] = {"g_hidden": [16], "d_hidden": [16]}
    return spec


def _pair(name: str):
    spec = _tiny(name)
    torch.manual_seed(0)
    return spec, create_model(name, spec["img_shape"], LATENT, spec["num_classes"], **spec["options"])


def _inputs(spec: dict):
    gen = torch.Generator().manual_seed(1)
    z = torch.randn(BATCH, LATENT, generator=gen)
    labels = torch.randint(spec["num_classes"], (BATCH,), generator=gen) if spec["num_classes"] else None
    return z, labels


def _call(module, x, labels):
    return module(x, labels) if labels is not None else module(x)


def _flat_outputs(out) -> list[torch.Tensor]:
    if isinstance(out, DiscriminatorOutput):
        return [t for t in (out.logits, out.class_logits, out.twin_logits, out.code_logits) if t is not None]
    return list(out) if isinstance(out, tuple) else [out]


@pytest.mark.parametrize("name", NOISE_MODELS)
def test_forward_backward_finite(name):
    spec, pair = _pair(name)
    z, labels = _inputs(spec)
    fake = _call(pair.generator, z, labels)
    assert fake.shape == (BATCH, *spec["img_shape"])
    outputs = _flat_outputs(_call(pair.discriminator, fake, labels))
    for out in outputs:
        assert out.shape[0] in (BATCH, BATCH // getattr(pair.discriminator, "pack_size", 1))
        assert torch.isfinite(out).all()
    sum(o.float().sum() for o in outputs).backward()
    for module in (pair.generator, pair.discriminator):
        grads = [p.grad for p in module.parameters() if p.requires_grad]
        assert grads and all(g is not None and torch.isfinite(g).all() for g in grads), f"{name}: missing or non-finite gradient"
    assert any(float(g.abs().sum()) > 0 for g in (p.grad for p in pair.generator.parameters())), f"{name}: G gets no gradient"


@pytest.mark.parametrize("name", NOISE_MODELS)
def test_export_load_round_trip(name, tmp_path):
    spec, pair = _pair(name)
    z, labels = _inputs(spec)
    generator = pair.generator.eval()
    _call(pair.generator.train(), z, labels)  # move BatchNorm statistics off their initial values
    generator.eval()
    export_generator(generator, generator_spec(name, spec["img_shape"], LATENT, spec["num_classes"], spec["options"]), tmp_path)
    loaded, loaded_spec = load_generator(tmp_path)
    assert loaded_spec["model"] == name
    with torch.no_grad():
        torch.testing.assert_close(_call(loaded, z, labels), _call(generator, z, labels), rtol=0, atol=0)


def _dataset(spec: dict) -> ImageDataset:
    gen = torch.Generator().manual_seed(2)
    shape = spec["img_shape"]
    if len(shape) == 1:
        images = torch.randn(4 * BATCH, *shape, generator=gen)
    else:
        images = torch.randint(0, 256, (4 * BATCH, *shape), generator=gen, dtype=torch.uint8)
    labels = torch.randint(max(spec["num_classes"], 1), (4 * BATCH,), generator=gen)
    return ImageDataset("tiny", images, labels, num_classes=max(spec["num_classes"], 1))


@pytest.mark.parametrize("name", NOISE_MODELS)
def test_one_trainer_step(name, tmp_path):
    spec = _tiny(name)
    raw = {
        "data": {"name": "squares", "conditional": spec["num_classes"] > 0},
        "model": {"name": name, "latent_dim": LATENT, "options": spec["options"]},
        "train": {"batch_size": BATCH, "num_samples": 4},
        "ema": {"half_life_kimg": 0.01},
    }
    trainer = Trainer(config_from_dict(raw), tmp_path, dataset=_dataset(spec))
    before = [p.detach().clone() for p in trainer.generator.parameters()]
    stats = trainer.train_step(*trainer.next_batch(), with_stats=True)
    assert stats and all(torch.isfinite(torch.tensor(v)) for v in stats.values()), stats
    assert any(not torch.equal(a, b) for a, b in zip(before, trainer.generator.parameters())), "G did not move"
    assert trainer.save_samples("step").is_file()
