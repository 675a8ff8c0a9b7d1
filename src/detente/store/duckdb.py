"""The run store: runs, their sample plans, completed points and results, in DuckDB.

One embedded DuckDB file holds every run (sweeps, sensitivity analyses, claim evaluations,
simulations). Where it lives: ``--store PATH``, else the environment variable ``DETENTE_STORE``,
else ``runs.duckdb`` under the user's data directory (``platformdirs.user_data_dir("detente")``,
e.g. ``~/.local/share/detente/runs.duckdb`` on Linux).

Tables (schema version 1):

- ``runs``: one row per run with its provenance: kind, scenario name, content hash and full
  data (JSON), the run's specification (analyses, parameters and their ranges, sampling) and its
  hash, seed, number of points, package version, executor and workers, host, creation and
  finish times, total compute seconds, status (``running``, ``interrupted`` (stopped by Ctrl-C;
  ``--resume`` continues it), ``done`` or ``failed``).
- ``plan``: every sample point of a run (its parameter values), written when the run is
  created, so a resumed run uses exactly the same points.
- ``points``: one row per completed point: its outputs (JSON), the seconds it took, the worker
  that computed it. The primary key (run, point) makes a duplicate impossible.
- ``results``: derived results of a run (claims, sensitivity indices, a simulation summary).

Durability: points are written in transactions, each committed before the next batch starts,
and DuckDB's write-ahead log replays committed transactions after a crash; a process killed at
any moment (even ``kill -9``) loses at most the points of the batch it had not committed, and
those are simply computed again on ``--resume``. Nothing is ever deleted or rewritten, except a
run's status and time.

Concurrency, by construction: every process takes an exclusive ``flock`` on the lock file beside
the store (``runs.duckdb.lock``) before DuckDB opens the database, and releases it only after
DuckDB has closed it, so at most one process has the file open at any moment, whether it reads
or writes. The store is opened only for the few milliseconds each write or query takes (a sweep
flushes its points about once a second); a process that finds it locked retries for ``timeout``
seconds (``DETENTE_STORE_TIMEOUT``, default 10) before failing with a clear message, and never
touches the file in that case. Readers open the database read-only, so a store on a read-only
file or directory can be listed and shown. While a write is in progress, Ctrl-C is held back
until it has committed, so a transaction (a batch of points, or a run with its whole sample
plan) is stored entirely or not at all.

Seeds: any whole number in [0, 2**64) is stored losslessly: the 64-bit ``seed`` column holds
seeds from 2**63 up in two's complement (seeds are never negative, so reading back is
unambiguous); other seeds are refused before anything is stored.

A store damaged inside its data blocks gives a message naming the file, not an internal error.
"""

from __future__ import annotations

import json
import math
import os
import re
import socket
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from .. import __version__
from ..core.errors import UsageError, did_you_mean
from .locking import held_sigint, locked_error, store_lock

__all__ = [
    "SCHEMA_VERSION",
    "RunStore",
    "default_store_path",
    "new_run_id",
    "open_store",
    "record_simulation",
]

SCHEMA_VERSION = "1"
#: Seconds to wait for a store locked by another process (overridden by DETENTE_STORE_TIMEOUT).
LOCK_TIMEOUT = 10.0
_RUN_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$")

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key VARCHAR PRIMARY KEY, value VARCHAR);
CREATE TABLE IF NOT EXISTS runs (
    run_id VARCHAR PRIMARY KEY,
    kind VARCHAR NOT NULL,
    scenario VARCHAR,
    scenario_hash VARCHAR,
    scenario_data VARCHAR,
    spec VARCHAR,
    spec_hash VARCHAR,
    parameters VARCHAR,
    seed BIGINT,
    points INTEGER,
    version VARCHAR,
    executor VARCHAR,
    workers INTEGER,
    host VARCHAR,
    created TIMESTAMP,
    finished TIMESTAMP,
    status VARCHAR,
    seconds DOUBLE
);
CREATE TABLE IF NOT EXISTS plan (
    run_id VARCHAR, point INTEGER, params DOUBLE[], PRIMARY KEY (run_id, point)
);
CREATE TABLE IF NOT EXISTS points (
    run_id VARCHAR, point INTEGER, outputs VARCHAR, seconds DOUBLE, worker VARCHAR,
    finished TIMESTAMP, PRIMARY KEY (run_id, point)
);
CREATE TABLE IF NOT EXISTS results (
    run_id VARCHAR, key VARCHAR, value VARCHAR, created TIMESTAMP, PRIMARY KEY (run_id, key)
);
"""


def default_store_path() -> Path:
    """``DETENTE_STORE`` when set, else ``runs.duckdb`` in the user's data directory."""
    env = os.environ.get("DETENTE_STORE")
    if env:
        return Path(env).expanduser()
    from platformdirs import user_data_dir

    return Path(user_data_dir("detente", appauthor=False)) / "runs.duckdb"


