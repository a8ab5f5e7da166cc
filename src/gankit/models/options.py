"""Typed model options: one frozen dataclass per model family.

A family's options class is the one list of what ``model.options`` may hold for it: each field is an option,
with its default, the values it allows (:func:`option`) and, in the docstring under it, what it does. The
family's factory reads it, :func:`gankit.models.model_options` lists it, the config loader checks
``model.options`` against it and the documentation is generated from it (:meth:`ModelOptions.field_docs`).

Building an options object checks every value: a bad one raises :class:`~gankit.errors.ConfigError` naming
the option, the value and what is allowed. Checks that need the data (image size, number of classes,
``model.latent_dim``) are the factory's.

Example:
    >>> @dataclass(frozen=True)
    ... class TinyOptions(ModelOptions):
    ...     width: int = option(64, min=1)
    ...     \"\"\"Channels of the first layer.\"\"\"
    >>> TinyOptions.from_dict("tiny", {"width": 0})
    Traceback (most recent call last):
    gankit.errors.ConfigError: model.options.width: 0 is not allowed; width must be a whole number >= 1
"""

from __future__ import annotations

import ast
import dataclasses
import inspect
import math
import sys
import textwrap
import types
import typing
from dataclasses import dataclass
from typing import Any, Mapping, TypeVar

from gankit.errors import ConfigError

Options = TypeVar("Options", bound="ModelOptions")


def option(default: Any, *, min: float | None = None, max: float | None = None, choices: tuple | None = None) -> Any:
    """A dataclass field for a model option and the values it allows.

    Args:
        default: the value when the config does not set the option.
        min, max: the smallest and largest number allowed (for a list: each item).
        choices: the strings allowed.
    """
    rules = {key: value for key, value in (("min", min), ("max", max), ("choices", choices)) if value is not None}
    return dataclasses.field(default=default, metadata=rules)


def refuse(name: str, value: Any, allowed: str) -> ConfigError:
    """The one-line error for option ``name`` set to ``value``: ``model.options.NAME: VALUE is not allowed; ALLOWED``."""
    return ConfigError(f"model.options.{name}: {_text(value)} is not allowed; {allowed}")


@dataclass(frozen=True)
class ModelOptions:
    """The options of one model family: subclasses declare them as fields.

    A field's type is one of ``bool``, ``int``, ``float``, ``str``, ``tuple[int, ...]`` (a list in YAML), or
    one of these ``| None``; :func:`option` adds the values allowed. Checks that involve several options go
    in :meth:`check`.
    """

    def __post_init__(self) -> None:
        hints = typing.get_type_hints(type(self))
        for f in dataclasses.fields(self):
            object.__setattr__(self, f.name, _checked(f.name, getattr(self, f.name), hints[f.name], f.metadata))
        self.check()

    def check(self) -> None:
        """Raise :class:`ConfigError` (see :func:`refuse`) where options do not go together."""

    @classmethod
    def from_dict(cls: type[Options], family: str, options: Mapping[Any, Any]) -> Options:
        """The options of model ``family`` from ``model.options`` (YAML values: lists for tuples)."""
        allowed = sorted(f.name for f in dataclasses.fields(cls))
        unknown = sorted(_key_text(key) for key in options if key not in allowed)
        if unknown:
            raise ConfigError(f"model.options: unknown option(s) {', '.join(unknown)} for model {family!r}; "
                              f"allowed: {', '.join(allowed) or 'none'}")
        return cls(**options)

    @classmethod
    def defaults(cls) -> dict[str, Any]:
        """Every option's name and default, in declaration order."""
        return {f.name: f.default for f in dataclasses.fields(cls)}

    @classmethod
    def field_docs(cls) -> dict[str, str]:
        """Every option's name and docstring (the string literal under the field), in declaration order."""
        docs: dict[str, str] = {}
        for klass in reversed(cls.__mro__):  # a subclass that declares a field again documents it again
            if dataclasses.is_dataclass(klass):
                docs.update(_attribute_docstrings(klass))
        return {f.name: docs.get(f.name, "") for f in dataclasses.fields(cls)}


