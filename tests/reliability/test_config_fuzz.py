"""Property-based tests: random keys, types and values thrown at the config loader and the CLI.

Every case must end in a valid config (or run) or in one clear line: a ``ConfigError`` /
``GankitError`` from the library, ``gankit: error: ...`` and exit 2 from the CLI, or argparse's
usage error. Any other exception is a bug. Datasets that download or scan folders are kept out of
the generated names (their own tests cover them), and sizes under ``model.options`` stay small so
that a valid case never allocates much memory. Generation is derandomised: the same cases every run.
"""

from __future__ import annotations

import dataclasses
import typing

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gankit.cli import main
from gankit.errors import GankitError
from gankit.training import trainer as trainer_module
from gankit.training.config import Config, config_from_dict, load_config
from tests.reliability.conftest import write_tiny_config

SETTINGS = settings(deadline=None, derandomize=True, database=None, suppress_health_check=list(HealthCheck))
SAFE_DATASETS = ["squares", "ring", "grid"]

SECTIONS = {f.name: f.type for f in dataclasses.fields(Config)}
FIELDS = {
    name: [f.name for f in dataclasses.fields(typing.get_type_hints(Config)[name])] for name in SECTIONS
}

text = st.text(max_size=12)
small_ints = st.integers(-3, 300)
any_ints = st.one_of(small_ints, st.sampled_from([0, 2**31, 2**63, -(2**63), 10**30]))
floats = st.one_of(st.floats(allow_nan=True, allow_infinity=True), st.sampled_from([0.0, -0.0, 1e-300, 1e300]))
scalars = st.one_of(st.none(), st.booleans(), any_ints, floats, text, st.sampled_from(SAFE_DATASETS + ["mlp", "hinge", "cpu", "fp32"]))
values = st.recursive(scalars, lambda inner: st.one_of(st.lists(inner, max_size=3), st.dictionaries(text, inner, max_size=3)), max_leaves=5)
option_values = st.one_of(st.none(), st.booleans(), small_ints, floats, text, st.lists(small_ints, max_size=3), st.lists(text, max_size=2))


@st.composite
def raw_configs(draw):
    raw = {}
    for section in draw(st.lists(st.one_of(st.sampled_from(list(SECTIONS)), text), max_size=6, unique=True)):
        if section not in SECTIONS or draw(st.integers(0, 9)) == 0:
            raw[section] = draw(values)
            continue
        body = {}
        for key in draw(st.lists(st.one_of(st.sampled_from(FIELDS[section]), text), max_size=5, unique=True)):
            if section == "model" and key == "options":
                body[key] = draw(st.dictionaries(st.sampled_from(["g_hidden", "d_hidden", "dropout", "width", "x"]), option_values, max_size=3))
            elif section == "data" and key == "name":
                body[key] = draw(st.one_of(st.sampled_from(SAFE_DATASETS), text))
            elif section == "data" and key in ("dir", "folder"):
                body[key] = None  # paths: see test_hostile_paths.py
            elif section == "model" and key in ("latent_dim",):
                body[key] = draw(st.one_of(small_ints, values))
            else:
                body[key] = draw(values)
        raw[section] = body
    if isinstance(raw.setdefault("data", {}), dict):
        raw["data"].setdefault("name", "squares")
    return raw


def _one_line(exc: BaseException) -> None:
    message = str(exc)
    assert message and "\n" not in message, repr(message)


@settings(SETTINGS, max_examples=300)
@given(raw=st.one_of(raw_configs(), values))
def test_config_from_dict_is_valid_or_one_clear_error(raw):
    try:
        cfg = config_from_dict(raw)
    except GankitError as exc:
        _one_line(exc)
        return
    assert isinstance(cfg, Config)


@settings(SETTINGS, max_examples=150)
@given(
    body=st.one_of(raw_configs().map(lambda raw: yaml.safe_dump(raw, allow_unicode=True)), st.text(max_size=80)),
    overrides=st.lists(st.one_of(text, st.builds(lambda k, v: f"{k}={v}", st.sampled_from(
        [f"{s}.{f}" for s in FIELDS for f in FIELDS[s] if (s, f) not in (("data", "dir"), ("data", "folder"), ("data", "name"))]
        + ["model.options.g_hidden", "train", "train.", ".x", "a.b.c.d"]), text)), max_size=3),
)
def test_load_config_is_valid_or_one_clear_error(tmp_path_factory, body, overrides):
    path = tmp_path_factory.getbasetemp() / "fuzz.yaml"
    path.write_text(body)
    try:
        cfg = load_config(path, overrides)
    except GankitError as exc:
        _one_line(exc)
        return
    assert isinstance(cfg, Config)


