"""The web app's failures as exception classes, in one leaf module that the pools, the jobs and
the error handlers all import (so none of them imports another for its exceptions)."""

from __future__ import annotations

from typing import Any

__all__ = ["HTTPProblem", "JobCancelled", "JobTimedOut", "TooManyJobs", "WorkerDied", "WorkerTimedOut"]


class HTTPProblem(Exception):
    """An error answered with ``status`` and a JSON ``{"detail": message, ...}``."""

    def __init__(self, status: int, message: str, **extra: Any) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.extra = extra


class JobCancelled(Exception):
    """Raised inside a job when it has been cancelled."""


class JobTimedOut(Exception):
    """Raised inside a job when it has run past its time limit."""


class TooManyJobs(Exception):
    """Raised by :meth:`JobManager.submit` when the queue is full."""


class WorkerTimedOut(Exception):
    """The child ran past its time limit and was killed."""

    def __init__(self, seconds: float) -> None:
        super().__init__(f"stopped after its time limit of {seconds:g} s")
        self.seconds = seconds


class WorkerDied(Exception):
    """The child ended without an answer (killed, crashed, or out of its memory allowance)."""
