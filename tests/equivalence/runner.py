"""Run equivalence cases through gankit's command line in one process and summarise what they wrote.

This file is run as a script by :mod:`tests.equivalence.harness`, once with the pinned reference
commit's ``src`` on ``PYTHONPATH`` and once with the code under test, so it imports nothing from
``tests`` and reaches gankit only through its stable command line (``gankit.cli.main``). What it
reads back are the files a user keeps: ``metrics.jsonl``, the checkpoints (``torch.load`` with
``weights_only=True``), ``export/`` and the ``gankit sample`` outputs. The progress grids are not compared: they
are drawn by the function behind ``gankit sample``, whose outputs are, and written with its rounding (half to even).

    python runner.py SPEC.json          # every case of the spec, one summary JSON per case
    python runner.py --cli ARGS...      # one ``gankit`` command with this runner's set-up (torchrun ranks)
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import socket
import subprocess
import sys
import time
import traceback
from pathlib import Path

VOLATILE_METRICS = frozenset({"images_per_s", "elapsed_seconds", "seconds", "wall_seconds"})
"""Fields of metrics.jsonl that measure time, never behaviour: left out of every comparison."""

STATE_KEYS = ("step", "generator", "discriminator", "generator_ema", "opt_g", "opt_d")
"""Top-level checkpoint entries compared (the ones every checkpoint format keeps)."""


def set_up() -> None:
    """One thread, and plots that are built but not rendered (they are never compared, and rendering costs ~1 s a run)."""
    import torch

    torch.set_num_threads(1)
    try:
        import matplotlib

        matplotlib.use("Agg")
        from matplotlib.figure import Figure
    except ImportError:
        return

    def savefig(self, fname, *args, **kwargs):  # an empty file where the plot would be
        if hasattr(fname, "write"):
            return
        Path(fname).write_bytes(b"")

    Figure.savefig = savefig


class _Tee:
    """stderr that also keeps what was written (gankit prints its one-line errors there)."""

    def __init__(self, stream) -> None:
        self.stream, self.text = stream, []

    def write(self, text: str) -> int:
        self.text.append(text)
        return self.stream.write(text)

    def flush(self) -> None:
        self.stream.flush()


def cli(argv: list[str]) -> int:
    from gankit.cli import main

    return main(argv)


def cli_reporting(argv: list[str]) -> tuple[int, str]:
    """``gankit ARGV`` in this process: the exit code, and the error lines it printed (or the exception it raised)."""
    import contextlib

    tee = _Tee(sys.stderr)
    try:
        with contextlib.redirect_stderr(tee):
            rc = cli(argv)
    except KeyboardInterrupt:
        raise
    except BaseException as exc:  # a crash is a result to report, not the end of the other cases
        return -1, "".join(traceback.format_exception_only(type(exc), exc)).strip()
    errors = [line for line in "".join(tee.text).splitlines() if "error" in line.lower()]
    return rc, "\n".join(errors[-3:]) if rc else ""


# ------------------------------------------------------------------ summaries
def tensor_bytes(tensor) -> bytes:
    return tensor.detach().cpu().contiguous().reshape(-1).view(__import__("torch").uint8).numpy().tobytes()


def describe(tensor) -> dict:
    """dtype, shape and SHA-256 of a tensor's values (its memory layout is not compared)."""
    return {"dtype": str(tensor.dtype).removeprefix("torch."), "shape": list(tensor.shape),
            "sha256": hashlib.sha256(tensor_bytes(tensor)).hexdigest()}


def flatten(value, prefix: str, tensors: dict, plain: dict) -> None:
    """Nested dicts/lists of a checkpoint -> ``{dotted name: tensor}`` and ``{dotted name: plain value}``."""
    import torch

    if isinstance(value, torch.Tensor):
        tensors[prefix] = value
    elif isinstance(value, dict):
        for key, item in value.items():
            flatten(item, f"{prefix}.{key}", tensors, plain)
    elif isinstance(value, (list, tuple)):
        for index, item in enumerate(value):
            flatten(item, f"{prefix}[{index}]", tensors, plain)
    elif value is None or isinstance(value, (bool, int, float, str)):
        plain[prefix] = value
    else:
        plain[prefix] = repr(value)


def read_checkpoint(path: Path) -> dict:
    """A checkpoint's state: ``torch.load(weights_only=True)`` of the payload after the two header lines
    (``GANKIT-CKPT <version>`` and the payload's SHA-256), or of the whole file when it has no header."""
    import io

    import torch

    data = path.read_bytes()
    if data.startswith(b"GANKIT-CKPT"):
        data = data.split(b"\n", 2)[2]
    return torch.load(io.BytesIO(data), map_location="cpu", weights_only=True)


def final_checkpoint(run_dir: Path):
    """The checkpoint with the highest step in ``run_dir`` (any ``*.ckpt`` but ``best.ckpt``), or None."""
    best = None
    for path in sorted(run_dir.rglob("*.ckpt")):
        if path.name == "best.ckpt":
            continue
        state = read_checkpoint(path)
        if best is None or state.get("step", -1) > best.get("step", -1):
            best = state
    return best


def uint8_like_before(points):
    """2D samples as ``gankit sample`` wrote them at the reference commit: float [-1, 1] -> rounded, clamped uint8."""
    import torch

    return torch.as_tensor(points).float().add(1.0).mul(127.5).round_().clamp_(0, 255).to(torch.uint8)


