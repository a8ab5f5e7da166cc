"""Generate docs/configuration.md from the config dataclasses and their attribute docstrings.

``src/gankit/training/config.py`` is parsed with :mod:`ast`, not imported, so the
reference shows exactly what the source says: every section (a dataclass reached
from the root ``Config``), every key with its annotation, its default, the values
its field rules allow (``min``, ``max``, ``min_exclusive``, ``max_exclusive``,
``choices``) and the docstring written under it. Dataclasses of the module that
``Config`` does not reach are listed after the sections, so a new one is never
left out. When ``gankit.models`` can be imported, a last section lists every
registered model family's options (``model.options``) with their defaults, and
their docstrings where a family declares its options as a dataclass.

    python docs/tools/gen_config.py          # rewrite docs/configuration.md
    python docs/tools/gen_config.py --check  # exit 1 when the committed page differs
"""

from __future__ import annotations

import argparse
import ast
import dataclasses
import inspect
import operator
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
CONFIG_SOURCE = ROOT / "src" / "gankit" / "training" / "config.py"
PAGE = ROOT / "docs" / "configuration.md"
ROOT_CLASS = "Config"
RULE_NAMES = ("min", "min_exclusive", "max", "max_exclusive", "choices")

_NOT_LITERAL = object()
_BINOPS = {ast.Add: operator.add, ast.Sub: operator.sub, ast.Mult: operator.mul, ast.Pow: operator.pow,
           ast.Div: operator.truediv}


@dataclass
class FieldDoc:
    """One key of a section, as written in the source."""

    name: str
    annotation: str
    default: Any = _NOT_LITERAL  # a Python value, or _NOT_LITERAL when the default is not a literal
    default_text: str = ""  # the default's source text
    factory: str | None = None  # the class named by default_factory, when there is one
    rules: dict[str, Any] = field(default_factory=dict)
    doc: str = ""


@dataclass
class ClassDoc:
    """One dataclass of the module: its docstring and its fields in order."""

    name: str
    doc: str
    fields: list[FieldDoc]


def literal(node: ast.AST) -> Any:
    """The value of a literal expression, arithmetic on numbers included (``2**31 - 1``); else _NOT_LITERAL."""
    try:
        return ast.literal_eval(node)
    except (ValueError, TypeError, SyntaxError):
        pass
    if isinstance(node, ast.BinOp) and type(node.op) in _BINOPS:
        left, right = literal(node.left), literal(node.right)
        if isinstance(left, (int, float)) and isinstance(right, (int, float)):
            return _BINOPS[type(node.op)](left, right)
    return _NOT_LITERAL


def _is_dataclass_decorator(node: ast.expr) -> bool:
    target = node.func if isinstance(node, ast.Call) else node
    return (isinstance(target, ast.Name) and target.id == "dataclass") or (
        isinstance(target, ast.Attribute) and target.attr == "dataclass"
    )


def _call_name(node: ast.AST) -> str | None:
    if isinstance(node, ast.Call):
        if isinstance(node.func, ast.Name):
            return node.func.id
        if isinstance(node.func, ast.Attribute):
            return node.func.attr
    return None


def _docstring_after(body: list[ast.stmt], index: int) -> str:
    """The string literal right under statement ``index`` (an attribute docstring), dedented."""
    if index + 1 < len(body):
        nxt = body[index + 1]
        if isinstance(nxt, ast.Expr) and isinstance(nxt.value, ast.Constant) and isinstance(nxt.value.value, str):
            return inspect.cleandoc(nxt.value.value)
    return ""


