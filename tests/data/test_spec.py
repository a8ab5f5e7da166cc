"""DatasetSpec: what a run's data section says travels to the metrics, with no module-level state."""

from __future__ import annotations

import pytest
import torch
from PIL import Image

import gankit.data
from gankit.data import DatasetSpec, load_data, load_dataset
from gankit.data.folder import ImageOptions
from gankit.errors import ConfigError
from gankit.training.config import config_from_dict


def _folder(root, size=48):
    for label, colour in (("a", (200, 0, 0)), ("b", (0, 0, 200))):
        (root / label).mkdir(parents=True)
        for i in range(12):
            Image.new("RGB", (size, size), (colour[0], i, colour[2])).save(root / label / f"{i}.png")


def test_a_folder_spec_carries_the_folder_size_and_colours_of_the_config(tmp_path):
    _folder(tmp_path / "img")
    cfg = config_from_dict({"data": {"name": "folder", "folder": str(tmp_path / "img"), "dir": str(tmp_path / "root"),
                                     "image_size": 32, "channels": 1, "fit": "pad"}})
    spec = DatasetSpec.from_config(cfg.data)
    assert spec == DatasetSpec("folder", str(tmp_path / "root"), (
        ("folder", str(tmp_path / "img")), ("image", ImageOptions(size=32, channels=1, background=(255, 255, 255), fit="pad"))))
    hash(spec)  # specs key caches
    for split in ("train", "test"):
        loaded, expected = spec.load(split), load_data(cfg.data, split)
        assert loaded.img_shape == (1, 32, 32) and loaded.class_names == ("a", "b")
        torch.testing.assert_close(loaded.images, expected.images, rtol=0, atol=0)
    # The bare name knows nothing of the run's folder: that is what the spec is for.
    with pytest.raises(ConfigError):
        DatasetSpec("folder", str(tmp_path / "root")).load()


def test_a_name_becomes_a_spec_and_a_data_dir_replaces_the_root(tmp_path):
    assert DatasetSpec.of("squares") == DatasetSpec("squares") and DatasetSpec.of("squares", tmp_path) == DatasetSpec("squares", str(tmp_path))
    spec = DatasetSpec("folder", "/a", (("folder", "/img"),))
    assert DatasetSpec.of(spec) is spec
    assert DatasetSpec.of(spec, "/b") == DatasetSpec("folder", "/b", (("folder", "/img"),))
    torch.testing.assert_close(DatasetSpec("squares").load("test").images, load_dataset("squares", "test").images, rtol=0, atol=0)
    assert DatasetSpec.from_config(config_from_dict({"data": {"name": "squares"}}).data) == DatasetSpec("squares")


def test_no_module_level_dataset_defaults_remain():
    assert not hasattr(gankit.data, "dataset_defaults")
    assert not [name for name in vars(gankit.data) if name.upper() == name and name.startswith("_")]
