"""The Lab's training thread: plays a :class:`~gankit.studio.lab.LabTrainer` and publishes its frames.

One session per server, shared by every browser tab: the thread trains ``steps_per_frame`` steps,
makes a frame, and hands it to whoever streams (``/api/lab/stream``). Controls take the lock, so a
click lands between two steps, never inside one.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from typing import Any

import torch

from gankit.errors import ConfigError, first_line
from gankit.studio.lab import PRESETS, LabSettings, LabTrainer

log = logging.getLogger("gankit")
ACTIONS = ("play", "pause", "d_step", "g_step", "step", "reset")


class LabSession:
    """The live Lab: a trainer, a thread that plays it, and the newest frame as JSON text.

    Args:
        settings: the starting settings.
    """

    def __init__(self, settings: LabSettings | None = None) -> None:
        self.lock = threading.Lock()
        self.changed = threading.Condition()
        self.trainer = LabTrainer(settings)
        self.playing = False
        self.closed = False
        self.frame_id = 0
        self.frame_text = ""
        self.real_text = ""
        self._publish(real=True)
        self.thread = threading.Thread(target=self._run, name="gankit-lab", daemon=True)
        self.thread.start()

    # -------------------------------------------------------------- controls
    def control(self, action: str) -> dict[str, Any]:
        """Play, pause, one D step, one G step, one step of both, or reset; returns :meth:`state`."""
        if action not in ACTIONS:
            raise ConfigError(f"lab action {action!r}: choose one of {', '.join(ACTIONS)}")
        with self.lock:
            if action in ("play", "pause"):
                self.playing = action == "play"
            elif action == "reset":
                self.trainer.reset()
            elif action == "d_step":
                self.trainer.d_step()
            elif action == "g_step":
                self.trainer.g_step()
            else:
                self.trainer.train_step()
            if action != "play":
                self._publish(real=action == "reset")
        self._wake()
        return self.state()

    def configure(self, changes: dict[str, Any], preset: str | None = None, points: list | None = None) -> dict[str, Any]:
        """Apply a preset (``plain``, ``stabilised``), then ``changes``, then drawn ``points``; returns :meth:`state`."""
        if preset is not None and preset not in PRESETS:
            raise ConfigError(f"lab preset {preset!r}: choose one of {', '.join(PRESETS)}")
        drawn = None
        if points is not None:
            try:
                drawn = torch.tensor(points, dtype=torch.float32)
            except (TypeError, ValueError):
                raise ConfigError("drawn points: expected a list of [x, y] pairs of numbers") from None
        with self.lock:
            settings = self.trainer.settings.updated({**PRESETS.get(preset, {}), **(changes or {})})
            rebuilt = self.trainer.apply(settings, drawn)
            self._publish(real=rebuilt)
        self._wake()
        return self.state()

    def state(self) -> dict[str, Any]:
        return {"playing": self.playing, "settings": self.trainer.settings.to_dict(), "step": self.trainer.step_count,
                "presets": PRESETS, "history": self.trainer.history[-500:]}

    def close(self) -> None:
        self.closed = True
        self._wake()
        self.thread.join(timeout=5)

    # ----------------------------------------------------------------- loop
    def _wake(self) -> None:
        with self.changed:
            self.changed.notify_all()

    def _publish(self, real: bool = False) -> None:
        """Make a frame of the trainer as it is now (the lock is held)."""
        frame = self.trainer.frame()
        frame["playing"] = self.playing
        frame["time"] = time.time()
        if real:
            self.real_text = json.dumps({"real": self.trainer.real_points(), "extent": self.trainer.extent})
            frame["real_changed"] = True
        self.frame_id += 1
        frame["id"] = self.frame_id
        self.frame_text = json.dumps(frame, allow_nan=False)

    def _run(self) -> None:
        while not self.closed:
            if not self.playing:
                with self.changed:
                    self.changed.wait(timeout=0.5)
                continue
            with self.lock:
                if self.playing:
                    try:
                        for _ in range(self.trainer.settings.steps_per_frame):
                            self.trainer.train_step()
                    except (RuntimeError, ValueError) as exc:  # e.g. a learning rate that sends the weights to inf
                        log.warning("lab: training paused: %s", first_line(exc))
                        self.playing = False
                    self._publish()
            with self.changed:
                self.changed.notify_all()
            time.sleep(0.001)  # let a control or a stream take the lock

    def wait_frame(self, after: int, timeout: float) -> tuple[int, str]:
        """Block until a frame newer than ``after`` exists (or ``timeout`` passes); returns (id, JSON text)."""
        deadline = time.monotonic() + timeout
        with self.changed:
            while self.frame_id <= after and not self.closed:
                left = deadline - time.monotonic()
                if left <= 0:
                    break
                self.changed.wait(timeout=left)
        return self.frame_id, self.frame_text
