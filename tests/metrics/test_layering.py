"""The layers: metrics/ imports nothing from training, evaluation or the CLI; training imports no metrics at module level."""

import ast
import os
import subprocess
import sys
from pathlib import Path

import gankit

PACKAGE = Path(gankit.__file__).parent
ABOVE_METRICS = ("gankit.training", "gankit.evaluation", "gankit.cli")


def imported_modules(tree: ast.AST, package: str) -> list[tuple[int, str]]:
    """(line, module) of every import in ``tree``, relative ones resolved against ``package``."""
    found = []
    for node in ast.walk(tree) if not isinstance(tree, list) else tree:
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join(parts + ([base] if base else []))
            found += [(node.lineno, f"{base}.{alias.name}" if base.startswith("gankit") and not node.module else base) for alias in node.names]
    return found


def module_level(tree: ast.Module) -> list[ast.stmt]:
    """The statements that run on import: the module body, and the bodies of top-level if / try blocks."""
    statements, pending = [], list(tree.body)
    while pending:
        node = pending.pop()
        statements.append(node)
        if isinstance(node, (ast.If, ast.Try)):
            pending += node.body + node.orelse + getattr(node, "finalbody", []) + [s for h in getattr(node, "handlers", []) for s in h.body]
    return statements


def test_metrics_import_nothing_from_the_layers_above_them():
    offenders = []
    for path in sorted((PACKAGE / "metrics").glob("*.py")):
        for line, module in imported_modules(ast.parse(path.read_text()), "gankit.metrics"):
            if module.startswith(ABOVE_METRICS):
                offenders.append(f"metrics/{path.name}:{line} imports {module}")
    assert offenders == []


def test_training_imports_no_metrics_at_module_level():
    offenders = []
    for path in sorted((PACKAGE / "training").rglob("*.py")):
        for line, module in imported_modules(module_level(ast.parse(path.read_text())), "gankit.training"):
            if module.startswith(("gankit.metrics", "gankit.evaluation")):
                offenders.append(f"{path.relative_to(PACKAGE)}:{line} imports {module}")
    assert offenders == []


def test_importing_every_metrics_module_loads_no_training_code():
    code = ("import importlib, pkgutil, sys, gankit.metrics as m\n"
            "[importlib.import_module('gankit.metrics.' + i.name) for i in pkgutil.iter_modules(m.__path__)]\n"
            "print(sorted(k for k in sys.modules if k.startswith(('gankit.training', 'gankit.evaluation', 'gankit.cli'))))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, env={**os.environ, "PYTHONPATH": str(PACKAGE.parent)})
    assert out.stdout.strip() == "[]"


def test_the_checker_sees_imports_inside_functions_and_relative_ones():
    tree = ast.parse("def f():\n    from gankit.training.trainer import Trainer\nfrom . import fid\nfrom ..training import plots\n")
    assert imported_modules(tree, "gankit.metrics") == [(3, "gankit.metrics.fid"), (4, "gankit.training"), (2, "gankit.training.trainer")]
    body = module_level(ast.parse("import os\nif True:\n    from gankit.metrics import fid\ndef g():\n    import gankit.metrics.kid\n"))
    assert sorted(m for _, m in imported_modules(body, "gankit.training")) == ["gankit.metrics", "os"]
