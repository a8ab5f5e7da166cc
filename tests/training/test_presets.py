"""Presets ship inside the package and are found by name as well as by path."""

from pathlib import Path

import pytest
import yaml

import gankit
from gankit.errors import ConfigError
from gankit.training.config import PRESETS, load_config, preset_names, resolve_config_path

REPO = Path(__file__).resolve().parents[2]


def test_the_presets_live_in_the_package_and_configs_links_there():
    assert PRESETS == Path(gankit.__file__).parent / "configs"
    assert "mnist_dcgan" in preset_names() and "ring2d" in preset_names() and len(preset_names()) >= 19
    assert (REPO / "configs").resolve() == PRESETS.resolve()
    assert sorted(p.stem for p in (REPO / "configs").glob("*.yaml")) == preset_names()


def test_the_package_data_names_the_presets():
    import tomllib

    project = tomllib.loads((REPO / "pyproject.toml").read_text())
    assert "configs/*.yaml" in project["tool"]["setuptools"]["package-data"]["gankit"]
    assert any(dep.startswith("scipy") for dep in project["project"]["dependencies"])


@pytest.mark.parametrize("given", ["mnist_dcgan", "mnist_dcgan.yaml", "configs/mnist_dcgan.yaml"])
def test_a_preset_by_name_or_by_path(given, monkeypatch):
    monkeypatch.chdir(REPO)
    assert resolve_config_path(given).resolve() == (PRESETS / "mnist_dcgan.yaml").resolve()
    expected = yaml.safe_load((PRESETS / "mnist_dcgan.yaml").read_text())
    cfg = load_config(given)
    assert cfg.model.name == expected["model"]["name"] and cfg.model.options == expected["model"]["options"]


def test_a_file_in_the_working_directory_comes_before_a_preset(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "mnist_dcgan.yaml").write_text("model: {name: mlp}\n")
    assert load_config("mnist_dcgan.yaml").model.name == "mlp"
    assert load_config("mnist_dcgan").model.name == "dcgan"  # no file of that name here: the preset


def test_an_unknown_name_lists_the_presets(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ConfigError) as caught:
        load_config("mnist_dcgn")
    message = str(caught.value)
    assert "\n" not in message and message.startswith("mnist_dcgn: no such config file or preset")
    assert message.endswith("presets: " + ", ".join(preset_names()))


def test_a_missing_path_is_still_a_missing_file(tmp_path):
    with pytest.raises(ConfigError, match="config file not found"):
        load_config(tmp_path / "nope.yaml")


def test_gankit_train_takes_a_preset_name(tmp_path, monkeypatch, capsys):
    from gankit.cli import main

    monkeypatch.chdir(tmp_path)
    assert main(["train", "ring2d", "--max-steps", "1", "--set", "train.batch_size=8", "--no-progress"]) == 0
    assert (tmp_path / "runs" / "ring2d" / "export" / "generator.json").is_file()
    capsys.readouterr()
    assert main(["train", "ring2d_typo", "--max-steps", "1"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "presets: " in err[0] and "ring2d_info" in err[0]
