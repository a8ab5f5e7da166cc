"""gankit.load of a restoration run gives restore(): pytest tests/hub/test_restoration.py."""

import pytest
import torch

import gankit
from gankit.errors import GankitError
from gankit.hub import RestorationPipeline
from gankit.training.config import config_from_dict
from gankit.training.trainer import Trainer


def _zeroed_run(path, degradation, model, options):
    """A tiny run whose G's learned part is zeroed: G is then the bicubic upscale, or a mid-gray fill of the hole."""
    cfg = config_from_dict({"data": {"name": "squares"}, "model": {"name": model, "options": {"g_width": 4, "d_width": 4, **options}},
                            "train": {"batch_size": 8}, "restore": {"degradation": degradation}})
    trainer = Trainer(cfg, path)
    for p in trainer.generator.head.parameters():
        torch.nn.init.zeros_(p)
    trainer.run.write_config(cfg)
    trainer.export()
    return path


def test_a_super_resolution_run_restores_by_the_bicubic_upscale(tmp_path):
    pipeline = gankit.load(_zeroed_run(tmp_path / "sr", "downscale_x2", "srresnet", {"scale": 2}))
    assert isinstance(pipeline, RestorationPipeline)
    low = torch.randint(0, 256, (3, 1, 14, 14), generator=torch.Generator().manual_seed(0), dtype=torch.uint8)
    expected = torch.nn.functional.interpolate(low.float() / 127.5 - 1, scale_factor=2, mode="bicubic", align_corners=False)
    expected = ((expected + 1) * 127.5).round().clamp(0, 255).to(torch.uint8)
    assert torch.equal(pipeline.restore(low), expected)
    with pytest.raises(GankitError, match="takes no mask"):
        pipeline.restore(low, mask=torch.zeros(1, 1, 28, 28, dtype=torch.bool))


def test_an_inpainting_run_keeps_the_known_pixels_and_needs_a_mask(tmp_path):
    pipeline = gankit.load(_zeroed_run(tmp_path / "inpaint", "mask_centre", "pix2pix", {"mask_input": True}))
    images = torch.randint(0, 256, (2, 1, 28, 28), generator=torch.Generator().manual_seed(1), dtype=torch.uint8)
    mask = torch.zeros(1, 1, 28, 28, dtype=torch.bool)
    mask[..., 7:21, 7:21] = True
    restored = pipeline.restore(images, mask=mask)
    assert torch.equal(restored[..., ~mask[0, 0]], images[..., ~mask[0, 0]])
    with pytest.raises(GankitError, match="give mask="):
        pipeline.restore(images)
    with pytest.raises(GankitError, match="uint8"):
        pipeline.restore(images.float(), mask=mask)


def test_restoration_runs_refuse_the_hugging_face_layout_in_one_line(tmp_path):
    pipeline = gankit.load(_zeroed_run(tmp_path / "sr", "downscale_x2", "srresnet", {"scale": 2}))
    with pytest.raises(GankitError, match="not written in the Hugging Face layout"):
        pipeline.save_pretrained(tmp_path / "hf")
    assert not (tmp_path / "hf").exists()
