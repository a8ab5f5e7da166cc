"""Every registered family's options class: one list of options that the factory reads, checks and documents.

``fixtures/reference_models.json`` holds what gankit 7757de4 (before the options classes) offered and built:
each family's options with their defaults, and for every preset of that commit the model spec with the name
and shape of every parameter and buffer of its networks.
"""

from __future__ import annotations

import dataclasses
import inspect
import json
import typing
from pathlib import Path

import pytest
import torch

from gankit.errors import ConfigError
from gankit.models import MODELS, create_model, model_options, options_class
from gankit.models.options import ModelOptions, option
from gankit.training.config import config_from_dict

REFERENCE = json.loads((Path(__file__).parent / "fixtures" / "reference_models.json").read_text())


@pytest.mark.parametrize("name", MODELS.names())
def test_the_factory_takes_its_options_class_and_nothing_else(name):
    factory = MODELS.get(name)
    cls = options_class(name)
    assert dataclasses.is_dataclass(cls) and issubclass(cls, ModelOptions)
    assert list(inspect.signature(factory).parameters) == ["img_shape", "latent_dim", "num_classes", "options"]
    assert typing.get_type_hints(factory)["options"] is cls
    assert model_options(name) == {f.name: f.default for f in dataclasses.fields(cls)}
    assert set(getattr(factory, "tiny_kwargs", {}).get("options", {})) <= set(model_options(name))
    with pytest.raises(dataclasses.FrozenInstanceError):  # options cannot change after they are checked
        setattr(cls(), dataclasses.fields(cls)[0].name, None)


@pytest.mark.parametrize("name", MODELS.names())
def test_every_option_is_documented(name):
    cls = options_class(name)
    assert cls.__doc__ and not cls.__doc__.startswith(cls.__name__ + "("), f"{cls.__name__} has no docstring"
    undocumented = [key for key, doc in cls.field_docs().items() if len(doc) < 20]
    assert not undocumented, f"{cls.__name__}: options without a docstring: {undocumented}"


def test_options_and_defaults_are_those_users_know():
    """The keys of model.options and their defaults are those of 7757de4, family by family (families added since
    then, such as the restoration ones, have their own tests)."""
    current = {name: {k: list(v) if isinstance(v, tuple) else v for k, v in model_options(name).items()} for name in MODELS.names()}
    assert set(REFERENCE["options"]) <= set(current)
    assert {name: current[name] for name in REFERENCE["options"]} == REFERENCE["options"]


@pytest.mark.parametrize("preset", sorted(REFERENCE["models"]))
def test_every_preset_model_has_the_parameters_it_had(preset):
    """Same names, shapes and order of every parameter and buffer, so existing checkpoints and exports load."""
    spec = REFERENCE["models"][preset]
    pair = create_model(spec["model"], tuple(spec["img_shape"]), spec["latent_dim"], spec["num_classes"], **spec["options"])
    for network, expected in (("generator", spec["generator"]), ("discriminator", spec["discriminator"])):
        shapes = {key: list(value.shape) for key, value in getattr(pair, network).state_dict().items()}
        assert list(shapes.items()) == list(expected.items()), f"{preset}: {network} differs"


def _count(module: torch.nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())


def test_dcgan_parameter_count_by_hand():
    """dcgan at 28 px, z 100, widths 8: G 100 -> 16x7x7 -> 8x14x14 -> 1x28x28, D 1x28x28 -> 8x14x14 -> 16x7x7 -> 1."""
    pair = create_model("dcgan", (1, 28, 28), 100, g_width=8, d_width=8)
    projection = 100 * 16 * 7 * 7  # Linear without bias (BatchNorm follows)
    g = projection + 2 * 16 + 16 * 8 * 4 * 4 + 2 * 8 + (8 * 1 * 4 * 4 + 1)  # BN(16), ConvT no bias, BN(8), ConvT to the image
    d = (1 * 8 * 4 * 4 + 8) + 8 * 16 * 4 * 4 + 2 * 16 + (16 * 7 * 7 + 1)  # conv, conv without bias, BN(16), linear head
    assert (_count(pair.generator), _count(pair.discriminator)) == (g, d) == (80625, 3001)


def test_mlp2d_info_parameter_count_by_hand():
    """ring2d_info: z 16 whose first coordinate becomes a one-hot code of 8, hidden 3 x 256, D packing 2 points."""
    pair = create_model("mlp2d", (2,), 16, g_hidden=[256] * 3, d_hidden=[256] * 3, pack=2, components=8)
    g = (15 + 8) * 256 + 256 + 2 * (256 * 256 + 256) + 256 * 2 + 2
    d = (2 * 2) * 256 + 256 + 2 * (256 * 256 + 256) + (256 + 1) + (256 * 2 * 8 + 2 * 8)  # ..., logit, code head
    assert (_count(pair.generator), _count(pair.discriminator)) == (g, d)


