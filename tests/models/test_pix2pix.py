"""The restoration families (pix2pix, srresnet) at tiny size, as tests/models/test_registry.py does for the others:
shapes, gradients, export round trip, one trainer step; and what the architecture promises. pytest tests/models/test_pix2pix.py."""

from __future__ import annotations

import pytest
import torch

from gankit.data import ImageDataset
from gankit.errors import ConfigError
from gankit.models import MODELS, create_model, export_generator, generator_spec, is_paired, load_generator
from gankit.models.pix2pix import PAIRED_FAMILIES
from gankit.training.config import config_from_dict
from gankit.training.trainer import Trainer

CASES = [  # (degradation, options, image shape)
    ("downscale_x2", {"scale": 2}, (1, 28, 28)),
    ("downscale_x4", {"scale": 4, "d_layers": 3}, (3, 64, 64)),
    ("gaussian_noise", {}, (1, 28, 28)),
    ("mask_centre", {"mask_input": True}, (3, 32, 32)),
]
TINY = {"g_width": 4, "d_width": 4}


def test_the_paired_families_are_registered_and_marked():
    assert [name for name in MODELS.names() if is_paired(name)] == sorted(PAIRED_FAMILIES)


def _pair(name, options, shape):
    torch.manual_seed(0)
    return create_model(name, shape, 8, 0, **TINY, **options)


