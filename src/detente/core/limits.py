"""Every size limit of detente, in one place (the table in docs/limits.md lists them).

Each limit is checked up front, when a scenario is loaded or an argument is read, with a
message that names the limit, so that no input can make a command run out of memory or
time before it says what is wrong. The command line and the web app take their argument
ranges from here too.
"""

from __future__ import annotations

__all__ = [
    "MAX_ABS_NUMBER",
    "MAX_CONCESSIONS",
    "MAX_DELAY",
    "MAX_EPISODES",
    "MAX_EPISODE_PERIODS",
    "MAX_EXPRESSION_DEPTH",
    "MAX_EXPRESSION_LENGTH",
    "MAX_EXPRESSION_TERMS",
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
#: Episodes of one simulation.
MAX_EPISODES = 10**8
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
#: Largest seed: seeds are stored as signed 64-bit integers.
MAX_SEED = 2**63 - 1
