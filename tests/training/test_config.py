"""Config loading: the documented defaults, and one clear error for every kind of bad value."""

from pathlib import Path

import pytest
import yaml

from gankit.errors import ConfigError
from gankit.models import create_model
from gankit.training.config import Config, apply_overrides, config_from_dict, load_config, save_config

REPO = Path(__file__).resolve().parents[2]


def test_defaults_are_the_reference_algorithm():
    cfg = Config()
    assert (cfg.model.name, cfg.model.latent_dim, cfg.loss.name) == ("mlp", 100, "non_saturating")
    assert (cfg.optim.lr_g, cfg.optim.lr_d, cfg.optim.beta1, cfg.optim.beta2) == (2e-4, 2e-4, 0.5, 0.999)
    assert cfg.train.batch_size == 64


def test_reference_preset_loads():
    cfg = load_config(REPO / "configs" / "mnist_mlp.yaml")
    assert cfg.data.name == "mnist" and cfg.model.name == "mlp" and cfg.train.batch_size == 64


def test_every_preset_loads():
    presets = sorted((REPO / "configs").glob("*.yaml"))
    assert presets
    for path in presets:
        load_config(path)


# (image shape, classes) of the data sets the presets name; from the data sets' documentation, not from loading them.
PRESET_DATA = {"mnist": ((1, 28, 28), 10), "fashion-mnist": ((1, 28, 28), 10), "stacked-mnist": ((3, 28, 28), 1000),
               "ring": ((2,), 0), "grid": ((2,), 0), "emoji": ((3, 64, 64), 10)}


@pytest.mark.parametrize("path", sorted((REPO / "configs").glob("*.yaml")), ids=lambda p: p.stem)
def test_every_preset_builds_its_networks(path):
    """A misspelt or misplaced model option fails here, not twenty minutes into a run."""
    cfg = load_config(path)
    img_shape, classes = PRESET_DATA[cfg.data.name]
    classes = cfg.data.clusters or (classes if cfg.data.conditional else 0)  # self-conditioning: one class per cluster
    create_model(cfg.model.name, img_shape, cfg.model.latent_dim, classes, **cfg.model.options)


def test_overrides_are_parsed_as_yaml():
    cfg = load_config(None, ["optim.lr_g=1e-3", "train.batch_size=128", "model.options.dropout=0.1", "data.dir=null"])
    assert cfg.optim.lr_g == 1e-3 and cfg.train.batch_size == 128
    assert cfg.model.options == {"dropout": 0.1} and cfg.data.dir is None


def test_int_is_accepted_for_float():
    assert config_from_dict({"optim": {"lr_g": 1}}).optim.lr_g == 1.0


@pytest.mark.parametrize(
    "raw, needles",
    [
        ({"trian": {}}, ["trian", "allowed: data, model, loss, optim, train"]),
        ({"train": {"batch": 3}}, ["train", "batch", "batch_size"]),
        ({"train": {"batch_size": "big"}}, ["train.batch_size", "'big'", "int"]),
        ({"train": {"batch_size": 0}}, ["train.batch_size", "0", "minimum 1"]),
        ({"train": {"batch_size": 3.5}}, ["train.batch_size", "3.5"]),
        ({"train": {"batch_size": True}}, ["train.batch_size", "True"]),
        ({"optim": {"lr_g": 0}}, ["optim.lr_g", "greater than 0"]),
        ({"optim": {"lr_g": float("nan")}}, ["optim.lr_g", "finite"]),
        ({"optim": {"beta1": 1.5}}, ["optim.beta1", "maximum"]),
        ({"train": {"device": "tpu"}}, ["train.device", "'tpu'", "auto, cpu, cuda, mps"]),
        ({"model": {"name": "gpt"}}, ["model.name", "'gpt'", "mlp"]),
        ({"loss": {"name": "l2"}}, ["loss.name", "'l2'", "non_saturating"]),
        ({"data": {"name": "cifar"}}, ["data.name", "'cifar'", "mnist"]),
        ({"model": {"options": {"depth": 3}}}, ["model.options", "depth", "dropout"]),
        ({"model": []}, ["model", "mapping"]),
    ],
)
def test_bad_values_name_key_value_and_choices(raw, needles):
    with pytest.raises(ConfigError) as info:
        config_from_dict(raw)
    message = str(info.value)
    assert "\n" not in message
    for needle in needles:
        assert needle in message


def test_bad_yaml_and_missing_file(tmp_path):
    (tmp_path / "bad.yaml").write_text("train: [unclosed\n")
    with pytest.raises(ConfigError, match="bad.yaml: not valid YAML"):
        load_config(tmp_path / "bad.yaml")
    with pytest.raises(ConfigError, match="not found"):
        load_config(tmp_path / "missing.yaml")
    (tmp_path / "list.yaml").write_text("- 1\n- 2\n")
    with pytest.raises(ConfigError, match="mapping"):
        load_config(tmp_path / "list.yaml")


@pytest.mark.parametrize("text", ["novalue", "=3", "a..b=1", "train.batch_size=[1"])
def test_bad_override_syntax(text):
    with pytest.raises(ConfigError, match="--set"):
        apply_overrides({}, [text])


def test_override_into_a_scalar_is_refused():
    with pytest.raises(ConfigError, match="not a section"):
        apply_overrides({"train": 3}, ["train.seed=1"])


def test_saved_config_round_trips(tmp_path):
    cfg = load_config(None, ["train.seed=7", "model.options.dropout=0.2"])
    save_config(cfg, tmp_path / "c.yaml")
    assert config_from_dict(yaml.safe_load((tmp_path / "c.yaml").read_text())) == cfg
