"""Fixtures of the studio tests: a RUNS_DIR with a tiny unconditional and a tiny conditional run, and two restoration runs."""

from __future__ import annotations

import pytest


@pytest.fixture(scope="package")
def runs_dir(tmp_path_factory):
    """RUNS_DIR/tiny (the reference MLP on the synthetic squares, 3 steps), RUNS_DIR/group/cond (conditional), and two
    untrained restoration runs (config and export): RUNS_DIR/restore/inpaint (pix2pix, centre mask) and
    RUNS_DIR/restore/sr2 (SRResNet, x2)."""
    import yaml

    from gankit.cli import main
    from gankit.training.config import config_from_dict
    from gankit.training.trainer import Trainer
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
    for name, model, degradation, options in (("inpaint", "pix2pix", "mask_centre", {"mask_input": True, "depth": 1}),
                                              ("sr2", "srresnet", "downscale_x2", {"scale": 2, "blocks": 1})):
        raw = {"data": {"name": "squares"}, "model": {"name": model, "options": {"g_width": 4, "d_width": 4, **options}},
               "train": {"batch_size": 8}, "restore": {"degradation": degradation}}
        cfg = config_from_dict(raw)
        trainer = Trainer(cfg, runs / "restore" / name)  # untrained: the tests compare the studio with the same G
        trainer.run.write_config(cfg)
        trainer.export()
    return runs
