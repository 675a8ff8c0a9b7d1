"""Every size limit of detente, in one place (the table in docs/limits.md lists them).

Each limit is checked up front, when a scenario is loaded or an argument is read, with a
message that names the limit, so that no input can make a command run out of memory or
time before it says what is wrong. The helpers below build those messages the same way
everywhere (the command line, the web app and the library).
"""

from __future__ import annotations

import math

from .errors import UsageError

__all__ = [
    "MAX_ABS_NUMBER",
    "MAX_CONCESSIONS",
    "MAX_DELAY",
    "MAX_EPISODE_PERIODS",
    "MAX_EXPRESSION_DEPTH",
    "MAX_EXPRESSION_LENGTH",
    "MAX_EXPRESSION_TERMS",
    "MAX_GRID_VALUES",
    "MAX_HORIZON",
    "MAX_INT_DIGITS",
    "MAX_LAG",
    "MAX_PARTIES",
    "MAX_REPETITIONS",
    "MAX_SEED",
    "MAX_SIM_HORIZON",
    "MAX_SWEEP_POINTS",
    "MAX_TURNS",
    "MAX_TURN_REPETITIONS",
    "check_count",
    "check_finite",
    "check_seed",
]

#: Latest period of a schedule step and of a design horizon.
MAX_HORIZON = 240
#: Verification lag of a concession, in periods.
MAX_LAG = 10_000
#: Delay before a reversed concession stops, in periods.
MAX_DELAY = 10_000
#: Concessions in one scenario.
MAX_CONCESSIONS = 20_000
#: Parties in one scenario.
MAX_PARTIES = 64
#: Largest magnitude of a number in a scenario or a ``--set`` value.
MAX_ABS_NUMBER = 1e15
#: Digits of an integer literal (Python refuses more than 4,300 when converting to text).
MAX_INT_DIGITS = 30
#: Characters of one expression.
MAX_EXPRESSION_LENGTH = 2000
#: Nesting of parentheses, calls and signs in one expression (a flat sum is not nested).
MAX_EXPRESSION_DEPTH = 60
#: Numbers and parameter names in one expression.
MAX_EXPRESSION_TERMS = 250
#: Periods of one simulated episode.
MAX_SIM_HORIZON = 10_000
#: Episodes times periods of one simulation or one tournament pairing (memory and time).
MAX_EPISODE_PERIODS = 2 * 10**9
#: Turns of one classic repeated-game match.
MAX_TURNS = 1_000_000
#: Repetitions of one classic match.
MAX_REPETITIONS = 100_000
#: Turns times repetitions times pairings of a classic tournament (its outcome array).
MAX_TURN_REPETITIONS = 10**8
#: Points of one sweep (grid or sample).
MAX_SWEEP_POINTS = 5_000_000
#: Values of one grid axis.
MAX_GRID_VALUES = 100_000
#: Largest seed: seeds are stored as signed 64-bit integers.
MAX_SEED = 2**63 - 1


def check_count(option: str, value: int, low: int, high: int) -> int:
    """``value`` when ``low <= value <= high``; else a :class:`UsageError` naming ``option`` and the range."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise UsageError(f"{option}: expected a whole number from {low:,} to {high:,}, found {value!r}")
    if not low <= value <= high:
        shown = f"{value:,}" if len(str(abs(value))) <= 30 else f"a number of {len(str(abs(value)))} digits"
        raise UsageError(f"{option}: expected a whole number from {low:,} to {high:,}, found {shown}")
    return value


def check_seed(option: str, seed: int | None) -> int | None:
    """``seed`` (None allowed) when it is from 0 to :data:`MAX_SEED`."""
    if seed is None:
        return None
    if isinstance(seed, bool) or not isinstance(seed, int) or not 0 <= seed <= MAX_SEED:
        shown = f"{seed:,}" if isinstance(seed, int) and len(str(abs(seed))) <= 30 else repr(seed)[:40]
        raise UsageError(f"{option}: expected a seed from 0 to 2**63 - 1, found {shown}")
    return seed


def check_finite(option: str, value: float, low: float = -MAX_ABS_NUMBER, high: float = MAX_ABS_NUMBER) -> float:
    """``value`` when it is a finite number from ``low`` to ``high``; else a message naming ``option``."""
    if not math.isfinite(value) or not low <= value <= high:
        raise UsageError(f"{option}: expected a finite number from {low:g} to {high:g}, found {value:g}")
    return value
