"""Where the points of a sweep run: in this process, in a local process pool, or on Dask.

An :class:`Executor` takes a picklable task (:class:`~detente.sweeps.sweep.PointTask`: the
scenario, the analyses and the run's seed) and chunks of ``(point index, parameter values)``,
and yields each chunk's results as soon as it is done, in any order. The sweep puts them back
in sample order and writes them to the run store as they arrive. Results never depend on the
executor or the number of workers: each point's randomness comes from its own
``SeedSequence`` child (:func:`~detente.sweeps.sampling.point_seed`), never from a worker's
state.

- :class:`LocalExecutor` with one worker runs chunks in this process; with more, in a
  ``concurrent.futures`` process pool started with ``forkserver`` (a plain ``fork`` would copy
  the progress bar's thread and locks into the children). The pool lives as long as the
  executor, across tasks; each chunk carries its task's pickle, which a worker unpickles once.
  Its workers ignore Ctrl-C (the sweep handles it) and end as soon as the sweep's process ends,
  even by ``kill -9`` (:func:`_die_with`); the fork server and the resource tracker then end
  by themselves, as their last clients are gone.
- :class:`DaskExecutor` runs on ``dask.distributed``: on the cluster whose scheduler is at
  ``scheduler`` (``tcp://HOST:PORT``), or, without one, on a ``LocalCluster`` of ``workers``
  single-threaded worker processes listening on the loopback interface only. The task is
  scattered to every worker once. Connecting fails after ``timeout`` seconds with a clear
  message, and every worker must run the same detente version as this process (checked on
  connection), since a point computed by another version would not be reproducible.

Executors are context managers; :func:`make_executor` builds one from command-line options.
"""

from __future__ import annotations

import importlib
import os
import pickle
import time
import warnings
from collections.abc import Iterator, Sequence
from typing import Any, Protocol, runtime_checkable

from .. import __version__
from ..core.errors import UsageError

__all__ = [
    "EXECUTORS",
    "Chunk",
    "DaskExecutor",
    "Executor",
    "LocalExecutor",
    "default_workers",
    "make_executor",
]

#: A chunk of work: (point index, parameter values in the task's order).
Chunk = Sequence[tuple[int, Sequence[float]]]
#: A point's result: (point index, outputs, seconds, worker name).
PointResult = tuple[int, dict[str, Any], float, str]
EXECUTORS = ("local", "dask")
#: Seconds to wait for a Dask scheduler (overridden by DETENTE_DASK_TIMEOUT).
DASK_TIMEOUT = 10.0


