"""Run the web app's computations in other processes, with a time and memory limit.

Direct requests (a check, a design, a small simulation) go to a :class:`ComputePool` of
long-lived workers; each background job runs in a child process of a :class:`WorkerPool`,
forked for it, which sends progress and the result back through a pipe. A child that
runs past its time limit is killed (:class:`WorkerTimedOut`, answered 504); one that dies or
runs out of its memory allowance (:class:`WorkerDied`, answered 503) takes nothing with it:
the server process never runs the analysis itself, so no input can hang it or make it grow.

The child is forked (on Linux), so it starts at once with every module already imported and
the work function needs no pickling; only its result and its errors cross the pipe. A child
dies with its parent (Linux's parent-death signal), so killing the server ends its work too.
Memory is watched as the resident size of the child and its own processes (beyond what it
shared with the server when forked) every tenth of a second; a cap on its address space is a
backstop against one huge allocation. At most
``max_running`` children run at once; a request that finds them all busy waits for one up
to its own time limit. Progress reports (``report(fraction, message)``) and cancelling work
across the process boundary.
"""

from __future__ import annotations

import multiprocessing
import os
import threading
import time
import traceback
from collections.abc import Callable
from multiprocessing.connection import Connection
from typing import Any

from ..core.errors import DetenteError, Problem, ScenarioError
from .failures import HTTPProblem, JobCancelled, WorkerDied, WorkerTimedOut

__all__ = ["ComputePool", "WorkerDied", "WorkerPool", "WorkerTimedOut"]

Report = Callable[[float, str], None]


class _Cancelled(Exception):
    pass


def _context() -> Any:
    methods = multiprocessing.get_all_start_methods()
    return multiprocessing.get_context("fork" if "fork" in methods else "spawn")


def _limit_address_space(megabytes: int | None) -> None:
    """A backstop for one huge allocation: cap the child's address space at its current size
    plus eight times its allowance, at least 8 GB (address space is not memory: thread stacks
    and library reservations count, so the allowance itself is watched as resident memory)."""
    if not megabytes:
        return
    try:
        import resource

        with open("/proc/self/statm", encoding="ascii") as fh:
            current = int(fh.read().split()[0]) * os.sysconf("SC_PAGE_SIZE")
        limit = current + max(8 * megabytes, 8192) * 2**20
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    except (ImportError, OSError, ValueError):  # pragma: no cover - not Linux
        pass


def _resident_mb(pid: int, *, descendants: bool = True) -> float:
    """Resident memory of a process (and its descendants), in MB, from ``/proc`` (Linux); 0
    where it cannot be read. Reading a few small files keeps the watch cheap."""
    page = os.sysconf("SC_PAGE_SIZE") if hasattr(os, "sysconf") else 4096
    total = 0
    todo = [pid]
    while todo:
        current = todo.pop()
        try:
            with open(f"/proc/{current}/statm", encoding="ascii") as fh:
                total += int(fh.read().split()[1]) * page
            if descendants:
                for task in os.listdir(f"/proc/{current}/task"):
                    with open(f"/proc/{current}/task/{task}/children", encoding="ascii") as fh:
                        todo.extend(int(child) for child in fh.read().split())
        except (OSError, ValueError, IndexError):  # gone meanwhile, or no /proc
            continue
    return total / 2**20


def _encode_error(exc: BaseException) -> tuple[Any, ...]:
    """An exception as plain data that survives the pipe."""
    if isinstance(exc, ScenarioError):
        return ("scenario", list(exc.problems), exc.source)
    if isinstance(exc, HTTPProblem):
        return ("http", exc.status, exc.message, exc.extra)
    if isinstance(exc, DetenteError):
        return ("detente", str(exc))
    if isinstance(exc, MemoryError):
        return ("memory",)
    if isinstance(exc, _Cancelled):
        return ("cancelled",)
    return ("bug", type(exc).__name__, str(exc)[:500], traceback.format_exc(limit=20))


def _decode_error(data: tuple[Any, ...], memory_mb: int | None) -> BaseException:
    from ..core.errors import UsageError

    kind = data[0]
    if kind == "scenario":
        problems: list[Problem] = data[1]
        return ScenarioError(problems, data[2])
    if kind == "http":
        return HTTPProblem(data[1], data[2], **data[3])
    if kind == "detente":
        return UsageError(data[1])
    if kind == "memory":
        return WorkerDied(f"the computation needed more than its memory allowance of {memory_mb:,} MB; ask for less")
    if kind == "cancelled":
        return _Cancelled()
    return RuntimeError(f"{data[1]}: {data[2]}")


