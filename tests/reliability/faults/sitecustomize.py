"""Fault injection for the subprocess tests: imported by Python at start-up when this folder is on PYTHONPATH.

``GANKIT_FAULT`` selects one fault, ``KIND:N`` (N counts from 1 within this process):

* ``kill_at_optimizer_step:N``  SIGKILL just before the N-th optimiser step (odd N: between
  the discriminator and the generator update of a training step);
* ``kill_in_checkpoint_write:N`` write half of the N-th checkpoint's bytes to its temporary
  file, then SIGKILL;
* ``kill_before_rename:N``       the N-th checkpoint's temporary file is complete: SIGKILL
  instead of renaming it;
* ``kill_in_export:N``           SIGKILL right after the exported weights are renamed into
  place, before their ``generator.json``;
* ``pause_at_step:N``            before training step N, create ``$GANKIT_FAULT_MARKER`` and wait
  (up to 30 s) until a SIGINT/SIGTERM arrived, so the signal lands at a known step.

Nothing here changes what gankit computes; a process without ``GANKIT_FAULT`` is untouched.
"""

import os
import signal

_FAULT = os.environ.get("GANKIT_FAULT", "")


def _die() -> None:
    os.kill(os.getpid(), signal.SIGKILL)


def _install(kind: str, n: int) -> None:
    import builtins
    import re
    import time

    import torch

    import gankit.run.files as run_files
    from gankit.training import trainer as trainer_module

    count = {"n": 0}

    def hit() -> bool:
        count["n"] += 1
        return count["n"] == n

    if kind == "kill_at_optimizer_step":
        original_step = torch.optim.Adam.step

        def step(self, *args, **kwargs):
            if hit():
                _die()
            return original_step(self, *args, **kwargs)

        torch.optim.Adam.step = step
    elif kind == "kill_in_checkpoint_write":
        real_open = builtins.open

        class HalfWriter:
            def __init__(self, f):
                self._f = f

            def write(self, data):
                self._f.write(data[: len(data) // 2])
                self._f.flush()
                os.fsync(self._f.fileno())
                _die()

            def __getattr__(self, name):
                return getattr(self._f, name)

            def __enter__(self):
                return self

            def __exit__(self, *exc):
                return self._f.__exit__(*exc)

        def fake_open(file, mode="r", *args, **kwargs):
            f = real_open(file, mode, *args, **kwargs)
            if "w" in mode and re.search(r"ckpt-\d{9}\.ckpt\.tmp", os.fspath(file)) and hit():
                return HalfWriter(f)
            return f

        run_files.open = fake_open  # the module's own name lookup (gankit.run.files writes every checkpoint), the builtin stays as it is
    elif kind in ("kill_before_rename", "kill_in_export"):
        real_replace = os.replace
        pattern = r"^ckpt-\d{9}\.ckpt$" if kind == "kill_before_rename" else r"^generator\.safetensors$"

        def replace(src, dst, *args, **kwargs):
            name = os.path.basename(os.fspath(dst))
            if re.match(pattern, name) and hit():
                if kind == "kill_in_export":
                    real_replace(src, dst, *args, **kwargs)
                _die()
            return real_replace(src, dst, *args, **kwargs)

        os.replace = replace
    elif kind == "pause_at_step":
        original = trainer_module.Trainer.train_step

        def train_step(self, *args, **kwargs):
            if self.step + 1 == n:
                with open(os.environ["GANKIT_FAULT_MARKER"], "w") as f:
                    f.write(str(self.step))
                deadline = time.monotonic() + 30
                while self.stopper.signal is None and time.monotonic() < deadline:
                    time.sleep(0.01)
            return original(self, *args, **kwargs)

        trainer_module.Trainer.train_step = train_step
    else:
        raise SystemExit(f"GANKIT_FAULT: unknown fault {kind!r}")


if _FAULT:
    _kind, _, _n = _FAULT.partition(":")
    _install(_kind, int(_n or 1))
