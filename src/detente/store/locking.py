"""Coordination of the processes that share a run store: an exclusive lock held around the
whole life of every connection, and Ctrl-C held back while a write is in progress.

Kept apart from :mod:`detente.store.duckdb` (what is stored, and how it is queried): this
module changes when the way processes coordinate changes. See the store's module docstring
and docs/uncertainty.md ("Several processes, one store") for why a lock of our own.
"""

from __future__ import annotations

import importlib.util
import os
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any

from ..core.errors import UsageError

__all__ = ["held_sigint", "lock_path", "locked_error", "store_lock"]


def locked_error(path: Path, timeout: float, who: str = "") -> UsageError:
    return UsageError(
        f"run store {path} is locked by another process{who}; waited {timeout:g} s. "
        "Wait for it to finish, or use another store with --store PATH "
        "(DETENTE_STORE_TIMEOUT sets the wait). Nothing was written."
    )


def lock_path(path: Path) -> Path:
    """The lock file beside a store: ``runs.duckdb.lock`` (created once, never removed)."""
    return path.with_name(path.name + ".lock")


@contextmanager
def store_lock(path: Path, deadline: float, timeout: float, *, write: bool) -> Iterator[None]:
    """Hold the store's lock file exclusively (``flock``) until the block ends.

    Every process using the store takes this lock before DuckDB opens the file and releases it
    after DuckDB has closed it (and checkpointed), so at most one process has the file open at
    any moment, whatever DuckDB's own locking does. Waiting is a blocking ``flock`` in a helper
    thread, bounded by ``deadline`` (:func:`_acquire`). Reading a store whose directory is
    read-only and has no lock file goes ahead without one: no process can write there (DuckDB
    needs to create its log beside it).
    """
    if importlib.util.find_spec("fcntl") is None:  # pragma: no cover - not POSIX: DuckDB's lock only
        yield
        return
    target = lock_path(path)
    fd: int | None = None
    try:
        fd = os.open(target, os.O_RDWR | os.O_CREAT, 0o666)
    except OSError as exc:
        try:
            fd = os.open(target, os.O_RDONLY)
        except OSError:
            if write:
                raise UsageError(
                    f"run store {path}: cannot create its lock file {target} ({exc.strerror}); "
                    "the store's directory must be writable to store runs"
                ) from None
    if fd is None:
        yield
        return
    if not _acquire(fd, deadline):  # the waiting thread now owns the descriptor and closes it
        raise locked_error(path, timeout)
    try:
        yield
    finally:
        os.close(fd)  # releases the lock (after DuckDB's connection is closed)


def _acquire(fd: int, deadline: float) -> bool:
    """Lock ``fd`` exclusively before ``deadline``; False when that failed.

    A free lock is taken at once. Otherwise a helper thread waits in a blocking ``flock``: the
    kernel wakes it the moment the lock is released, so a waiting process is not starved by
    one that releases and takes the lock again in a loop (as polling with sleeps would be).
    When the deadline passes first, the thread is abandoned: it keeps the descriptor, and
    closes it (releasing the lock) if it ever gets the lock.
    """
    import fcntl
    import threading

    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        return True
    except BlockingIOError:
        pass
    got = threading.Event()
    guard = threading.Lock()
    abandoned = False

    def wait() -> None:
        with suppress(OSError):  # pragma: no cover - the descriptor is ours and valid
            fcntl.flock(fd, fcntl.LOCK_EX)
        with guard:
            if abandoned:
                os.close(fd)
            else:
                got.set()

    threading.Thread(target=wait, name="detente-store-lock", daemon=True).start()
    try:
        got.wait(max(0.0, deadline - time.monotonic()))
    except BaseException:  # Ctrl-C while waiting: give the descriptor up either way
        with guard:
            abandoned = not got.is_set()
        if not abandoned:
            os.close(fd)
        raise
    with guard:
        abandoned = not got.is_set()
    return not abandoned


@contextmanager
def held_sigint(hold: bool = True) -> Iterator[None]:
    """Hold back Ctrl-C (SIGINT) until the block ends, then raise KeyboardInterrupt.

    Only in the main thread and only when Python's default handler is installed; elsewhere the
    block runs as it is.
    """
    import signal
    import threading

    if (
        not hold
        or threading.current_thread() is not threading.main_thread()
        or signal.getsignal(signal.SIGINT) is not signal.default_int_handler
    ):
        yield
        return
    caught: list[int] = []

    def note(signum: int, frame: Any) -> None:
        caught.append(signum)

    signal.signal(signal.SIGINT, note)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, signal.default_int_handler)
    if caught:
        raise KeyboardInterrupt
