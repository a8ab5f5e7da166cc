"""Every lesson runs once at --tiny size per test session; the tests read what it wrote."""

from __future__ import annotations

import json
from pathlib import Path

import pytest


@pytest.fixture(scope="session")
def tiny_lesson(tmp_path_factory):
    """``tiny_lesson(name)``: the folder lesson ``name`` wrote at --tiny size (seed 0) and its NAME.json."""
    from gankit.cli import main

    done: dict[str, tuple[Path, dict]] = {}

    def run(name: str) -> tuple[Path, dict]:
        if name not in done:
            out = tmp_path_factory.mktemp(name)
            assert main(["lesson", name, "--out", str(out), "--tiny"]) == 0
            done[name] = out, json.loads((out / f"{name}.json").read_text())
        return done[name]

    return run