def _die_with_parent(parent: int) -> None:
    """Ask Linux to kill this process when the thread that forked it ends (a server killed with
    ``kill -9`` leaves no computation behind); elsewhere nothing happens."""
    try:
        import ctypes
        import signal

        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(1, int(signal.SIGKILL))  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):  # pragma: no cover - not Linux
        return
    if os.getppid() != parent:  # the parent died before the request took effect
        os._exit(1)


def _forget_inherited_forkserver() -> None:
    """Forget a fork server the parent started: its process is not this child's, so
    ``multiprocessing`` would fail with ``ChildProcessError`` when it checks on it before
    starting a pool here (a claims job does). The child starts a fork server of its own."""
    from multiprocessing import forkserver

    server = getattr(forkserver, "_forkserver", None)
    for name in ("_forkserver_pid", "_forkserver_address", "_forkserver_alive_fd", "_inherited_fds"):
        if server is not None and hasattr(server, name):
            setattr(server, name, None)


def _child(conn: Connection, work: Callable[[Report], Any], memory_mb: int | None, parent: int) -> None:
    _die_with_parent(parent)
    _forget_inherited_forkserver()
    _limit_address_space(memory_mb)
    last = 0.0

    def report(fraction: float, message: str) -> None:
        nonlocal last
        now = time.monotonic()
        if now - last >= 0.05 or fraction >= 1.0:
            last = now
            conn.send(("progress", float(fraction), str(message)))

    try:
        result = work(report)
        conn.send(("ok", result))
    except BaseException as exc:
        try:
            conn.send(("error", _encode_error(exc)))
        except Exception:  # the error itself could not be sent: say so plainly
            conn.send(("error", ("bug", type(exc).__name__, "unreportable error", "")))
    finally:
        conn.close()
        os._exit(0)  # no atexit handlers or inherited threads: the parent owns those


class WorkerPool:
    """At most ``max_running`` child processes at once, each with a memory allowance."""

    def __init__(self, max_running: int = 4, *, memory_mb: int | None = 2048) -> None:
        self.max_running = max_running
        self.memory_mb = memory_mb
        self._slots = threading.BoundedSemaphore(max_running)
        self._ctx = _context()
        self._live: set[Any] = set()
        self._lock = threading.Lock()

    def run(
        self,
        work: Callable[[Report], Any],
        *,
        timeout: float,
        report: Report | None = None,
        cancelled: threading.Event | None = None,
    ) -> Any:
        """``work(report)`` in a child process; its result, or its error raised here.

        Raises :class:`WorkerTimedOut` after ``timeout`` seconds (waiting for a free slot
        included), :class:`WorkerDied` when the child ends without an answer, and re-raises
        the detente errors (scenario problems, bad arguments, HTTP problems) of the work.
        When ``cancelled`` is set the child is killed and ``JobCancelled`` raised.
        """
        deadline = time.monotonic() + timeout
        if not self._slots.acquire(timeout=max(0.0, timeout)):
            raise WorkerTimedOut(timeout)
        try:
            return self._run(work, deadline, timeout, report, cancelled)
        finally:
            self._slots.release()

    def _run(
        self,
        work: Callable[[Report], Any],
        deadline: float,
        timeout: float,
        report: Report | None,
        cancelled: threading.Event | None,
    ) -> Any:

        parent, child = self._ctx.Pipe(duplex=False)
        # not a daemon: a daemon may not start processes, and a claims job starts a process pool
        proc = self._ctx.Process(target=_child, args=(child, work, self.memory_mb, os.getpid()))
        proc.start()
        child.close()
        # a forked child starts with the server's pages (shared, but counted as its own)
        base_mb = _resident_mb(os.getpid(), descendants=False)
        with self._lock:
            self._live.add(proc)
        try:
            while True:
                if cancelled is not None and cancelled.is_set():
                    raise JobCancelled()
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise WorkerTimedOut(timeout)
                if self.memory_mb and _resident_mb(proc.pid) - base_mb > self.memory_mb:
                    raise WorkerDied(
                        f"the computation needed more than its memory allowance of {self.memory_mb:,} MB; ask for less"
                    )
                if not parent.poll(min(remaining, 0.1)):
                    if not proc.is_alive() and not parent.poll():
                        raise WorkerDied(
                            f"the computation ended without an answer (exit code {proc.exitcode}); "
                            "it may have run out of memory"
                        )
                    continue
                try:
                    message = parent.recv()
                except EOFError:
                    proc.join(1.0)
                    raise WorkerDied(
                        f"the computation ended without an answer (exit code {proc.exitcode}); "
                        "it may have run out of memory"
                    ) from None
                if message[0] == "progress":
                    if report is not None:
                        report(message[1], message[2])
                    continue
                if message[0] == "ok":
                    return message[1]
                error = _decode_error(message[1], self.memory_mb)
                if isinstance(error, _Cancelled):
                    raise JobCancelled()
                raise error
        finally:
            parent.close()
            if proc.is_alive():
                proc.kill()
            proc.join(5.0)
            with self._lock:
                self._live.discard(proc)

    def shutdown(self) -> None:
        """Kill every child still running."""
        with self._lock:
            live = list(self._live)
        for proc in live:
            if proc.is_alive():
                proc.kill()