@pytest.mark.parametrize("name", PAIRED_FAMILIES)
@pytest.mark.parametrize("degradation, options, shape", CASES)
def test_forward_backward_shapes(name, degradation, options, shape):
    pair = _pair(name, options, shape)
    c, h, w = shape
    scale = options.get("scale", 1)
    inputs = torch.rand(3, c + int(options.get("mask_input", False)), h // scale, w // scale) * 2 - 1
    if options.get("mask_input"):
        inputs[:, -1] = (inputs[:, -1] > 0).float()
    out = pair.generator(inputs)
    assert out.shape == (3, *shape)
    logits = pair.discriminator(out, inputs)
    assert logits.ndim == 3 and logits.shape[0] == 3 and logits.shape[1] == logits.shape[2] >= 2
    (out.sum() + logits.sum()).backward()
    for module in (pair.generator, pair.discriminator):
        assert all(p.grad is not None and torch.isfinite(p.grad).all() for p in module.parameters())


@pytest.mark.parametrize("name", PAIRED_FAMILIES)
def test_inpainting_keeps_the_known_pixels_exactly(name):
    pair = _pair(name, {"mask_input": True}, (1, 28, 28))
    image = torch.rand(2, 1, 28, 28) * 2 - 1
    mask = torch.zeros(2, 1, 28, 28)
    mask[:, :, 7:21, 7:21] = 1
    out = pair.generator(torch.cat([image * (1 - mask), mask], dim=1))
    known = mask == 0
    assert torch.equal(out[known], image[known])
    assert not torch.equal(out[~known], torch.zeros_like(out[~known]))


@pytest.mark.parametrize("name", PAIRED_FAMILIES)
def test_a_residual_generator_starts_from_the_bicubic_upscale(name):
    pair = _pair(name, {"scale": 2}, (1, 28, 28))
    for p in pair.generator.head.parameters():
        torch.nn.init.zeros_(p)  # the learned part outputs 0: G is the bicubic upscale
    low = torch.rand(2, 1, 14, 14) * 2 - 1
    expected = torch.nn.functional.interpolate(low, scale_factor=2, mode="bicubic", align_corners=False)
    torch.testing.assert_close(pair.generator(low), expected)


@pytest.mark.parametrize("name", PAIRED_FAMILIES)
def test_export_load_round_trip(name, tmp_path):
    options = {**TINY, "scale": 2}
    pair = _pair(name, {"scale": 2}, (1, 28, 28))
    export_generator(pair.generator.eval(), generator_spec(name, (1, 28, 28), 8, 0, options), tmp_path)
    loaded, spec = load_generator(tmp_path)
    low = torch.rand(4, 1, 14, 14) * 2 - 1
    with torch.no_grad():
        torch.testing.assert_close(loaded(low), pair.generator(low), rtol=0, atol=0)
    assert spec["model"] == name


@pytest.mark.parametrize("name, case", [("srresnet", 0), ("pix2pix", 2), ("pix2pix", 3)])
def test_one_trainer_step(name, case, tmp_path):
    degradation, options, shape = CASES[case]
    images = torch.randint(0, 256, (16, *shape), generator=torch.Generator().manual_seed(2), dtype=torch.uint8)
    raw = {"data": {"name": "squares"}, "model": {"name": name, "options": {**TINY, **options}},
           "train": {"batch_size": 4, "num_samples": 9}, "restore": {"degradation": degradation}, "ema": {"half_life_kimg": 0.01}}
    trainer = Trainer(config_from_dict(raw), tmp_path, dataset=ImageDataset("tiny", images, None))
    before = [p.detach().clone() for p in trainer.generator.parameters()]
    stats = trainer.train_step(*trainer.next_batch(), with_stats=True)
    assert {"l1", "g_loss", "d_loss", "g_adv"} <= set(stats) and all(torch.isfinite(torch.tensor(v)) for v in stats.values())
    assert any(not torch.equal(a, b) for a, b in zip(before, trainer.generator.parameters())), "G did not move"
    assert trainer.save_samples("step").is_file()


@pytest.mark.parametrize("options, message", [
    ({"scale": 3}, "scale must be 1, 2 or 4"),
    ({"scale": 2, "mask_input": True}, "takes no mask"),
])
def test_bad_options_are_one_line(options, message):
    with pytest.raises(ConfigError, match=message):
        create_model("pix2pix", (1, 28, 28), 8, 0, **options)


def test_a_unet_too_deep_for_the_image_is_refused():
    with pytest.raises(ValueError, match="divisible by 8"):
        create_model("pix2pix", (1, 28, 28), 8, 0, depth=3)


def test_channelwise_fc_is_one_linear_layer_per_channel_then_a_1x1_mix():
    from gankit.models.pix2pix import ChannelwiseFC
    torch.manual_seed(0)
    layer = ChannelwiseFC(3, 2, 3)
    x = torch.randn(4, 3, 2, 3)
    per_channel = torch.stack([torch.nn.functional.linear(x[:, c].reshape(4, 6), layer.weight[c].T, layer.bias[c, 0])
                               for c in range(3)], dim=1).reshape(4, 3, 2, 3)
    mix = layer.mix.weight[:, :, 0, 0]  # (C_out, C_in)
    expected = torch.einsum("oc,bchw->bohw", mix, per_channel) + layer.mix.bias.view(1, 3, 1, 1)
    torch.testing.assert_close(layer(x), expected)


def test_a_channel_fc_unet_inpaints_and_round_trips_through_export(tmp_path):
    options = {"mask_input": True, "bottleneck": "channel_fc"}
    pair = _pair("pix2pix", options, (1, 28, 28))
    inputs = torch.cat([torch.rand(2, 1, 28, 28) * 2 - 1, torch.zeros(2, 1, 28, 28)], dim=1)
    inputs[:, 0, 7:21, 7:21], inputs[:, 1, 7:21, 7:21] = 0, 1
    export_generator(pair.generator.eval(), generator_spec("pix2pix", (1, 28, 28), 8, 0, {**TINY, **options}), tmp_path)
    loaded, _ = load_generator(tmp_path)
    with torch.no_grad():
        out = pair.generator(inputs)
        torch.testing.assert_close(loaded(inputs), out, rtol=0, atol=0)
    assert torch.equal(out[:, :, :7], inputs[:, :1, :7])  # known rows kept
    assert sum(p.numel() for p in pair.generator.bottleneck.parameters()) == 16 * 49 * 49 + 16 * 49 + 16 * 16 + 16
