"""Long work of the pages (inversion) in one worker thread, polled by the browser.

A request that inverts images returns at once with a job id; the page asks ``/api/jobs?id=ID``
until the job is done. One job runs at a time (the CPU is the limit), at most
:data:`MAX_PENDING` wait, and the newest :data:`KEEP` finished jobs are kept for their pages to fetch.
"""

from __future__ import annotations

import logging
import secrets
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Callable

from gankit.errors import ConfigError, GankitError, first_line

log = logging.getLogger("gankit")
MAX_PENDING = 4
KEEP = 32


class Jobs:
    """A queue of jobs run one at a time in a worker thread; each job's state, result or one-line error."""

    def __init__(self, max_pending: int = MAX_PENDING, keep: int = KEEP) -> None:
        self.max_pending = max_pending
        self.keep = keep
        self.lock = threading.Lock()
        self.jobs: dict[str, dict[str, Any]] = {}
        self.executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="gankit-studio-job")

    def submit(self, kind: str, work: Callable[[], dict[str, Any]]) -> dict[str, Any]:
        """Queue ``work`` (returning a JSON-able dict); its status, with the id to poll.

        Raises:
            ConfigError: :data:`MAX_PENDING` jobs are already waiting or running.
        """
        with self.lock:
            pending = sum(job["state"] in ("queued", "running") for job in self.jobs.values())
            if pending >= self.max_pending:
                raise ConfigError(f"the studio is busy with {pending} jobs; try again when one has finished")
            job_id = secrets.token_hex(8)
            self.jobs[job_id] = {"id": job_id, "kind": kind, "state": "queued", "submitted": time.time()}
            self._forget_old()
        self.executor.submit(self._run, job_id, work)
        return self.status(job_id)

    def _run(self, job_id: str, work: Callable[[], dict[str, Any]]) -> None:
        job = self.jobs[job_id]
        job["state"], job["started"] = "running", time.time()
        try:
            job["result"] = work()
            job["state"] = "done"
        except GankitError as exc:
            job["error"], job["state"] = first_line(exc), "failed"
        except Exception as exc:  # noqa: BLE001 - the page gets one line; the server log gets the rest
            log.exception("studio: job %s (%s) failed", job_id, job["kind"])
            job["error"], job["state"] = f"internal error: {first_line(exc)}", "failed"
        finally:
            job["finished"] = time.time()

    def _forget_old(self) -> None:
        finished = [k for k, job in self.jobs.items() if job["state"] in ("done", "failed")]
        for key in finished[:max(0, len(finished) - self.keep)]:
            del self.jobs[key]

    def status(self, job_id: str) -> dict[str, Any]:
        """The job's state (queued, running, done, failed), its seconds so far, and its result or error."""
        with self.lock:
            job = self.jobs.get(job_id) if isinstance(job_id, str) else None
            if job is None:
                raise ConfigError(f"job {str(job_id)[:40]!r}: no such job (finished jobs are kept for a while only)")
            out = {k: v for k, v in job.items() if k not in ("submitted", "started", "finished")}
            end = job.get("finished") or time.time()
            out["seconds"] = round(end - job.get("started", end), 2)
            if job["state"] == "queued":
                out["ahead"] = sum(j["state"] in ("queued", "running") and j["submitted"] < job["submitted"]
                                   for j in self.jobs.values())
        return out

    def close(self) -> None:
        self.executor.shutdown(wait=False, cancel_futures=True)
