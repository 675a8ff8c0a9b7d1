"""Caps on what one web request or job may ask for."""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["Limits"]


@dataclass(frozen=True)
class Limits:
    """Caps on what one request or job may ask for."""

    max_body: int = 1024 * 1024  #: bytes in a request body (1 MB)
    max_episodes: int = 1_000_000  #: per simulation job
    max_sync_episodes: int = 50_000  #: per direct ``POST /api/simulate``
    max_tournament_episodes: int = 5_000  #: per pairing of a tournament
    max_sim_horizon: int = 600  #: periods per simulated episode
    max_samples: int = 2048  #: parameter samples for claims and Sobol indices
    max_design_horizon: int = 120
    design_time_limit: float = 20.0  #: seconds for a direct design request
    job_timeout: float = 300.0  #: seconds a background job may run
    sync_timeout: float = 20.0  #: seconds a direct check or simulation may run (its process is then killed)
    max_workers: int = 4  #: child processes computing direct requests at once (jobs have their own)
    worker_memory_mb: int = 2048  #: memory allowance of one computing child process, in MB