# --------------------------------------------------------------------------- persistent workers


def _watch_memory(megabytes: int) -> None:
    """In a long-lived worker: exit with :data:`_OUT_OF_MEMORY` once its resident memory (beyond
    what it shared with the server when forked) passes ``megabytes``."""
    import threading as _threading

    base = _resident_mb(os.getpid(), descendants=False)

    def watch() -> None:
        while True:
            if _resident_mb(os.getpid()) - base > megabytes:
                os._exit(_OUT_OF_MEMORY)
            time.sleep(0.1)

    _threading.Thread(target=watch, daemon=True, name="detente-memory-watch").start()


_OUT_OF_MEMORY = 86


def _init_worker(memory_mb: int | None, parent: int) -> None:
    _die_with_parent(parent)
    if memory_mb:
        _watch_memory(memory_mb)


def _call(function: Callable[..., Any], args: tuple[Any, ...], kwargs: dict[str, Any]) -> tuple[str, Any]:
    """Run in a worker: the function's result, or its error as plain data."""
    try:
        return "ok", function(*args, **kwargs)
    except BaseException as exc:
        return "error", _encode_error(exc)


def _noop() -> None:
    pass


class ComputePool:
    """Long-lived worker processes for short computations (a check, a direct simulation).

    Forking a process per request would repeat its start-up and lose every cache the
    computation builds, for each request; these workers are forked once (with the server's
    modules loaded) and reused. A computation past its time limit has its worker killed and
    replaced (:class:`WorkerTimedOut`); a worker that dies or passes its memory allowance is
    replaced too (:class:`WorkerDied`). The function and its arguments are pickled, so the
    function must be a module-level one.
    """

    def __init__(self, max_workers: int = 4, *, memory_mb: int | None = 2048) -> None:
        from pebble import ProcessPool

        self.memory_mb = memory_mb
        self._pool = ProcessPool(
            max_workers=max_workers,
            initializer=_init_worker,
            initargs=(memory_mb, os.getpid()),
            context=_context(),
        )
        # start the workers now, from this thread (the server's main thread): a worker dies with
        # the thread that forked it, and later ones are forked by the pool's own manager thread
        self._pool.schedule(_call, args=(_noop, (), {})).result(timeout=60)

    def pids(self) -> list[int]:
        """The worker processes' ids (for tests; empty if the pool does not expose them)."""
        manager = getattr(getattr(self._pool, "_pool_manager", None), "worker_manager", None)
        return sorted(getattr(manager, "workers", {}))

    def run(self, function: Callable[..., Any], *args: Any, timeout: float, **kwargs: Any) -> Any:
        """``function(*args, **kwargs)`` in a worker, within ``timeout`` seconds of running."""
        from concurrent.futures import TimeoutError as FutureTimeout

        from pebble import ProcessExpired

        future = self._pool.schedule(_call, args=(function, args, kwargs), timeout=timeout)
        try:
            kind, payload = future.result()
        except FutureTimeout:
            raise WorkerTimedOut(timeout) from None
        except ProcessExpired as exc:
            if exc.exitcode == _OUT_OF_MEMORY:
                raise WorkerDied(
                    f"the computation needed more than its memory allowance of {self.memory_mb:,} MB; ask for less"
                ) from None
            raise WorkerDied(
                f"the computation ended without an answer (exit code {exc.exitcode}); it may have run out of memory"
            ) from None
        if kind == "ok":
            return payload
        raise _decode_error(payload, self.memory_mb)

    def shutdown(self) -> None:
        """Stop the workers (a running computation is killed)."""
        self._pool.stop()  # type: ignore[no-untyped-call]
        self._pool.join(timeout=5)
