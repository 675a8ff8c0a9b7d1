"""Background jobs for long runs: a small thread pool with progress, cancel and time limits.

A job is a function ``work(report) -> result`` where ``report(fraction, message)`` records
progress. Cancelling and timeouts are cooperative: ``report`` raises :class:`JobCancelled` or
:class:`JobTimedOut` at the job's next progress call (the engines call it between batches),
so a job stops within one batch of work. A job that never reports progress (a designer solve)
is bounded by its own time limit instead; its result is thrown away if it was cancelled.

With a :class:`~detente.web.workers.WorkerPool` (as the web app runs it) each job's work runs
in a child process: a job past its time limit, or cancelled, is killed at once rather than at
its next progress report, and a job that runs out of memory fails alone. Without one the work
runs on the manager's thread (cooperative cancelling and time limits only). Finished jobs are
kept for :attr:`JobManager.ttl` seconds (at most :attr:`JobManager.keep` of them), then forgotten.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

from .failures import JobCancelled, JobTimedOut, TooManyJobs, WorkerDied, WorkerTimedOut

if TYPE_CHECKING:  # pragma: no cover
    from .workers import WorkerPool

__all__ = ["Job", "JobCancelled", "JobManager", "JobTimedOut", "TooManyJobs"]

Status = Literal["queued", "running", "done", "failed", "cancelled"]
Report = Callable[[float, str], None]


@dataclass
class Job:
    """One background run and what is known about it."""

    id: str
    kind: str
    timeout: float
    description: str = ""
    status: Status = "queued"
    progress: float = 0.0
    message: str = "waiting for a free worker"
    result: Any = None
    error: str | None = None
    created: float = field(default_factory=time.time)
    started: float | None = None
    finished: float | None = None
    cancel_event: threading.Event = field(default_factory=threading.Event, repr=False)
    future: Future[Any] | None = field(default=None, repr=False)

    @property
    def active(self) -> bool:
        return self.status in ("queued", "running")

    def to_dict(self, *, with_result: bool = True) -> dict[str, Any]:
        out: dict[str, Any] = {
            "id": self.id,
            "kind": self.kind,
            "description": self.description,
            "status": self.status,
            "progress": round(self.progress, 4),
            "message": self.message,
            "error": self.error,
            "created": self.created,
            "started": self.started,
            "finished": self.finished,
            "seconds": None if self.started is None else round((self.finished or time.time()) - self.started, 3),
            "timeout": self.timeout,
        }
        if with_result and self.status == "done" and isinstance(self.result, dict):
            out["result"] = self.result
        return out


class JobManager:
    """Runs jobs on ``workers`` threads; at most ``max_active`` queued or running at once."""

    def __init__(
        self,
        workers: int = 2,
        *,
        max_active: int = 8,
        keep: int = 64,
        ttl: float = 3600.0,
        pool: WorkerPool | None = None,
    ) -> None:
        self.workers = workers
        self.pool = pool
        self.max_active = max_active
        self.keep = keep
        self.ttl = ttl
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="detente-job")
        self._jobs: dict[str, Job] = {}
        self._lock = threading.Lock()

    # ------------------------------------------------------------------ public

    def submit(self, kind: str, work: Callable[[Report], Any], *, timeout: float, description: str = "") -> Job:
        """Queue ``work``; raises :class:`TooManyJobs` when ``max_active`` jobs are pending."""
        with self._lock:
            self._forget_old()
            active = sum(1 for j in self._jobs.values() if j.active)
            if active >= self.max_active:
                raise TooManyJobs(
                    f"{active} jobs are already queued or running (at most {self.max_active}); "
                    "wait for one to finish or cancel one"
                )
            job = Job(id=uuid.uuid4().hex[:16], kind=kind, timeout=timeout, description=description)
            self._jobs[job.id] = job
        job.future = self._pool.submit(self._run, job, work)
        return job

    def get(self, job_id: str) -> Job | None:
        with self._lock:
            return self._jobs.get(job_id)

    def list(self) -> list[Job]:
        with self._lock:
            self._forget_old()
            return sorted(self._jobs.values(), key=lambda j: j.created, reverse=True)

    def cancel(self, job_id: str) -> Job | None:
        """Ask a job to stop; a queued job never starts. Returns the job (None if unknown)."""
        job = self.get(job_id)
        if job is None:
            return None
        with self._lock:
            if not job.active:
                return job
            job.cancel_event.set()
            if job.status == "queued" and job.future is not None and job.future.cancel():
                self._finish(job, "cancelled", message="cancelled before it started")
            else:
                job.message = "cancelling"
        return job

    def wait(self, job_id: str, timeout: float | None = None) -> Job | None:
        """Block until the job has finished (for tests and scripts)."""
        job = self.get(job_id)
        if job is None:
            return None
        deadline = None if timeout is None else time.monotonic() + timeout
        while job.active:
            if deadline is not None and time.monotonic() > deadline:
                break
            time.sleep(0.01)
        return job

    def shutdown(self) -> None:
        for job in self.list():
            if job.active:
                job.cancel_event.set()
        self._pool.shutdown(wait=False, cancel_futures=True)

    # ------------------------------------------------------------------ internals

    def _finish(self, job: Job, status: Status, *, message: str, error: str | None = None) -> None:
        job.status = status
        job.message = message
        job.error = error
        job.finished = time.time()

    def _forget_old(self) -> None:
        now = time.time()
        done = [j for j in self._jobs.values() if not j.active]
        for j in done:
            if j.finished is not None and now - j.finished > self.ttl:
                del self._jobs[j.id]
        done = sorted((j for j in self._jobs.values() if not j.active), key=lambda j: j.finished or 0)
        for j in done[: max(0, len(done) - self.keep)]:
            del self._jobs[j.id]

    def _run(self, job: Job, work: Callable[[Report], Any]) -> None:
        if job.cancel_event.is_set():
            with self._lock:
                self._finish(job, "cancelled", message="cancelled before it started")
            return
        job.status = "running"
        job.started = time.time()
        job.message = "started"
        deadline = time.monotonic() + job.timeout

        def report(fraction: float, message: str) -> None:
            if job.cancel_event.is_set():
                raise JobCancelled()
            if time.monotonic() > deadline:
                raise JobTimedOut()
            job.progress = max(job.progress, min(1.0, float(fraction)))
            job.message = message

        try:
            if self.pool is None:
                result = work(report)
            else:
                result = self.pool.run(work, timeout=job.timeout, report=report, cancelled=job.cancel_event)
        except WorkerTimedOut:
            with self._lock:
                self._finish(
                    job,
                    "failed",
                    message="timed out",
                    error=f"stopped after its time limit of {job.timeout:g} s; ask for less work",
                )
            return
        except WorkerDied as exc:
            with self._lock:
                self._finish(job, "failed", message="failed", error=str(exc))
            return
        except JobCancelled:
            with self._lock:
                self._finish(job, "cancelled", message="cancelled")
            return
        except JobTimedOut:
            with self._lock:
                self._finish(
                    job,
                    "failed",
                    message="timed out",
                    error=f"stopped after its time limit of {job.timeout:g} s; ask for less work",
                )
            return
        except Exception as exc:  # reported to the client, never raised in the server
            from ..core.errors import DetenteError

            text = str(exc) if isinstance(exc, DetenteError) else f"internal error ({type(exc).__name__}: {exc})"
            with self._lock:
                self._finish(job, "failed", message="failed", error=text)
            return
        with self._lock:
            if job.cancel_event.is_set():
                self._finish(job, "cancelled", message="cancelled (its result was discarded)")
                return
            job.result = result
            job.progress = 1.0
            self._finish(job, "done", message="done")