def parse_field(stmt: ast.AnnAssign, doc: str) -> FieldDoc:
    """A field's annotation, default and rules from ``name: T = default``, ``_field(default, **rules)`` or ``field(...)``."""
    assert isinstance(stmt.target, ast.Name)
    result = FieldDoc(name=stmt.target.id, annotation=ast.unparse(stmt.annotation), doc=doc)
    value = stmt.value
    if value is None:
        result.default_text = "(required)"
        return result
    call = _call_name(value)
    keyword_names = {k.arg for k in value.keywords} if isinstance(value, ast.Call) else set()
    if call not in ("field", "_field") and keyword_names & (set(RULE_NAMES) | {"metadata", "default", "default_factory"}):
        call = "_field"  # another helper in the style of _field(default, **rules)
    if call in ("field", "_field") and isinstance(value, ast.Call):
        keywords = {k.arg: k.value for k in value.keywords if k.arg}
        if call == "_field" and value.args:
            default_node: ast.AST | None = value.args[0]
        else:
            default_node = keywords.get("default")
        factory = keywords.get("default_factory")
        if isinstance(factory, ast.Name):
            result.factory = factory.id
            result.default_text = f"{factory.id}()"
        elif factory is not None:
            result.default_text = ast.unparse(factory) + "()"
        if default_node is not None:
            result.default = literal(default_node)
            result.default_text = ast.unparse(default_node)
        metadata = keywords.get("metadata")
        rule_nodes = dict(keywords) if call == "_field" else {}
        if isinstance(metadata, ast.Dict):
            rule_nodes.update({literal(k): v for k, v in zip(metadata.keys, metadata.values) if k is not None})
        for name in RULE_NAMES:
            if name in rule_nodes:
                rule = literal(rule_nodes[name])
                result.rules[name] = ast.unparse(rule_nodes[name]) if rule is _NOT_LITERAL else rule
        return result
    result.default = literal(value)
    result.default_text = ast.unparse(value)
    return result


def parse_dataclasses(source: str) -> dict[str, ClassDoc]:
    """Every top-level dataclass of ``source``, by name, in source order."""
    classes: dict[str, ClassDoc] = {}
    for node in ast.parse(source).body:
        if not isinstance(node, ast.ClassDef) or not any(_is_dataclass_decorator(d) for d in node.decorator_list):
            continue
        fields = []
        for i, stmt in enumerate(node.body):
            if isinstance(stmt, ast.AnnAssign) and isinstance(stmt.target, ast.Name):
                if "ClassVar" in ast.unparse(stmt.annotation):
                    continue
                fields.append(parse_field(stmt, _docstring_after(node.body, i)))
        classes[node.name] = ClassDoc(node.name, inspect.cleandoc(ast.get_docstring(node) or ""), fields)
    return classes