def default_workers() -> int:
    """The CPUs this process may use."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover - not on Linux
        return max(1, os.cpu_count() or 1)


@runtime_checkable
class Executor(Protocol):
    """Runs chunks of points; see the module docstring."""

    name: str
    workers: int

    def run(self, task: Any, chunks: Sequence[Chunk]) -> Iterator[list[PointResult]]:
        """Yield the results of each chunk as it completes (in any order)."""
        ...

    def close(self) -> None: ...

    def __enter__(self) -> Executor: ...

    def __exit__(self, *exc: object) -> None: ...


# --------------------------------------------------------------------------- local

#: In a pool worker: the last task it unpickled, by the digest of its pickle.
_TASK: tuple[str, Any] | None = None


def _die_with(parent: int) -> None:
    """Pool worker initializer: end this worker as soon as process ``parent`` (the sweep) ends,
    however it ends (even ``kill -9``), and leave Ctrl-C to the parent.

    A watcher thread waits on a pidfd of the parent (Linux 5.3+; elsewhere it polls the parent's
    existence every 0.2 s) and then kills this process. The parent-death signal of ``prctl``
    would not do: a forkserver worker's parent is the fork server, not the sweep. Without the
    watcher, a worker of a killed sweep would wait for work forever (it holds the task queue's
    pipe open itself), and with it the resource tracker."""
    import signal
    import threading

    signal.signal(signal.SIGINT, signal.SIG_IGN)

    def kill_self() -> None:
        os.kill(os.getpid(), signal.SIGKILL)

    try:
        fd = os.pidfd_open(parent)
    except ProcessLookupError:
        kill_self()
        return
    except (AttributeError, OSError):  # pragma: no cover - no pidfd (not Linux, or an old kernel)
        fd = -1

    def watch() -> None:
        if fd >= 0:
            import select

            select.select([fd], [], [])  # readable once the parent has ended
        else:  # pragma: no cover - see above
            while True:
                time.sleep(0.2)
                try:
                    os.kill(parent, 0)
                except ProcessLookupError:
                    break
                if os.getppid() == 1:
                    break
        kill_self()

    threading.Thread(target=watch, name="detente-parent-watch", daemon=True).start()


def _run_pooled(digest: str, blob: bytes, chunk: Chunk) -> list[PointResult]:
    """Run ``chunk`` of the task pickled in ``blob`` (unpickled once per worker and task)."""
    global _TASK
    if _TASK is None or _TASK[0] != digest:
        _TASK = (digest, pickle.loads(blob))  # our own task, sent by our own process
    return list(_TASK[1].run_chunk(chunk))


class LocalExecutor:
    """This process (``workers=1``) or a local process pool of ``workers`` processes.

    The pool starts on first use and lives until :meth:`close`, whatever tasks it runs: each
    chunk carries its task's pickle (a few tens of kilobytes; a worker unpickles a task once).
    """

    name = "local"

    def __init__(self, workers: int | None = None) -> None:
        self.workers = default_workers() if workers is None else int(workers)
        if self.workers < 1:
            raise UsageError(f"--workers must be at least 1, found {self.workers}")
        self._pool: Any = None

    def __enter__(self) -> LocalExecutor:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def run(self, task: Any, chunks: Sequence[Chunk]) -> Iterator[list[PointResult]]:
        if self.workers == 1 or len(chunks) <= 1:
            for chunk in chunks:
                yield list(task.run_chunk(chunk))
            return
        import hashlib
        from concurrent.futures import FIRST_COMPLETED, wait

        blob = pickle.dumps(task)
        digest = hashlib.sha256(blob).hexdigest()
        pool = self._get_pool()
        pending = {pool.submit(_run_pooled, digest, blob, chunk) for chunk in chunks}
        try:
            while pending:
                done, pending = wait(pending, return_when=FIRST_COMPLETED)
                for fut in done:
                    yield fut.result()
        finally:
            for fut in pending:
                fut.cancel()

    def _get_pool(self) -> Any:
        if self._pool is None:
            import multiprocessing as mp
            from concurrent.futures import ProcessPoolExecutor

            method = "forkserver" if "forkserver" in mp.get_all_start_methods() else "spawn"
            self._pool = ProcessPoolExecutor(
                max_workers=self.workers,
                mp_context=mp.get_context(method),
                initializer=_die_with,
                initargs=(os.getpid(),),
            )
        return self._pool

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None


# --------------------------------------------------------------------------- dask


def run_chunk(task: Any, chunk: Chunk) -> list[PointResult]:
    """The function Dask workers run (module level, so that it pickles by reference)."""
    return list(task.run_chunk(chunk))


def _worker_version() -> str:
    from detente import __version__ as version

    return version


class DaskExecutor:
    """Points on a ``dask.distributed`` cluster; see the module docstring."""

    name = "dask"

    def __init__(self, scheduler: str | None = None, workers: int | None = None, timeout: float | None = None) -> None:
        try:
            distributed: Any = importlib.import_module("distributed")
        except ImportError:  # pragma: no cover - depends on the environment
            raise UsageError("--executor dask needs dask.distributed: pip install 'dask[distributed]'") from None
        if timeout is None:
            timeout = float(os.environ.get("DETENTE_DASK_TIMEOUT", DASK_TIMEOUT))
        self.scheduler = scheduler
        self.cluster: Any = None
        self.client: Any = None
        self._scattered: tuple[Any, Any] | None = None  # (task, its future on the cluster)
        if scheduler is None:
            import logging

            n = default_workers() if workers is None else int(workers)
            if n < 1:
                raise UsageError(f"--workers must be at least 1, found {n}")
            with warnings.catch_warnings():
                # the scheduler's small HTTP server (health, metrics) moves off a busy port 8787
                warnings.filterwarnings("ignore", message="Port 8787 is already in use")
                self.cluster = distributed.LocalCluster(
                    n_workers=n,
                    threads_per_worker=1,
                    processes=True,
                    host="127.0.0.1",
                    dashboard_address=None,
                    silence_logs=logging.ERROR,
                )
            try:
                self.client = distributed.Client(self.cluster, timeout=timeout)
            except BaseException:
                self.cluster.close()
                raise
        else:
            if "://" not in scheduler:
                raise UsageError(f"--scheduler {scheduler!r}: expected an address such as tcp://HOST:8786")
            try:
                self.client = distributed.Client(scheduler, timeout=timeout)
            except (OSError, TimeoutError) as exc:
                raise UsageError(
                    f"cannot reach the Dask scheduler at {scheduler} within {timeout:g} s ({exc}); is it "
                    "running, and is the address right? (set DETENTE_DASK_TIMEOUT to wait longer)"
                ) from None
        versions = self.client.run(_worker_version)
        if not versions:
            self.close()
            raise UsageError(f"the Dask cluster at {scheduler} has no workers")
        wrong = {w: v for w, v in versions.items() if v != __version__}
        if wrong:
            self.close()
            worker, version = next(iter(wrong.items()))
            raise UsageError(
                f"Dask worker {worker} runs detente {version}, this process {__version__}: install the same "
                "version everywhere (docs/scale.md)"
            )
        self.workers = len(versions)

    def __enter__(self) -> DaskExecutor:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def run(self, task: Any, chunks: Sequence[Chunk]) -> Iterator[list[PointResult]]:
        as_completed: Any = importlib.import_module("distributed").as_completed
        if self._scattered is None or self._scattered[0] is not task:
            self._scattered = (task, self.client.scatter(task, broadcast=True, hash=False))
        remote = self._scattered[1]
        futures = [self.client.submit(run_chunk, remote, list(chunk), pure=False) for chunk in chunks]
        try:
            # results are fetched here, one future at a time, rather than by as_completed's
            # background gathering (with_results=True), which hung in distributed 2026.8 when
            # two clients lived in one process (an assertion inside tornado's write buffer)
            for future in as_completed(futures):
                yield future.result()
        finally:
            pending = [f for f in futures if not f.done()]
            if pending:
                self.client.cancel(pending)

    def close(self) -> None:
        client, cluster = getattr(self, "client", None), self.cluster
        self._scattered = None
        if client is not None:
            client.close()
            self.client = None
        if cluster is not None:
            cluster.close()
            self.cluster = None


def make_executor(
    name: str, *, workers: int | None = None, scheduler: str | None = None, timeout: float | None = None
) -> LocalExecutor | DaskExecutor:
    """An executor from command-line options (``--executor``, ``--workers``, ``--scheduler``)."""
    if name == "local":
        if scheduler is not None:
            raise UsageError("--scheduler is for --executor dask")
        return LocalExecutor(workers)
    if name == "dask":
        return DaskExecutor(scheduler, workers, timeout)
    raise UsageError(f"unknown executor {name!r} (executors: {', '.join(EXECUTORS)})")
