"""docs/configuration.md is generated from training/config.py's dataclasses and documents every key."""

from __future__ import annotations

import dataclasses
import math
import textwrap

import yaml

from tests.docs.helpers import load_tool

gen = load_tool("gen_config")

SOURCE = textwrap.dedent('''
    from dataclasses import dataclass, field

    def _field(default, **rules):
        return field(default=default, metadata=rules)

    @dataclass
    class PartConfig:
        """A part."""

        size: int = _field(3, min=1, max=2**4 - 1)
        """How big.

        In units."""
        mode: str = _field("a", choices=("a", "b"))
        rate: float | None = _field(None, min_exclusive=0.0)
        """A rate."""
        flag: bool = False
        items: list = field(default_factory=list)

    @dataclass
    class Loose:
        """Reached from nowhere."""

        x: int = 1

    @dataclass
    class Config:
        part: PartConfig = field(default_factory=PartConfig)
''')


def test_fields_read_with_default_rules_and_docstring():
    classes = gen.parse_dataclasses(SOURCE)
    assert list(classes) == ["PartConfig", "Loose", "Config"]
    size, mode, rate, flag, items = classes["PartConfig"].fields
    assert (size.name, size.annotation, size.default, size.rules, size.doc) == ("size", "int", 3, {"min": 1, "max": 15}, "How big.\n\nIn units.")
    assert (mode.default, mode.rules, mode.doc) == ("a", {"choices": ("a", "b")}, "")
    assert (rate.annotation, rate.default, rate.rules, rate.doc) == ("float | None", None, {"min_exclusive": 0.0}, "A rate.")
    assert (flag.default, flag.rules) == (False, {})
    assert items.default_text == "list()" and items.factory == "list"
    assert classes["Config"].fields[0].factory == "PartConfig"


def test_a_section_renders_key_type_default_allowed_and_description():
    text = gen.render(SOURCE, families=None)
    assert "| `part.size` | int | `3` | >= 1, <= 15 | How big. In units. |" in text
    assert "| `part.mode` | str | `a` | one of a, b | - |" in text
    assert "| `part.rate` | float or null | `null` | > 0.0, or null | A rate. |" in text
    assert "| `part.flag` | bool | `false` | true, false | - |" in text
    # a dataclass that Config does not reach is still listed
    assert "## Other classes in `training/config.py`" in text and "| `x` | int | `1` | - | - |" in text


def test_committed_page_matches_the_generator():
    assert gen.PAGE.read_text() == gen.page(), "docs/configuration.md is out of date: run python docs/tools/gen_config.py"


def _rows(page: str) -> dict[str, list[str]]:
    rows = {}
    for line in page.splitlines():
        if line.startswith("| `") and line.count("|") >= 6:
            cells = [c.strip() for c in line.strip("|").split(" | ")]
            if "." in cells[0]:
                rows[cells[0].strip("`")] = cells
    return rows


def test_every_key_of_the_loaded_config_is_documented_with_its_default_and_rules():
    from gankit.training.config import Config

    rows = _rows(gen.PAGE.read_text())
    documented = 0
    for section in dataclasses.fields(Config):
        instance = section.default_factory()
        for f in dataclasses.fields(instance):
            key = f"{section.name}.{f.name}"
            assert key in rows, f"{key} is missing from docs/configuration.md"
            _, _, default, allowed, _ = rows[key]
            expected = getattr(instance, f.name)
            shown = yaml.safe_load(default.strip("`"))
            assert shown == expected or (isinstance(expected, float) and math.isclose(shown, expected)), key
            rules = f.metadata
            if "choices" in rules:
                assert all(str(c) in allowed for c in rules["choices"]), key
            for name, sign in (("min", ">="), ("max", "<="), ("min_exclusive", ">")):
                if name in rules:
                    assert yaml.safe_load(allowed.split(f"{sign} ")[1].split(",")[0]) == rules[name], key
            documented += 1
    assert documented == len(rows)


def test_every_model_family_is_listed_with_its_options():
    from gankit.models import MODELS, model_options

    page = gen.PAGE.read_text()
    for name in MODELS.names():
        assert f"### `{name}`" in page
        section = page.split(f"### `{name}`", 1)[1].split("### ", 1)[0]
        for option, default in model_options(name).items():
            expected = list(default) if isinstance(default, tuple) else default
            assert f"| `{option}` | `" in section, (name, option)
            cell = section.split(f"| `{option}` | `", 1)[1].split("`", 1)[0]
            assert yaml.safe_load(cell) == expected, (name, option)


def test_a_family_is_listed_with_its_options_docstrings(monkeypatch):
    from dataclasses import dataclass

    from gankit import models
    from gankit.models.base import GANPair
    from gankit.models.options import ModelOptions, option
    from gankit.registry import Registry

    @dataclass(frozen=True)
    class WidgetOptions(ModelOptions):
        width: int = option(32, min=1)
        """Channels of the first layer."""
        hidden: tuple[int, ...] = (64, 32)

    def widget(img_shape, latent_dim: int, num_classes: int, options: WidgetOptions) -> GANPair:
        """A widget pair.

        More text that the page leaves out."""

    registry = Registry("model")
    registry.register("widget")(widget)
    monkeypatch.setattr(models, "MODELS", registry)
    monkeypatch.setattr(models, "options_class", lambda name: WidgetOptions)
    assert gen.model_families() == [
        "### `widget`", "", "A widget pair.", "",
        "| option | default | description |", "| --- | --- | --- |",
        "| `width` | `32` | Channels of the first layer. |",
        "| `hidden` | `[64, 32]` | - |",
        "",
    ]
