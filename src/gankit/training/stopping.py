"""Why the training loop stops early: SIGINT/SIGTERM, or the time limit."""

from __future__ import annotations

import logging
import signal
import threading
import time
from typing import Any

log = logging.getLogger("gankit")


class Stopper:
    """Catches SIGINT/SIGTERM while installed (the first asks for a checkpoint and a stop after the current step, a
    second stops at once) and tells the loop whether to stop after a step."""

    def __init__(self) -> None:
        self.signal: int | None = None
        self.deadline: float | None = None
        self._handlers: dict[int, Any] = {}

    def install(self, max_minutes: float | None) -> None:
        self.deadline = None if max_minutes is None else time.perf_counter() + 60 * max_minutes
        if threading.current_thread() is threading.main_thread():
            self._handlers = {sig: signal.signal(sig, self.handle) for sig in (signal.SIGINT, signal.SIGTERM)}

    def restore(self) -> None:
        for sig, handler in self._handlers.items():
            signal.signal(sig, handler)
        self._handlers = {}

    def handle(self, signum: int, frame: Any) -> None:
        if self.signal is not None:  # a second Ctrl-C stops at once
            raise KeyboardInterrupt
        self.signal = signum
        log.warning("received %s: saving a checkpoint at the end of this step", signal.Signals(signum).name)

    def reason(self) -> str | None:
        """``interrupted`` (a signal), ``time_limit``, or None to go on."""
        if self.signal is not None:
            return "interrupted"
        return "time_limit" if self.deadline is not None and time.perf_counter() >= self.deadline else None