# For each family: (image shape, classes, base options, {option: (value, companions)}). Setting the option to the
# value (with the companions on both sides) must change the networks built: every option is read and does something.
CHANGES = {
    "mlp": ((1, 28, 28), 0, {"g_hidden": [8], "d_hidden": [8]},
            {"g_hidden": ([8, 8], {}), "d_hidden": ([4], {}), "dropout": (0.5, {})}),
    "mlp_cond": ((1, 28, 28), 3, {"g_hidden": [8], "d_hidden": [8]},
                 {"g_hidden": ([8, 8], {}), "d_hidden": ([4], {}), "dropout": (0.5, {}), "auxiliary": (True, {}),
                  "twin": (True, {"auxiliary": True}), "projection": (True, {"auxiliary": True})}),
    "mlp2d": ((2,), 0, {"g_hidden": [8], "d_hidden": [8]},
              {"g_hidden": ([8, 8], {}), "d_hidden": ([8, 8], {}), "spectral_norm": (True, {}), "pack": (2, {}),
               "mbstd_group": (2, {}), "components": (3, {})}),
    "dcgan": ((3, 32, 32), 0, {"g_width": 4, "d_width": 4},
              {"g_width": (8, {}), "d_width": (8, {}), "g_norm": ("none", {}), "d_norm": ("none", {}), "spectral_norm": (True, {}),
               "pack": (2, {}), "mbstd_group": (2, {}), "skip_excitation": (True, {}), "reconstruction": (True, {}),
               "g_dense": (8, {}), "d_dense": (8, {})}),
    "dcgan_cond": ((3, 32, 32), 3, {"g_width": 4, "d_width": 4},
                   {"g_width": (8, {}), "d_width": (8, {}), "g_norm": ("none", {"conditioning": "embed"}), "d_norm": ("batch", {}),
                    "spectral_norm": (False, {}), "mbstd_group": (2, {}), "skip_excitation": (True, {}), "reconstruction": (True, {}),
                    "conditioning": ("embed", {}), "auxiliary": (True, {}), "twin": (True, {"auxiliary": True}),
                    "projection": (True, {"auxiliary": True})}),
    "resnet": ((3, 32, 32), 0, {"g_width": 4, "d_width": 4},
               {"g_width": (8, {}), "d_width": (8, {}), "spectral_norm": (False, {}), "pack": (2, {}), "mbstd_group": (2, {})}),
    "resnet_cond": ((3, 32, 32), 3, {"g_width": 4, "d_width": 4},
                    {"g_width": (8, {}), "d_width": (8, {}), "spectral_norm": (False, {}), "mbstd_group": (2, {}), "auxiliary": (True, {}),
                     "twin": (True, {"auxiliary": True}), "projection": (True, {"auxiliary": True})}),
    "hybrid": ((1, 28, 28), 0, {"generator": "dcgan", "discriminator": "mlp+dcgan", "g_width": 4, "d_width": 4, "g_hidden": [8], "d_hidden": [8]},
               {"generator": ("mlp", {}), "discriminator": ("dcgan", {}), "g_hidden": ([8, 8], {"generator": "mlp"}), "d_hidden": ([4], {}),
                "dropout": (0.5, {}), "g_width": (8, {}), "d_width": (8, {}), "g_norm": ("none", {}), "d_norm": ("batch", {}),
                "spectral_norm": (False, {}), "mbstd_group": (2, {}), "pack": (2, {}), "components": (3, {}),
                "codes": (2, {"components": 3}), "code_from": ("dcgan", {"components": 3})}),
    "hybrid_cond": ((1, 28, 28), 3, {"g_width": 4, "d_width": 4, "g_hidden": [8], "d_hidden": [8]},
                    {"generator": ("mlp", {}), "discriminator": ("dcgan", {}), "g_hidden": ([8, 8], {"generator": "mlp"}),
                     "d_hidden": ([4], {}), "dropout": (0.5, {}), "g_width": (8, {}), "d_width": (8, {}),
                     "g_norm": ("none", {"conditioning": "embed"}), "d_norm": ("batch", {}), "spectral_norm": (False, {}),
                     "mbstd_group": (2, {}), "conditioning": ("embed", {})}),
    "vae": ((1, 28, 28), 0, {"g_width": 4, "d_width": 4}, {"g_width": (8, {}), "d_width": (8, {}), "norm": ("none", {})}),
    "pix2pix": ((1, 32, 32), 0, {"g_width": 4, "d_width": 4}, {"scale": (2, {}), "mask_input": (True, {}), "residual": (False, {}), "g_width": (8, {}),
                                   "g_norm": ("batch", {}), "d_width": (8, {}), "d_layers": (1, {}), "spectral_norm": (False, {}),
                                   "depth": (3, {}), "dropout": (0.5, {}), "bottleneck": ("channel_fc", {})}),
    "srresnet": ((1, 32, 32), 0, {"g_width": 4, "d_width": 4}, {"scale": (2, {}), "mask_input": (True, {}), "residual": (False, {}), "g_width": (8, {}),
                                   "g_norm": ("batch", {}), "d_width": (8, {}), "d_layers": (1, {}), "spectral_norm": (False, {}),
                                    "blocks": (2, {})}),
}