@dataclass(frozen=True)
class ClassHeadOptions(ModelOptions):
    """The discriminator head of a class-conditional family.

    By default D ends in a projection head (Miyato & Koyama, "cGANs with Projection Discriminator", ICLR 2018).
    With ``auxiliary`` it ends in a classifier instead (AC-GAN, Odena et al., "Conditional Image Synthesis with
    Auxiliary Classifier GANs", ICML 2017), and with ``twin`` as well in a second one for the fakes (TAC-GAN,
    Gong et al., "Twin Auxiliary Classifiers GAN", NeurIPS 2019).
    """

    auxiliary: bool = False
    """AC-GAN: D also classifies the images it judges and both players add the classification loss
    (``reg.aux_weight``); replaces the projection unless ``projection`` is true."""
    twin: bool = False
    """TAC-GAN (needs ``auxiliary``): a twin classifier learns the classes of the fakes and G also maximises
    its loss, which removes AC-GAN's bias towards easily classified samples (Gong et al. 2019, Eq. 9)."""
    projection: bool | None = None
    """Whether D projects the label onto its features: null (the default) does so only without
    ``auxiliary``; true with ``auxiliary`` keeps both heads; false needs ``auxiliary`` (else D ignores the labels)."""

    def check(self) -> None:
        super().check()
        if self.twin and not self.auxiliary:
            raise refuse("twin", self.twin, "twin=true (TAC-GAN) needs auxiliary=true; set both, or neither")
        if self.projection is False and not self.auxiliary:
            raise refuse("projection", self.projection, "projection=false without auxiliary=true leaves D blind to the "
                         "labels; set auxiliary=true, or leave projection unset")


def _checked(name: str, value: Any, annotation: Any, rules: Mapping[str, Any]) -> Any:
    """``value`` as option ``name`` of type ``annotation`` within ``rules``: a list becomes a tuple, an int a float."""
    args = typing.get_args(annotation)
    nullable = typing.get_origin(annotation) in (typing.Union, types.UnionType) and type(None) in args
    if nullable:
        if value is None:
            return None
        (annotation,) = [arg for arg in args if arg is not type(None)]
    if typing.get_origin(annotation) is tuple:
        item_type = typing.get_args(annotation)[0]
        if isinstance(value, (list, tuple)) and all(_fits(item, item_type, rules) for item in value):
            return tuple(value)
    elif _fits(value, annotation, rules):
        return float(value) if annotation is float else value
    raise refuse(name, value, f"{name} must be {_allowed(annotation, rules)}" + (", or null" if nullable else ""))


def _fits(value: Any, kind: type, rules: Mapping[str, Any]) -> bool:
    if kind is bool or kind is str:
        return isinstance(value, kind) and value in rules.get("choices", (value,))
    if isinstance(value, bool) or not isinstance(value, int if kind is int else (int, float)):
        return False
    if kind is float and not abs(value) <= sys.float_info.max:  # inf, nan, or an int too large for a float
        return False
    return rules.get("min", -math.inf) <= value <= rules.get("max", math.inf)


def _allowed(annotation: Any, rules: Mapping[str, Any]) -> str:
    """What option values of this type and rules are, in words: "a whole number >= 1", "one of: batch, none"."""
    if typing.get_origin(annotation) is tuple:
        item = _allowed(typing.get_args(annotation)[0], rules).removeprefix("a ")
        return f"a list of {item.replace('number', 'numbers', 1)}"
    if "choices" in rules:
        return f"one of: {', '.join(map(str, rules['choices']))}"
    if annotation is bool:
        return "true or false"
    if annotation is str:
        return "a string"
    noun = "a whole number" if annotation is int else "a finite number"
    if "min" in rules and "max" in rules:
        return f"{noun} from {rules['min']} to {rules['max']}"
    if "min" in rules:
        return f"{noun} >= {rules['min']}"
    return f"{noun} <= {rules['max']}" if "max" in rules else noun


def _text(value: Any) -> str:
    """A value as the YAML that sets it reads: true, false, null; anything else as Python shows it."""
    if isinstance(value, bool) or value is None:
        return {True: "true", False: "false", None: "null"}[value]
    return repr(value)


def _key_text(key: Any) -> str:
    """A key as it reads in a one-line message: plain names bare, anything else quoted and escaped."""
    return key if isinstance(key, str) and key.isidentifier() else repr(key)


def _attribute_docstrings(klass: type) -> dict[str, str]:
    """The string literal under each annotated name in ``klass``'s own body (empty if its source is not at hand)."""
    try:
        source = textwrap.dedent(inspect.getsource(klass))
    except (OSError, TypeError):
        return {}
    body = ast.parse(source).body[0].body
    return {
        statement.target.id: inspect.cleandoc(following.value.value)
        for statement, following in zip(body, body[1:])
        if isinstance(statement, ast.AnnAssign) and isinstance(statement.target, ast.Name)
        and isinstance(following, ast.Expr) and isinstance(following.value, ast.Constant) and isinstance(following.value.value, str)
    }
