"""Silence what compiled libraries print: solver chatter never reaches the user.

HiGHS (behind SciPy's ``milp``) writes debug lines such as ``HighsMipSolverData::...``
straight to the process's file descriptors from C, where ``contextlib.redirect_stdout``
cannot reach. :func:`c_output_silenced` points the descriptors at the null device for the
duration of a call, flushing C's buffers before it gives them back, so nothing written inside
leaks out afterwards. Python-level output inside the block is silenced too; exceptions pass
through unchanged.

Descriptors belong to the whole process, so silencing happens on the main thread only: a web
server's job threads (which run the designer too) would otherwise mute every other request's
logging for as long as a solve takes. There the block runs as is.
"""

from __future__ import annotations

import ctypes
import os
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager, suppress

__all__ = ["c_output_silenced"]


def _flush_c_stdio() -> None:
    with suppress(OSError, AttributeError, TypeError):  # no C library to flush
        ctypes.CDLL(None).fflush(None)


@contextmanager
def c_output_silenced(fds: tuple[int, ...] = (1, 2)) -> Iterator[None]:
    """Point the file descriptors ``fds`` (default stdout and stderr) at the null device
    (on the main thread; elsewhere a no-op, see the module's docstring)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    for stream in (sys.stdout, sys.stderr):
        with suppress(AttributeError, ValueError, OSError):  # a closed or odd stream
            stream.flush()
    saved: list[tuple[int, int]] = []
    null = os.open(os.devnull, os.O_WRONLY)
    try:
        for fd in fds:
            try:
                saved.append((fd, os.dup(fd)))
            except OSError:  # the descriptor is not open: nothing to silence
                continue
            os.dup2(null, fd)
        yield
    finally:
        _flush_c_stdio()
        for fd, copy in saved:
            os.dup2(copy, fd)
            os.close(copy)
        os.close(null)