def _architecture(name: str, img_shape, num_classes: int, options: dict) -> str:
    """What was built: the modules with their sizes and settings (repr) and every tensor's name and shape."""
    pair = create_model(name, img_shape, 8, num_classes, **options)
    shapes = [(key, tuple(value.shape)) for net in (pair.generator, pair.discriminator) for key, value in net.state_dict().items()]
    return f"{pair.generator!r}\n{pair.discriminator!r}\n{shapes}"


@pytest.mark.parametrize("name", MODELS.names())
def test_every_option_changes_what_the_factory_builds(name):
    assert name in CHANGES, f"add {name!r} to CHANGES: a value for each of its options"
    img_shape, num_classes, base, changes = CHANGES[name]
    assert sorted(changes) == sorted(model_options(name)), "CHANGES must name every option of the family"
    for key, (value, companions) in changes.items():
        before = _architecture(name, img_shape, num_classes, {**base, **companions})
        after = _architecture(name, img_shape, num_classes, {**base, **companions, key: value})
        assert before != after, f"{name}: setting {key}={value!r} changed nothing"


@pytest.mark.parametrize(
    "name, options, needles",
    [
        ("dcgan", {"g_width": 0}, ["model.options.g_width: 0 is not allowed", "a whole number >= 1"]),
        ("dcgan", {"d_width": True}, ["model.options.d_width: true", "a whole number >= 1"]),
        ("resnet", {"pack": 1.5}, ["model.options.pack: 1.5", "a whole number >= 1"]),
        ("mlp", {"dropout": 1.5}, ["model.options.dropout: 1.5", "a finite number from 0 to 1"]),
        ("mlp", {"dropout": float("nan")}, ["model.options.dropout: nan", "from 0 to 1"]),
        ("mlp", {"g_hidden": [16, 0]}, ["model.options.g_hidden: [16, 0]", "a list of whole numbers >= 1"]),
        ("mlp", {"d_hidden": 256}, ["model.options.d_hidden: 256", "a list of whole numbers >= 1"]),
        ("mlp_cond", {"projection": "yes"}, ["model.options.projection: 'yes'", "true or false, or null"]),
        ("vae", {"norm": "layer"}, ["model.options.norm: 'layer'", "one of: batch, none"]),
        ("mlp2d", {"mbstd_group": -1}, ["model.options.mbstd_group: -1", "a whole number >= 0"]),
        ("dcgan_cond", {"g_norm": "none"}, ["model.options.g_norm: 'none'", "conditioning='cbn' needs g_norm='batch'"]),
        ("hybrid", {"components": 4, "pack": 2}, ["model.options.pack: 2", "needs pack=1"]),
        ("hybrid_cond", {"discriminator": "mlp", "mbstd_group": 2}, ["model.options.mbstd_group: 2", "'dcgan' or 'mlp+dcgan'"]),
        ("mlp", {"width": 3, "x y": 1}, ["model.options: unknown option(s) 'x y', width for model 'mlp'", "allowed: d_hidden, dropout, g_hidden"]),
    ],
)
def test_a_bad_option_names_itself_its_value_and_what_is_allowed(name, options, needles):
    """One message, from one place, whether the options come from create_model or from a config file."""
    messages = []
    for build in (lambda: create_model(name, (1, 28, 28), 8, 0, **options),
                  lambda: config_from_dict({"model": {"name": name, "options": options}})):
        with pytest.raises(ConfigError) as info:
            build()
        messages.append(str(info.value))
    assert len(set(messages)) == 1 and "\n" not in messages[0], messages
    for needle in needles:
        assert needle in messages[0]


@dataclasses.dataclass(frozen=True)
class _Tiny(ModelOptions):
    """Options of a family defined here only."""

    hidden: tuple[int, ...] = option((4,), min=1)
    """Hidden widths."""
    rate: float = option(0.5, min=0, max=1)
    """A probability."""
    mode: str = option("a", choices=("a", "b"))
    """A choice."""
    gate: bool | None = None
    """On, off, or chosen by the model."""


def test_values_come_out_typed_from_yaml_values():
    options = _Tiny.from_dict("tiny", {"hidden": [8, 16], "rate": 1, "gate": True})
    assert options == _Tiny(hidden=(8, 16), rate=1.0, mode="a", gate=True)
    assert isinstance(options.hidden, tuple) and isinstance(options.rate, float)
    assert _Tiny.defaults() == {"hidden": (4,), "rate": 0.5, "mode": "a", "gate": None}
    assert _Tiny.field_docs() == {"hidden": "Hidden widths.", "rate": "A probability.", "mode": "A choice.",
                                  "gate": "On, off, or chosen by the model."}
    with pytest.raises(ConfigError, match=r"^model.options.mode: 'c' is not allowed; mode must be one of: a, b$"):
        _Tiny.from_dict("tiny", {"mode": "c"})
    with pytest.raises(ConfigError, match=r"^model.options: unknown option\(s\) 'a b' for model 'tiny'; allowed: gate, hidden, mode, rate$"):
        _Tiny.from_dict("tiny", {"a b": 1})