def yaml_text(value: Any) -> str:
    """A default as a user writes it in YAML: null, true/false, lists in brackets, empty strings quoted."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return value if value else '""'
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(yaml_text(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k}: {yaml_text(v)}" for k, v in value.items()) + "}"
    return repr(value)


def allowed_text(f: FieldDoc) -> str:
    """What the field rules allow: a list of choices or the bounds; for a bool, true or false."""
    parts = []
    if "choices" in f.rules:
        choices = f.rules["choices"]
        parts.append("one of " + ", ".join(yaml_text(c) for c in choices) if isinstance(choices, (list, tuple)) else str(choices))
    for name, sign in (("min", ">="), ("min_exclusive", ">"), ("max", "<="), ("max_exclusive", "<")):
        if name in f.rules:
            parts.append(f"{sign} {yaml_text(f.rules[name])}")
    if not parts and f.annotation == "bool":
        parts.append("true, false")
    if parts and "None" in f.annotation:
        parts.append("or null")
    return ", ".join(parts) if parts else "-"


def cell(text: str) -> str:
    return " ".join(text.split()).replace("|", "\\|")


def type_text(annotation: str) -> str:
    return annotation.replace("None", "null").replace(" | ", " or ")


def section_table(cls: ClassDoc, key_prefix: str) -> list[str]:
    lines = ["| key | type | default | allowed | description |", "| --- | --- | --- | --- | --- |"]
    for f in cls.fields:
        default = f.default_text if f.default is _NOT_LITERAL else yaml_text(f.default)
        lines.append(
            f"| `{key_prefix}{f.name}` | {cell(type_text(f.annotation))} | `{cell(default)}` | {cell(allowed_text(f))} | {cell(f.doc) or '-'} |"
        )
    return lines


def sections(classes: dict[str, ClassDoc], root: str = ROOT_CLASS) -> list[tuple[str, ClassDoc]]:
    """(dotted section name, class) for every dataclass reached from ``root`` through default_factory fields."""
    found: list[tuple[str, ClassDoc]] = []

    def walk(cls: ClassDoc, prefix: str) -> None:
        for f in cls.fields:
            if f.factory in classes:
                name = prefix + f.name
                found.append((name, classes[f.factory]))
                walk(classes[f.factory], name + ".")

    walk(classes[root], "")
    return found


def _default_of(f: dataclasses.Field) -> Any:
    if f.default is not dataclasses.MISSING:
        return f.default
    if f.default_factory is not dataclasses.MISSING:
        return f.default_factory()
    return "(required)"


def model_families() -> list[str] | None:
    """The options of every registered model family, or None when gankit.models cannot be imported."""
    sys.path.insert(0, str(ROOT / "src"))
    try:
        import gankit.models as models
    except ImportError:
        return None
    finally:
        sys.path.pop(0)
    lines: list[str] = []
    for name in models.MODELS.names():
        factory = models.MODELS.get(name)
        cls = models.options_class(name)
        options, docs = cls.defaults(), cls.field_docs()
        summary = inspect.getdoc(factory) or ""
        lines += [f"### `{name}`", ""]
        if summary:
            lines += [summary.split("\n\n")[0].replace("\n", " "), ""]
        if options and any(docs.values()):
            lines += ["| option | default | description |", "| --- | --- | --- |"]
            lines += [f"| `{k}` | `{cell(yaml_text(v))}` | {cell(docs.get(k, '')) or '-'} |" for k, v in options.items()]
        elif options:
            lines += ["| option | default |", "| --- | --- |"]
            lines += [f"| `{k}` | `{cell(yaml_text(v))}` |" for k, v in options.items()]
        else:
            lines.append("No options.")
        lines.append("")
    return lines


def render(source: str, families: list[str] | None) -> str:
    classes = parse_dataclasses(source)
    lines = [
        "<!-- Generated by docs/tools/gen_config.py from src/gankit/training/config.py; edit the docstrings there. -->",
        "",
        "# Configuration reference",
        "",
        "A config is a YAML file of the sections below (the presets are in `configs/`). Every key is typed and checked",
        "when the config loads: a wrong key, type or value stops with one line naming the key, the value and what is",
        "allowed. `gankit train CONFIG --set section.key=value` overrides one key; the resolved config is saved as",
        "`config.yaml` in the run directory and inside every checkpoint.",
        "",
        "```",
        "$ gankit train configs/mnist_mlp.yaml --set train.batch_size=0",
        "gankit: error: train.batch_size: 0 is below the minimum 1",
        "```",
        "",
    ]
    root = classes[ROOT_CLASS]
    if root.doc:
        lines += [root.doc, ""]
    reached = {ROOT_CLASS}
    for name, cls in sections(classes):
        reached.add(cls.name)
        lines += [f"## `{name}`", ""]
        if cls.doc:
            lines += [cls.doc, ""]
        lines += section_table(cls, name + ".") + [""]
    others = [cls for cls in classes.values() if cls.name not in reached]
    if others:
        lines += ["## Other classes in `training/config.py`", ""]
        for cls in others:
            lines += [f"### `{cls.name}`", ""] + ([cls.doc, ""] if cls.doc else []) + section_table(cls, "") + [""]
    if families is not None:
        lines += [
            "## Model families (`model.options`)",
            "",
            "`model.name` picks a registered family; `model.options` takes that family's options "
            "(`gankit.models.model_options(name)` lists them). An option the family does not take is an error.",
            "",
        ] + families
    return "\n".join(lines).rstrip("\n") + "\n"


def page() -> str:
    return render(CONFIG_SOURCE.read_text(), model_families())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="exit 1 when docs/configuration.md differs from the source")
    args = parser.parse_args(argv)
    text = page()
    current = PAGE.read_text() if PAGE.exists() else None
    if args.check:
        if current != text:
            print("gen_config: docs/configuration.md is out of date; run python docs/tools/gen_config.py", file=sys.stderr)
            return 1
        return 0
    if current != text:
        PAGE.write_text(text)
        print(f"wrote {PAGE.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