def new_run_id(kind: str) -> str:
    """``sweep-20250301-142233-1a2b``: kind, UTC time and four random hex digits."""
    stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M%S")
    return f"{kind}-{stamp}-{os.urandom(2).hex()}"


def check_run_id(run_id: str) -> str:
    if not _RUN_ID.match(run_id):
        raise UsageError(
            f"--run-id {run_id!r}: use letters, digits, '.', '_' and '-' (at most 100, starting with a letter or digit)"
        )
    return run_id


def _now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


def _dumps(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"), allow_nan=True, default=_default)


def _default(obj: Any) -> Any:
    import numpy as np

    if isinstance(obj, np.generic):
        return obj.item()
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    if isinstance(obj, tuple | set | frozenset):
        return list(obj)
    raise TypeError(f"not JSON serialisable: {type(obj).__name__}")


#: Seeds are whole numbers in [0, 2**64) (a NumPy SeedSequence takes any; a store keeps 64 bits).
SEED_LIMIT = 2**64


def check_store_seed(seed: int | None) -> int | None:
    """``seed`` when it is None or a whole number in 0 .. 2**64 - 1; else a UsageError."""
    if seed is None:
        return None
    if isinstance(seed, bool) or not isinstance(seed, int) or not 0 <= seed < SEED_LIMIT:
        raise UsageError(f"--seed must be a whole number between 0 and 2**64 - 1, found {seed!r}")
    return seed


def _seed_to_column(seed: int | None) -> int | None:
    """A seed in [0, 2**64) as the signed 64-bit ``seed`` column (two's complement above 2**63 - 1)."""
    seed = check_store_seed(seed)
    if seed is None:
        return None
    return seed - SEED_LIMIT if seed >= 2**63 else seed


def _seed_from_column(value: int | None) -> int | None:
    """The inverse of :func:`_seed_to_column` (seeds are never negative, so this is lossless)."""
    if value is None:
        return None
    return int(value) + SEED_LIMIT if value < 0 else int(value)


@dataclass(frozen=True)
class RunInfo:
    """A run's row in ``runs`` plus its number of completed points."""

    run_id: str
    kind: str
    scenario: str
    scenario_hash: str
    spec: dict[str, Any]
    spec_hash: str
    parameters: list[str]
    seed: int | None
    points: int
    completed: int
    version: str
    executor: str | None
    workers: int | None
    host: str | None
    created: str
    finished: str | None
    status: str
    seconds: float | None

    def to_dict(self) -> dict[str, Any]:
        return {
            "run_id": self.run_id,
            "kind": self.kind,
            "points": self.points,
            "completed": self.completed,
            "status": self.status,
            "scenario": self.scenario,
            "scenario_hash": self.scenario_hash,
            "seed": self.seed,
            "parameters": self.parameters,
            "version": self.version,
            "executor": self.executor,
            "workers": self.workers,
            "host": self.host,
            "created": self.created,
            "finished": self.finished,
            "seconds": self.seconds,
            "spec": self.spec,
            "spec_hash": self.spec_hash,
        }


class RunStore:
    """A run store file; see the module docstring. Every method opens and closes the file."""

    def __init__(self, path: str | os.PathLike[str] | None = None, timeout: float | None = None) -> None:
        self.path = Path(path).expanduser() if path is not None else default_store_path()
        if timeout is None:
            try:
                timeout = float(os.environ.get("DETENTE_STORE_TIMEOUT", LOCK_TIMEOUT))
            except ValueError:
                timeout = LOCK_TIMEOUT
        self.timeout = timeout
        self._ready = False

    def __repr__(self) -> str:
        return f"RunStore({str(self.path)!r})"

    # ---------------------------------------------------------------- connection

    @contextmanager
    def connect(self, *, create: bool = True, write: bool = True) -> Iterator[Any]:
        """An open connection, held under the store's lock file (see the module docstring).

        ``write=False`` opens the database read-only (a read-only file or directory can be
        read). Every DuckDB error raised inside the block becomes a UsageError naming the
        store (a damaged file), and an interrupted query becomes a KeyboardInterrupt. While a
        connection that writes is open, Ctrl-C is held back until it is closed, so that a
        transaction is never cut in half.
        """
        import duckdb

        if self.path.is_dir():
            raise UsageError(
                f"run store {self.path}: is a directory; give a file path, e.g. {self.path / 'runs.duckdb'}"
            )
        if not self.path.exists():
            if not create or not write:
                raise UsageError(f"run store {self.path}: no such file (no run has been stored there yet)")
            try:
                self.path.parent.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                raise UsageError(f"run store {self.path}: cannot create its directory ({exc.strerror})") from None
        deadline = time.monotonic() + self.timeout
        with held_sigint(write), store_lock(self.path, deadline, self.timeout, write=write):
            con = self._open(deadline, write)
            try:
                if write and not self._ready:
                    self._init_schema(con)
                    self._ready = True
                elif not write:
                    self._check_schema(con)
                yield con
            except duckdb.Error as exc:
                if isinstance(exc, duckdb.InterruptException) or "interrupted" in str(exc).lower():
                    raise KeyboardInterrupt from None
                raise self._damaged(exc) from None
            except RuntimeError as exc:  # DuckDB reports an interrupted query as a RuntimeError
                if "interrupted" in str(exc).lower():
                    raise KeyboardInterrupt from None
                raise
            finally:
                con.close()

    def _damaged(self, exc: BaseException) -> UsageError:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        return UsageError(
            f"run store {self.path}: damaged or unreadable ({first}); use another store with --store PATH, "
            "or restore this file from a copy"
        )

    def _open(self, deadline: float, write: bool) -> Any:
        """``duckdb.connect``, retrying while a process outside detente holds DuckDB's own lock."""
        import duckdb

        delay = 0.02
        while True:
            try:
                con = duckdb.connect(str(self.path), read_only=not write)
                con.execute("SET enable_progress_bar = false")  # no bar of DuckDB's on the terminal
                return con
            except duckdb.IOException as exc:
                text = str(exc)
                if "not a valid duckdb" in text.lower():
                    raise UsageError(
                        f"run store {self.path}: not a detente run store (the file is not a DuckDB database); "
                        "give another path with --store"
                    ) from None
                if "lock" not in text.lower():
                    raise UsageError(f"run store {self.path}: cannot open it ({text})") from None
                if time.monotonic() >= deadline:
                    holder = re.search(r"PID (\d+)", text)
                    who = f" (process {holder.group(1)})" if holder else ""
                    raise locked_error(self.path, self.timeout, who) from None
                time.sleep(delay)
                delay = min(delay * 1.5, 0.25)
            except duckdb.Error as exc:
                raise UsageError(f"run store {self.path}: not a detente run store, or damaged ({exc})") from None

    def _check_schema(self, con: Any) -> None:
        """Refuse a DuckDB file that is not a run store of this schema version (reading only)."""
        import duckdb

        try:
            tables = {r[0] for r in con.execute("SELECT table_name FROM information_schema.tables").fetchall()}
            if not {"meta", "runs", "plan", "points", "results"} <= tables:
                raise UsageError(f"run store {self.path}: a DuckDB file, but not a detente run store")
            row = con.execute("SELECT value FROM meta WHERE key = 'schema'").fetchone()
        except duckdb.Error as exc:
            raise self._damaged(exc) from None
        if row is not None and row[0] != SCHEMA_VERSION:
            raise UsageError(
                f"run store {self.path} has schema version {row[0]}; this detente reads version "
                f"{SCHEMA_VERSION}. Use another store with --store PATH."
            )

    def _init_schema(self, con: Any) -> None:
        import duckdb

        try:
            tables = {r[0] for r in con.execute("SELECT table_name FROM information_schema.tables").fetchall()}
            if "meta" in tables:
                row = con.execute("SELECT value FROM meta WHERE key = 'schema'").fetchone()
                if row is not None and row[0] != SCHEMA_VERSION:
                    raise UsageError(
                        f"run store {self.path} has schema version {row[0]}; this detente reads version "
                        f"{SCHEMA_VERSION}. Use another store with --store PATH."
                    )
            elif tables:
                raise UsageError(f"run store {self.path}: a DuckDB file, but not a detente run store")
            con.execute("BEGIN TRANSACTION")
            con.execute(_SCHEMA)
            con.execute("INSERT OR IGNORE INTO meta VALUES ('schema', ?)", [SCHEMA_VERSION])
            con.execute("COMMIT")
        except duckdb.Error as exc:
            raise UsageError(f"run store {self.path}: cannot prepare it ({exc})") from None

    # ---------------------------------------------------------------- writing

    def create_run(
        self,
        run_id: str,
        *,
        kind: str,
        scenario: Any,
        spec: Mapping[str, Any],
        spec_hash: str,
        parameters: Sequence[str],
        plan: Sequence[Sequence[float]] | Any,
        seed: int | None,
        executor: str | None = None,
        workers: int | None = None,
    ) -> None:
        """Record a new run and its sample plan (one transaction). Raises UsageError when a
        run of that id exists already, or when ``seed`` is outside [0, 2**64)."""
        check_run_id(run_id)
        check_store_seed(seed)
        with self.connect() as con:
            con.execute("BEGIN TRANSACTION")
            try:
                if con.execute("SELECT 1 FROM runs WHERE run_id = ?", [run_id]).fetchone():
                    raise UsageError(
                        f"a run {run_id!r} exists already in {self.path}; continue it with --resume, or choose "
                        "another --run-id"
                    )
                con.execute(
                    "INSERT INTO runs VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, NULL, 'running', 0.0)",
                    [
                        run_id,
                        kind,
                        scenario.name,
                        scenario.content_hash,
                        _dumps(scenario.to_data()),
                        _dumps(spec),
                        spec_hash,
                        _dumps(list(parameters)),
                        _seed_to_column(seed),
                        len(plan),
                        __version__,
                        executor,
                        workers,
                        socket.gethostname(),
                        _now(),
                    ],
                )
                if len(plan):
                    _insert_plan(con, run_id, plan)
                con.execute("COMMIT")
            except BaseException:
                con.execute("ROLLBACK")
                raise

    def add_points(self, run_id: str, results: Sequence[tuple[int, Mapping[str, Any], float, str]]) -> None:
        """Store completed points in one transaction; a point stored already is left as it is."""
        if not results:
            return
        now = _now()
        with self.connect() as con:
            con.execute("BEGIN TRANSACTION")
            try:
                con.execute(
                    "INSERT OR IGNORE INTO points SELECT ?, unnest(?::INTEGER[]), unnest(?::VARCHAR[]), "
                    "unnest(?::DOUBLE[]), unnest(?::VARCHAR[]), ?",
                    [
                        run_id,
                        [int(r[0]) for r in results],
                        [_dumps(r[1]) for r in results],
                        [float(r[2]) for r in results],
                        [str(r[3]) for r in results],
                        now,
                    ],
                )
                con.execute("COMMIT")
            except BaseException:
                con.execute("ROLLBACK")
                raise

    def finish_run(self, run_id: str, status: str, seconds: float) -> None:
        """Set a run's status (``done``, ``failed``, ``interrupted`` or ``running``) and add ``seconds`` to
        its time."""
        with self.connect() as con:
            con.execute(
                "UPDATE runs SET status = ?, finished = ?, seconds = coalesce(seconds, 0) + ? WHERE run_id = ?",
                [status, _now() if status == "done" else None, float(seconds), run_id],
            )

    def add_results(self, run_id: str, key: str, value: Any) -> None:
        """Store (or replace) a derived result of a run under ``key``."""
        with self.connect() as con:
            con.execute(
                "INSERT OR REPLACE INTO results VALUES (?, ?, ?, ?)",
                [run_id, key, json.dumps(value, allow_nan=True, default=_default), _now()],
            )

    # ---------------------------------------------------------------- reading

    def _info(self, con: Any, run_id: str) -> RunInfo:
        row = con.execute(
            "SELECT run_id, kind, scenario, scenario_hash, spec, spec_hash, parameters, seed, points, version, "
            "executor, workers, host, created, finished, status, seconds, "
            "(SELECT count(*) FROM points p WHERE p.run_id = r.run_id) FROM runs r WHERE run_id = ?",
            [run_id],
        ).fetchone()
        if row is None:
            ids = [r[0] for r in con.execute("SELECT run_id FROM runs ORDER BY created DESC LIMIT 1000").fetchall()]
            raise UsageError(
                f"no run {run_id!r} in {self.path}{did_you_mean(run_id, ids)} (list them with: detente runs)"
            )
        return RunInfo(
            run_id=row[0],
            kind=row[1],
            scenario=row[2],
            scenario_hash=row[3],
            spec=json.loads(row[4]),
            spec_hash=row[5],
            parameters=json.loads(row[6]),
            seed=_seed_from_column(row[7]),
            points=int(row[8]),
            version=row[9],
            executor=row[10],
            workers=row[11],
            host=row[12],
            created=str(row[13]),
            finished=None if row[14] is None else str(row[14]),
            status=row[15],
            seconds=row[16],
            completed=int(row[17]),
        )

    def info(self, run_id: str) -> RunInfo:
        with self.connect(write=False) as con:
            return self._info(con, run_id)

    def exists(self, run_id: str) -> bool:
        if not self.path.exists():
            return False
        with self.connect(write=False) as con:
            return con.execute("SELECT 1 FROM runs WHERE run_id = ?", [run_id]).fetchone() is not None

    def latest_incomplete(self, spec_hash: str) -> str | None:
        """The most recent run with this specification that has points left, if any."""
        if not self.path.exists():
            return None
        with self.connect(write=False) as con:
            row = con.execute(
                "SELECT run_id FROM runs r WHERE spec_hash = ? AND points > "
                "(SELECT count(*) FROM points p WHERE p.run_id = r.run_id) ORDER BY created DESC LIMIT 1",
                [spec_hash],
            ).fetchone()
        return None if row is None else str(row[0])

    def done_points(self, run_id: str) -> set[int]:
        with self.connect(write=False) as con:
            return {int(r[0]) for r in con.execute("SELECT point FROM points WHERE run_id = ?", [run_id]).fetchall()}

    def plan(self, run_id: str) -> list[list[float]]:
        with self.connect(write=False) as con:
            return [
                list(r[0])
                for r in con.execute("SELECT params FROM plan WHERE run_id = ? ORDER BY point", [run_id]).fetchall()
            ]

    def list_runs(self, limit: int = 100) -> list[dict[str, Any]]:
        """The most recent runs first, with their completed points."""
        if not self.path.exists():
            return []
        with self.connect(write=False) as con:
            rows = con.execute(
                "SELECT run_id, kind, scenario, points, (SELECT count(*) FROM points p WHERE p.run_id = r.run_id), "
                "status, created, seconds FROM runs r ORDER BY created DESC, run_id LIMIT ?",
                [limit],
            ).fetchall()
        return [
            {
                "run_id": r[0],
                "kind": r[1],
                "scenario": r[2],
                "points": int(r[3]),
                "completed": int(r[4]),
                "status": r[5],
                "created": str(r[6]),
                "seconds": r[7],
            }
            for r in rows
        ]

    def rows(self, run_id: str) -> list[dict[str, Any]]:
        """Completed points in sample order: ``{"point", "params", "outputs"}``."""
        with self.connect(write=False) as con:
            info = self._info(con, run_id)
            data = con.execute(
                "SELECT p.point, pl.params, p.outputs FROM points p JOIN plan pl "
                "ON p.run_id = pl.run_id AND p.point = pl.point WHERE p.run_id = ? ORDER BY p.point",
                [run_id],
            ).fetchall()
        names = info.parameters
        return [
            {"point": int(point), "params": dict(zip(names, params, strict=True)), "outputs": json.loads(outputs)}
            for point, params, outputs in data
        ]

    def results(self, run_id: str) -> dict[str, Any]:
        with self.connect(write=False) as con:
            self._info(con, run_id)
            data = con.execute("SELECT key, value FROM results WHERE run_id = ? ORDER BY key", [run_id]).fetchall()
        return {k: json.loads(v) for k, v in data}

    def export_parquet(self, run_id: str, path: str | os.PathLike[str]) -> int:
        """Write a run's completed points to a Parquet file: one row per point, a column per
        parameter and per output (a parameter named like an output or ``point`` is prefixed
        ``param.``). Returns the number of rows."""
        rows = self.rows(run_id)
        info = self.info(run_id)
        out_keys: list[str] = []
        seen: set[str] = set()
        for row in rows:
            for key in row["outputs"]:
                if key not in seen:
                    seen.add(key)
                    out_keys.append(key)
        taken = {"point", *out_keys}
        columns: list[tuple[str, str, list[Any]]] = [("point", "INTEGER", [r["point"] for r in rows])]
        for name in info.parameters:
            col = name if name not in taken else f"param.{name}"
            columns.append((col, "DOUBLE", [float(r["params"][name]) for r in rows]))
        for key in out_keys:
            values = [r["outputs"].get(key) for r in rows]
            present = [v for v in values if v is not None]
            if present and all(isinstance(v, bool) for v in present):
                kind = "BOOLEAN"
            elif present and all(isinstance(v, int | float) and not isinstance(v, bool) for v in present):
                kind = "DOUBLE"
                values = [None if v is None else float(v) for v in values]
            else:
                kind = "VARCHAR"
                values = [None if v is None else (v if isinstance(v, str) else json.dumps(v)) for v in values]
            columns.append((key, kind, values))
        target = Path(path).expanduser()
        if target.is_dir():
            raise UsageError(f"--parquet {path}: is a directory")
        if not target.parent.exists():
            raise UsageError(f"--parquet {path}: no such directory {target.parent}")
        import duckdb

        con = duckdb.connect(":memory:")
        try:
            select = ", ".join(f"unnest(?::{kind}[]) AS {_quote(name)}" for name, kind, _ in columns)
            con.execute(f"CREATE TABLE export AS SELECT {select}", [values for _, _, values in columns])
            literal = str(target).replace("'", "''")
            con.execute(f"COPY export TO '{literal}' (FORMAT parquet)")
        except duckdb.Error as exc:
            raise UsageError(f"--parquet {path}: cannot write it ({exc})") from None
        finally:
            con.close()
        return len(rows)


def _insert_plan(con: Any, run_id: str, plan: Any) -> None:
    """Insert a sample plan (rows of parameter values, a list or an array) column by column from
    NumPy arrays: a million points of 28 parameters take seconds, not minutes, and no Python
    float is made per value."""
    import numpy as np

    matrix = np.asarray(plan, dtype=float)
    matrix = matrix.reshape(len(matrix), -1)
    columns: dict[str, Any] = {"point": np.arange(len(matrix), dtype=np.int32)}
    for j in range(matrix.shape[1]):
        columns[f"c{j}"] = np.ascontiguousarray(matrix[:, j])
    values = "[" + ", ".join(f"c{j}" for j in range(matrix.shape[1])) + "]::DOUBLE[]"
    con.register("detente_plan_in", columns)
    try:
        con.execute(f"INSERT INTO plan SELECT ?, point, {values} FROM detente_plan_in", [run_id])
    finally:
        con.unregister("detente_plan_in")


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def open_store(path: str | os.PathLike[str] | None = None) -> RunStore:
    """The store at ``path``, ``DETENTE_STORE`` or the default location."""
    return RunStore(path)


def record_simulation(
    store: RunStore,
    scenario: Any,
    result: Any,
    *,
    schedule: str | None = None,
    run_id: str | None = None,
) -> str:
    """Store one :class:`~detente.simulation.simulate.SimulationResult` as a run of kind
    ``simulate`` (its summary as the one point's outputs and as a result). Returns its id."""
    run_id = check_run_id(run_id) if run_id else new_run_id("simulate")
    summary = result.summary()
    prov = dict(result.provenance)
    spec = {
        "kind": "simulate",
        "strategies": dict(result.strategies),
        "episodes": result.episodes,
        "horizon": result.horizon,
        "schedule": schedule if schedule is not None else prov.get("schedule"),
        "parameters": prov.get("parameters", {}),
    }
    import hashlib

    spec_hash = hashlib.sha256((_dumps(spec) + scenario.content_hash).encode()).hexdigest()
    store.create_run(
        run_id,
        kind="simulate",
        scenario=scenario,
        spec=spec,
        spec_hash=spec_hash,
        parameters=[],
        plan=[[]],
        seed=result.seed,
    )
    flat: dict[str, Any] = {"crisis_rate": summary["crisis_rate"]}
    for pid, party in summary["parties"].items():
        flat[f"value.{pid}"] = party["value"]["mean"]
        flat[f"package_in_force.{pid}"] = party["package_in_force"]["mean"]
    seconds = float(prov.get("seconds", 0.0) or 0.0)
    store.add_points(run_id, [(0, flat, seconds, socket.gethostname())])
    store.add_results(run_id, "summary", summary)
    store.finish_run(run_id, "done", seconds)
    return run_id


def finite_or_none(value: Any) -> Any:
    """JSON-ready: non-finite floats become None (``null``), everything else is unchanged."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: finite_or_none(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [finite_or_none(v) for v in value]
    return value
