"""Fixtures of the studio tests: a RUNS_DIR with a tiny unconditional and a tiny conditional run."""

from __future__ import annotations

import pytest


@pytest.fixture(scope="package")
def runs_dir(tmp_path_factory):
    """RUNS_DIR/tiny (the reference MLP on the synthetic squares, 3 steps) and RUNS_DIR/group/cond (conditional)."""
    import yaml

    from gankit.cli import main
    from tests.conftest import tiny_config_dict

    root = tmp_path_factory.mktemp("studio")
    runs = root / "runs"
    (root / "tiny.yaml").write_text(yaml.safe_dump(tiny_config_dict()))
    cond = tiny_config_dict()
    cond["model"]["name"] = "mlp_cond"
    cond["data"]["conditional"] = True
    (root / "cond.yaml").write_text(yaml.safe_dump(cond))
    for config, run in (("tiny.yaml", runs / "tiny"), ("cond.yaml", runs / "group" / "cond")):
        assert main(["train", str(root / config), "--run-dir", str(run), "--max-steps", "3", "--no-progress"]) == 0
    return runs