def summarise(run_dir: Path, sample_files: dict[str, Path], tensors_out: Path | None) -> dict:
    """What a case wrote, as digests and plain values; the tensors themselves go to ``tensors_out`` when given."""
    import numpy as np
    import torch

    tensors: dict = {}
    plain: dict = {}
    summary: dict = {}

    metrics_path = run_dir / "metrics.jsonl"
    records = []
    if metrics_path.is_file():
        for line in metrics_path.read_text().splitlines():
            if line.strip():
                records.append({k: v for k, v in json.loads(line).items() if k not in VOLATILE_METRICS})
    summary["metrics"] = records

    state = final_checkpoint(run_dir)
    if state is not None:
        for key in STATE_KEYS:
            if key in state:
                flatten(state[key], f"state.{key}", tensors, plain)

    export = run_dir / "export"
    if (export / "generator.safetensors").is_file():
        from safetensors.torch import load_file

        for name, tensor in load_file(str(export / "generator.safetensors")).items():
            tensors[f"export.{name}"] = tensor
    if (export / "generator.json").is_file():
        summary["export_spec"] = json.loads((export / "generator.json").read_text())

    for name, path in sample_files.items():
        if not path.is_file():
            plain[f"sample.{name}"] = "missing"
            continue
        with np.load(path) as archive:
            arrays = {key: torch.from_numpy(np.array(archive[key])) for key in archive.files}
        # A 2D run's float points: compare what the old uint8 held. Not for --d-keep, whose D now rates the float
        # points rather than their uint8 rounding, so it may keep other points (an intended change).
        if "points" in arrays and "images" not in arrays and name != "d_keep":
            arrays["images"] = uint8_like_before(arrays["points"])
        for key, array in arrays.items():
            tensors[f"sample.{name}.{key}"] = array

    summary["plain"] = plain
    summary["tensors"] = {name: describe(tensor) for name, tensor in tensors.items()}
    if tensors_out is not None and tensors:
        from safetensors.torch import save_file

        save_file({name: t.detach().cpu().contiguous().clone() for name, t in tensors.items()}, str(tensors_out))
    return summary


# ---------------------------------------------------------------------- cases
def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def run_processes(argv: list[str], processes: int, log: Path) -> tuple[int, str]:
    """``gankit ARGV`` on ``processes`` CPU processes under torchrun (gloo on the loopback)."""
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONUNBUFFERED": "1"}
    if sys.platform.startswith("linux"):
        env["GLOO_SOCKET_IFNAME"] = "lo"
    command = [sys.executable, "-m", "torch.distributed.run", "--nproc-per-node", str(processes),
               "--master-addr", "127.0.0.1", "--master-port", str(free_port()), __file__, "--cli", *argv]
    with open(log, "w") as out:
        result = subprocess.run(command, stdout=out, stderr=subprocess.STDOUT, timeout=1800, env=env)
    return result.returncode, "" if result.returncode == 0 else log.read_text()[-2000:]


def run_case(case: dict, work: Path, keep_tensors: bool) -> dict:
    run_dir = work / case["slug"]
    if run_dir.exists():
        shutil.rmtree(run_dir)
    if case.get("resume_from"):
        shutil.copytree(case["resume_from"], run_dir)
        argv = ["train", "--resume", str(run_dir), "--no-progress", *case["args"]]
    else:
        argv = ["train", case["config"], "--run-dir", str(run_dir), "--no-progress", *case["args"]]
    error = ""
    if case.get("processes", 1) > 1:
        rc, error = run_processes(argv, case["processes"], work / f"{case['slug']}.torchrun.log")
    else:
        rc, error = cli_reporting(argv)
    samples = {}
    for name, flags in case.get("samples", {}).items():
        out = work / f"{case['slug']}.sample-{name}.npz"
        samples[name] = out
        sample_rc, sample_error = cli_reporting(["sample", str(run_dir), *flags, "--out", str(out)])
        if sample_rc:  # the summary records the sample as missing
            error += f"\nsample {name}: exit {sample_rc}: {sample_error}"
    tensors_out = work / f"{case['slug']}.safetensors" if keep_tensors else None
    summary = summarise(run_dir, samples, tensors_out)
    summary.update(id=case["id"], rc=rc, error=error)
    if not keep_tensors:
        shutil.rmtree(run_dir, ignore_errors=True)
    return summary


def cpu_seconds() -> float:
    """CPU time of this process and its finished children (torchrun's ranks)."""
    import resource

    return sum(resource.getrusage(who).ru_utime + resource.getrusage(who).ru_stime
               for who in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN))


def main(argv: list[str]) -> int:
    set_up()
    if argv[:1] == ["--cli"]:
        return cli(argv[1:])
    spec = json.loads(Path(argv[0]).read_text())
    import gankit

    where = Path(gankit.__file__).resolve()
    expected = Path(spec["src"]).resolve()
    if expected not in where.parents:
        print(f"runner: imported gankit from {where}, expected it under {expected}", file=sys.stderr)
        return 3
    work = Path(spec["work"])
    work.mkdir(parents=True, exist_ok=True)
    for case in spec["cases"]:
        start, cpu = time.perf_counter(), cpu_seconds()
        summary = run_case(case, work, spec.get("keep_tensors", False))
        tmp = work / f"{case['slug']}.json.tmp"
        tmp.write_text(json.dumps(summary, sort_keys=True))
        os.replace(tmp, work / f"{case['slug']}.json")
        print(f"runner: {case['id']} rc={summary['rc']} in {time.perf_counter() - start:.1f} s "
              f"({cpu_seconds() - cpu:.1f} CPU-s)", file=sys.stderr, flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
