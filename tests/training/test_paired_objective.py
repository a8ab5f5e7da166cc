"""The paired objective: L1 against a hand-computed value, adv_weight 0 leaves D alone, resume is exact, and
mismatched configs are one line. pytest tests/training/test_paired_objective.py."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image

from gankit.data import ImageDataset
from gankit.errors import ConfigError
from gankit.training.config import config_from_dict
from gankit.training.objectives import objective_for_model
from gankit.training.trainer import Trainer

IMAGES = torch.randint(0, 256, (24, 1, 28, 28), generator=torch.Generator().manual_seed(4), dtype=torch.uint8)


def _config(**restore):
    options = {"g_width": 4, "d_width": 4, "scale": 2}
    return config_from_dict({
        "data": {"name": "squares"}, "model": {"name": "srresnet", "options": options},
        "train": {"batch_size": 4, "num_samples": 9, "checkpoint_every": 2, "log_every": 1},
        "restore": {"degradation": "downscale_x2", **restore}, "reg": {"r1_gamma": 1.0, "r1_every": 2}})


def _trainer(tmp_path, **restore):
    return Trainer(_config(**restore), tmp_path, dataset=ImageDataset("tiny", IMAGES, None))


def test_the_restoration_families_train_with_the_paired_objective():
    assert objective_for_model("pix2pix") == objective_for_model("srresnet") == "paired"


def test_the_l1_figure_is_the_distance_of_the_restored_batch_to_the_clean_one(tmp_path):
    trainer = _trainer(tmp_path, adv_weight=0)
    for p in trainer.generator.head.parameters():
        torch.nn.init.zeros_(p)  # G = bicubic upscale of its input
    real, _ = trainer.next_batch()
    stats = trainer.train_step(real, None, with_stats=True)
    # Reference: PIL's antialiased bicubic down, rounded to uint8, then bicubic up by torch (align_corners=False).
    expected = []
    for image in IMAGES[trainer.sampler.indices(0)]:
        low = np.asarray(Image.fromarray(image[0].numpy().astype(np.float32), "F").resize((14, 14), Image.BICUBIC))
        low = torch.from_numpy(np.clip(np.round(low), 0, 255) / 127.5 - 1).float()[None, None]
        up = torch.nn.functional.interpolate(low, scale_factor=2, mode="bicubic", align_corners=False)
        expected.append((up[0] - (image.float() / 127.5 - 1)).abs().mean())
    assert stats["l1"] == pytest.approx(float(torch.stack(expected).mean()), abs=1e-5)
    assert stats["g_loss"] == pytest.approx(100 * stats["l1"], rel=1e-6)


def test_adv_weight_zero_trains_g_on_l1_alone_and_leaves_d_untouched(tmp_path):
    trainer = _trainer(tmp_path, adv_weight=0)
    d_before = {k: v.clone() for k, v in trainer.discriminator.state_dict().items()}
    g_before = [p.detach().clone() for p in trainer.generator.parameters()]
    for _ in range(2):
        stats = trainer.train_step(*trainer.next_batch(), with_stats=True)
        trainer.step += 1
    assert "d_loss" not in stats and "g_adv" not in stats
    assert all(torch.equal(v, trainer.discriminator.state_dict()[k]) for k, v in d_before.items())
    assert any(not torch.equal(a, b) for a, b in zip(g_before, trainer.generator.parameters()))


def test_the_gan_step_updates_d_with_r1_when_due(tmp_path):
    trainer = _trainer(tmp_path)
    stats = trainer.train_step(*trainer.next_batch(), with_stats=True)  # step 0: R1 is due (every 2)
    assert {"d_loss", "g_adv", "r1", "d_accuracy"} <= set(stats) and stats["r1"] >= 0
    trainer.step = 1
    assert "r1" not in trainer.train_step(*trainer.next_batch(), with_stats=True)


def _steps(trainer, count):
    for _ in range(count):
        trainer.train_step(*trainer.next_batch())
        trainer.step += 1


def test_a_resumed_run_ends_where_an_uninterrupted_one_does(tmp_path):
    straight = _trainer(tmp_path / "a")
    _steps(straight, 4)
    first = _trainer(tmp_path / "b")
    _steps(first, 2)
    first.save_checkpoint()
    resumed = _trainer(tmp_path / "b")
    assert resumed.resume() is not None and resumed.step == 2
    _steps(resumed, 2)
    for a, b in zip(straight.generator.state_dict().values(), resumed.generator.state_dict().values()):
        assert torch.equal(a, b)


@pytest.mark.parametrize("options, restore, message", [
    ({"scale": 1}, {"degradation": "downscale_x2"}, "model.options.scale: 1 does not match restore.degradation 'downscale_x2'; set it to 2"),
    ({"scale": 1}, {"degradation": "mask_centre"}, "model.options.mask_input: false does not match"),
    ({"scale": 1, "mask_input": True}, {"degradation": "gaussian_noise"}, "model.options.mask_input: true does not match"),
])
def test_a_model_that_does_not_take_the_degraded_input_is_one_line(tmp_path, options, restore, message):
    cfg = config_from_dict({"model": {"name": "pix2pix", "options": {"g_width": 4, "d_width": 4, **options}}, "restore": restore,
                            "train": {"batch_size": 4}})
    with pytest.raises(ConfigError) as caught:
        Trainer(cfg, tmp_path, dataset=ImageDataset("tiny", IMAGES, None))
    assert str(caught.value).startswith(message) and "\n" not in str(caught.value)


def test_restore_keys_are_checked_on_load():
    with pytest.raises(ConfigError, match="restore.degradation: 'blur' is not allowed"):
        config_from_dict({"restore": {"degradation": "blur"}})
    with pytest.raises(ConfigError, match="restore.adv_weight"):
        config_from_dict({"restore": {"adv_weight": -1}})