def _set_values():
    return st.one_of(
        st.builds(str, small_ints), st.builds(repr, floats), text, st.sampled_from(["[1, 2]", "{a: 1}", "null", "true", "[", "'", "- x", "1e999"]),
    )


@st.composite
def argvs(draw, config: str, run_dir: str, root: str):
    command = draw(st.sampled_from(["train", "train", "train", "sample", "bogus"]))
    argv = [command]
    if command == "train":
        if draw(st.booleans()):
            argv.append(draw(st.sampled_from([config, f"{root}/missing.yaml", f"{root}"])))
        for _ in range(draw(st.integers(0, 4))):
            flag = draw(st.sampled_from(["--set", "--max-steps", "--max-minutes", "--seed", "--run-dir", "--resume", "--overwrite", "--device", "--data-dir", "--junk"]))
            if flag == "--set":
                key = draw(st.one_of(st.sampled_from([f"{s}.{f}" for s in FIELDS for f in FIELDS[s] if (s, f) not in (("data", "dir"), ("data", "folder"), ("data", "name"), ("model", "options"))]), text))
                argv += [flag, f"{key}={draw(_set_values())}"]
            elif flag in ("--max-steps", "--seed"):
                argv += [flag, draw(st.one_of(st.builds(str, any_ints), text))]
            elif flag == "--max-minutes":
                argv += [flag, draw(st.one_of(st.builds(repr, floats), text))]
            elif flag in ("--run-dir", "--resume"):
                argv += [flag, draw(st.sampled_from([run_dir, f"{root}/other", root, f"{root}/tiny.yaml"]))]
            elif flag == "--device":
                argv += [flag, draw(st.sampled_from(["cpu", "auto", "cuda", "tpu"]))]
            elif flag == "--data-dir":
                argv += [flag, f"{root}/data"]
            else:
                argv.append(flag)
        argv.append("--no-progress")
    elif command == "sample":
        argv.append(draw(st.sampled_from([run_dir, f"{root}/nope", root])))
        argv += ["--num", draw(st.one_of(st.builds(str, st.integers(-3, 16)), st.sampled_from(["10000000", "x"])))]
        argv += ["--seed", draw(st.one_of(st.builds(str, any_ints), text))]
        argv += ["--out", draw(st.sampled_from([f"{root}/o.png", f"{root}/o.npz", f"{root}/o.txt", f"{root}/no/dir/o.png"]))]
    else:
        argv += draw(st.lists(text, max_size=3))
    return argv


@pytest.fixture(scope="module")
def cli_root(tmp_path_factory):
    root = tmp_path_factory.mktemp("cli-fuzz")
    config = write_tiny_config(root, max_steps=2, checkpoint_every=1)
    assert main(["train", str(config), "--run-dir", str(root / "run"), "--no-progress"]) == 0
    return root


def test_cli_is_valid_or_one_clear_line(cli_root, monkeypatch, capsys):
    monkeypatch.chdir(cli_root)
    monkeypatch.setattr(
        trainer_module.Trainer, "train", lambda self, max_minutes=None, progress=True: trainer_module.TrainResult("finished", self.step, self.run_dir)
    )

    @settings(SETTINGS, max_examples=80)
    @given(argv=argvs(str(cli_root / "tiny.yaml"), str(cli_root / "run"), str(cli_root)))
    def check(argv):
        capsys.readouterr()
        try:
            code = main(argv)
        except SystemExit as exc:  # argparse's usage error (or --help)
            assert exc.code in (0, 2), argv
            return
        err = capsys.readouterr().err
        assert "Traceback" not in err
        assert code in (0, 2, 130), argv
        if code == 2:
            last = err.strip().splitlines()[-1]
            assert last.startswith("gankit: error:") and err.count("gankit: error:") == 1, (argv, err)

    check()
