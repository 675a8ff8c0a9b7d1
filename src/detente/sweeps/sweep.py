"""Sweeps: an analysis at many parameter points, stored as it goes, resumable, on any executor.

:func:`sweep` is the entry point of ``detente sweep``: it samples the parameter space
(:mod:`detente.sweeps.sampling`), then :func:`run_sweep` evaluates the analyses at every point
through an executor (:mod:`detente.sweeps.executors`) and writes completed points to the run
store (:mod:`detente.store.duckdb`) about once a second. Sensitivity analyses and claims use
:func:`run_sweep` with their own sample matrices.

A row is ``{"point": i, "params": {name: value}, "outputs": {column: value}}``, rows in sample
order. Output columns are terms of the claim language: ``check[phased].self_enforcing``,
``design.completion_period``, ``simulate[...].crisis_rate`` (see
:mod:`detente.sweeps.analyses`).

Reproducibility: point ``i`` runs with seed :func:`~detente.sweeps.sampling.point_seed`
``(seed, i)`` (the ``i``-th child of ``SeedSequence(seed)``), whatever process or machine
computes it and in whatever order, so rows are bit-identical across executors and worker
counts, and a resumed run equals an uninterrupted one.

Resuming: a run's specification (scenario hash, analyses, parameter space, sample matrix size,
seed and sampling options) is hashed; ``resume=True`` continues the run of that id (or, without
an id, the latest unfinished run with the same hash), computing only the points not yet stored.
The stored sample plan is used, so the points are exactly those of the first session. Before a
run is marked done, the points the store holds are read back and any missing point is computed
again; so ``--resume`` also repairs a run marked done that lacks points.

Ctrl-C: the run is marked ``interrupted`` and :class:`SweepInterrupted` carries its id only when
the run and its whole sample plan were committed (writes to the store finish before Ctrl-C
takes effect); otherwise its ``run_id`` is None and there is nothing to resume.
"""

from __future__ import annotations

import hashlib
import json
import os
import socket
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from contextlib import suppress
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import NDArray

from .. import __version__
from ..core.errors import UsageError
from ..core.results import missing_part, pandas, report_html
from ..core.scenario import Scenario
from .analyses import Call, make_call
from .sampling import ParameterSpace, check_seed, point_seed, sample

__all__ = [
    "FLUSH_SECONDS",
    "PointTask",
    "SweepInterrupted",
    "SweepResult",
    "analysis_calls",
    "common_point_seed",
    "evaluate_points",
    "run_sweep",
    "sweep",
]

FloatArray = NDArray[np.float64]
#: Completed points are written to the store at least this often (seconds).
FLUSH_SECONDS = 1.0
#: A chunk of points aims at this much work (seconds), so progress and flushes stay regular.
CHUNK_SECONDS = 0.25
#: ... and every worker gets at least this many chunks, so that the last ones even out.
CHUNKS_PER_WORKER = 8
#: After a run, points the store does not hold are computed again at most this many times.
VERIFY_ROUNDS = 3


class SweepInterrupted(KeyboardInterrupt):
    """Ctrl-C during a sweep. ``run_id`` names the run to resume (its completed points are
    stored), or is None when the run was not yet stored (nothing to resume)."""

    def __init__(self, run_id: str | None) -> None:
        super().__init__(run_id)
        self.run_id = run_id


@dataclass(frozen=True)
class PointTask:
    """What every worker needs to evaluate points: the scenario, the analyses, the parameter
    names (the order of a point's values) and the run's seed. Picklable; sent once per worker."""

    scenario: Scenario
    calls: tuple[Call, ...]
    names: tuple[str, ...]
    seed: int

    def run_point(self, index: int, values: Sequence[float]) -> dict[str, Any]:
        params = dict(zip(self.names, (float(v) for v in values), strict=True))
        seed = point_seed(self.seed, index)
        out: dict[str, Any] = {}
        for call in self.calls:
            for name, value in call.run(self.scenario, params, seed).items():
                out[f"{call.key}.{name}"] = value
        return out

    def run_chunk(
        self, chunk: Iterable[tuple[int, Sequence[float]]]
    ) -> Iterable[tuple[int, dict[str, Any], float, str]]:
        worker = f"{socket.gethostname()}:{os.getpid()}"
        for index, values in chunk:
            start = time.perf_counter()
            outputs = self.run_point(index, values)
            yield int(index), outputs, time.perf_counter() - start, worker


@dataclass(frozen=True)
class SweepResult:
    """Rows of a sweep (sample order) and how they were made."""

    run_id: str | None
    rows: list[dict[str, Any]]
    parameters: tuple[str, ...]
    calls: tuple[str, ...]
    points: int
    computed: int
    reused: int
    seconds: float
    seed: int
    extra: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """``{"run_id", "rows"}`` (the ``--json`` contract) plus a summary; non-finite -> null."""
        from ..store.duckdb import finite_or_none

        return {
            "run_id": self.run_id,
            "rows": [finite_or_none(r) for r in self.rows],
            "parameters": list(self.parameters),
            "analyses": list(self.calls),
            "points": self.points,
            "computed": self.computed,
            "reused": self.reused,
            "seed": self.seed,
            "seconds": self.seconds,
        }

    def to_frame(self) -> Any:
        """One row per sample point, in sample order: ``rows`` flattened with dotted names
        (``point``, ``params.P`` for each sampled parameter, then each analysis's outputs, e.g.
        ``outputs.check[S].margin``). A sweep interrupted before any point finished raises, naming the
        run to resume."""
        if not self.rows:
            raise missing_part("SweepResult", "rows", f"no point finished; resume run {self.run_id!r}")
        return pandas().json_normalize(self.rows, sep=".")

    def _repr_html_(self) -> str:
        return report_html(self)


def _spec_hash(scenario: Scenario, spec: Mapping[str, Any]) -> str:
    blob = json.dumps(spec, sort_keys=True, separators=(",", ":"), default=str) + scenario.content_hash
    return hashlib.sha256(blob.encode()).hexdigest()


def _chunks(indices: Sequence[int], matrix: FloatArray, size: int) -> list[list[tuple[int, list[float]]]]:
    return [
        [(int(i), [float(v) for v in matrix[i]]) for i in indices[start : start + size]]
        for start in range(0, len(indices), size)
    ]


def run_sweep(
    scenario: Scenario,
    calls: Sequence[Call],
    space: ParameterSpace,
    matrix: FloatArray,
    *,
    seed: int,
    kind: str = "sweep",
    executor: Any = None,
    store: Any = None,
    run_id: str | None = None,
    resume: bool = False,
    progress: Callable[[int, int], None] | None = None,
    extra: Mapping[str, Any] | None = None,
    common_seed: bool = False,
) -> SweepResult:
    """Evaluate ``calls`` at every row of ``matrix`` (parameter values in ``space.names`` order).

    With a ``store`` the run is recorded (with ``run_id``, or a new id) and points are written as
    they complete; ``resume`` continues a stored run. Without one, nothing is written and rows
    are kept in memory. ``executor`` defaults to this process. ``progress(done, total)`` is
    called as chunks complete. ``common_seed``: every point uses the seed
    :func:`common_seed` ``(seed)`` (common random numbers: simulated outputs differ between
    points because of the parameters, not because of the episodes' random draws).
    """
    from ..store.duckdb import check_run_id, new_run_id
    from ..store.locking import held_sigint
    from .executors import LocalExecutor

    started = time.perf_counter()
    matrix = np.asarray(matrix, dtype=float).reshape(len(matrix), space.dim)
    n = int(matrix.shape[0])
    seed = check_seed(seed)
    spec: dict[str, Any] = {
        "kind": kind,
        "analyses": [c.key for c in calls],
        "space": space.to_dict(),
        "points": n,
        "seed": seed,
        **dict(extra or {}),
    }
    if common_seed:
        spec["common_seed"] = True
    spec_hash = _spec_hash(scenario, spec)
    done: set[int] = set()
    # ``stored`` becomes the run's id once the run and its whole plan are committed in the store:
    # only then can an interrupted run be continued with --resume
    stored: str | None = None
    try:
        if store is not None:
            if resume:
                run_id = stored = _resumable(store, run_id, kind, spec_hash, scenario, spec, space, matrix)
                done = store.done_points(run_id)
            else:
                run_id = check_run_id(run_id) if run_id else new_run_id(kind)
                with held_sigint():  # Ctrl-C takes effect once we know whether the run was stored
                    store.create_run(
                        run_id,
                        kind=kind,
                        scenario=scenario,
                        spec=spec,
                        spec_hash=spec_hash,
                        parameters=space.names,
                        plan=matrix,
                        seed=seed,
                        executor=getattr(executor, "name", "local"),
                        workers=getattr(executor, "workers", 1),
                    )
                    stored = run_id
        elif resume:
            raise UsageError("--resume needs a run store")
    except KeyboardInterrupt:
        if stored is not None:
            with suppress(UsageError, KeyboardInterrupt):
                store.finish_run(stored, "interrupted", time.perf_counter() - started)
        raise SweepInterrupted(stored) from None
    task = (
        _FixedSeedTask(scenario, tuple(calls), space.names, common_point_seed(seed))
        if common_seed
        else PointTask(scenario, tuple(calls), space.names, seed)
    )
    remaining = [i for i in range(n) if i not in done]
    memory: dict[int, dict[str, Any]] = {}
    buffer: list[tuple[int, dict[str, Any], float, str]] = []
    last_flush = time.monotonic()
    completed = len(done)
    if progress is not None:
        progress(completed, n)

    def flush() -> None:
        nonlocal last_flush
        if store is not None and buffer:
            store.add_points(run_id, buffer)
        buffer.clear()
        last_flush = time.monotonic()

    def accept(results: Iterable[tuple[int, dict[str, Any], float, str]]) -> None:
        nonlocal completed
        for res in results:
            buffer.append(res)
            if store is None:
                memory[res[0]] = res[1]
            completed += 1
        if progress is not None:
            progress(min(completed, n), n)
        if time.monotonic() - last_flush >= FLUSH_SECONDS:
            flush()

    def compute(indices: Sequence[int], ex: Any) -> None:
        if not indices:
            return
        # probe: time two points here, then cut the rest into chunks of about CHUNK_SECONDS
        probe = list(indices[:2])
        probed = list(task.run_chunk([(i, matrix[i].tolist()) for i in probe]))
        accept(probed)
        per_point = max(min(r[2] for r in probed), 1e-5)
        rest = list(indices[len(probe) :])
        workers = max(1, int(getattr(ex, "workers", 1)))
        per_worker = -(-len(rest) // (CHUNKS_PER_WORKER * workers)) if rest else 1
        size = max(1, min(int(CHUNK_SECONDS / per_point), 2000, per_worker))
        chunks = _chunks(rest, matrix, size)
        if chunks:
            for results in ex.run(task, chunks):
                accept(results)
        flush()

    own = executor is None
    ex = LocalExecutor(1) if own else executor
    status = "failed"
    recomputed = 0
    try:
        compute(remaining, ex)
        if store is not None:
            # read back what the store holds: a point it does not have is computed again
            for _attempt in range(VERIFY_ROUNDS):
                missing = sorted(set(range(n)) - store.done_points(run_id))
                if not missing:
                    break
                recomputed += len(missing)
                compute(missing, ex)
            else:
                missing = sorted(set(range(n)) - store.done_points(run_id))
                if missing:
                    raise UsageError(
                        f"run store {store.path}: {len(missing):,} points of run {run_id!r} were not kept after "
                        f"{VERIFY_ROUNDS} attempts; continue with --run-id {run_id} --resume"
                    )
        status = "done"
    except KeyboardInterrupt:
        status = "interrupted"
        with suppress(KeyboardInterrupt):
            flush()
        raise SweepInterrupted(stored) from None
    finally:
        if own:
            ex.close()
        if store is not None and stored is not None:
            try:
                store.finish_run(stored, status, time.perf_counter() - started)
            except (UsageError, KeyboardInterrupt):
                if status == "done":
                    raise
    if store is not None:
        assert run_id is not None
        rows = store.rows(run_id)
    else:
        rows = [
            {"point": i, "params": dict(zip(space.names, matrix[i].tolist(), strict=True)), "outputs": memory[i]}
            for i in range(n)
        ]
    return SweepResult(
        run_id=run_id,
        rows=rows,
        parameters=space.names,
        calls=tuple(c.key for c in calls),
        points=n,
        computed=len(remaining) + recomputed,
        reused=len(done),
        seconds=time.perf_counter() - started,
        seed=seed,
        extra=dict(extra or {}),
    )


def common_point_seed(seed: int) -> int:
    """The one episode seed of every point of a run with common random numbers (and of the
    tipping-point scans of claims): the last 31-bit child of ``SeedSequence(seed)``."""
    return point_seed(seed, 2**31 - 1)


def _resumable(
    store: Any,
    run_id: str | None,
    kind: str,
    spec_hash: str,
    scenario: Scenario,
    spec: Mapping[str, Any],
    space: ParameterSpace,
    matrix: FloatArray,
) -> str:
    """The id of the stored run to continue, after checking that its settings and its whole
    sample plan equal this one's."""
    from ..store.duckdb import check_run_id

    if run_id is None:
        run_id = store.latest_incomplete(spec_hash)
        if run_id is None:
            raise UsageError(
                f"--resume: no unfinished {kind} with these settings in {store.path}; give its --run-id "
                "(list runs with: detente runs)"
            )
    info = store.info(check_run_id(run_id))
    if info.spec_hash != spec_hash:
        why = _difference(info, scenario, spec)
        raise UsageError(
            f"--resume: run {run_id!r} was made with other settings ({why}); rerun with the same "
            "scenario, analysis, parameters, samples and seed, or start a new run"
        )
    plan = store.plan(run_id)
    if len(plan) != len(matrix) or info.points != len(matrix):
        raise UsageError(
            f"--resume: run {run_id!r} in {store.path} has {len(plan):,} stored sample points where its "
            f"settings give {len(matrix):,}; the store is damaged, start a new run"
        )
    stored = np.asarray(plan, dtype=float).reshape(len(matrix), space.dim)
    if not np.array_equal(stored, matrix):
        raise UsageError(f"--resume: the stored sample plan of {run_id!r} differs from this one's")
    return str(run_id)


def _difference(info: Any, scenario: Scenario, spec: Mapping[str, Any]) -> str:
    if info.scenario_hash != scenario.content_hash:
        return "another scenario or scenario version"
    for key in ("kind", "analyses", "space", "points", "seed", "method", "samples", "version"):
        if info.spec.get(key) != json.loads(json.dumps(spec.get(key), default=str)):
            return f"a different {key}"
    return "different options"


def evaluate_points(
    scenario: Scenario,
    calls: Sequence[Call],
    points: Sequence[Mapping[str, float]],
    seed: int,
    *,
    executor: Any = None,
) -> list[dict[str, Any]]:
    """Rows for explicit points (full parameter assignments), every point with the same
    ``seed``: for scans and tornados, where common random numbers make neighbours comparable.
    Nothing is stored."""
    if not points:
        return []
    names = tuple(points[0])
    task = _FixedSeedTask(scenario, tuple(calls), names, seed)
    chunk = [(i, [float(p[k]) for k in names]) for i, p in enumerate(points)]
    out: dict[int, dict[str, Any]] = {}
    workers = int(getattr(executor, "workers", 1)) if executor is not None else 1
    if executor is None or workers <= 1 or len(points) < 8:
        results: Iterable[Any] = task.run_chunk(chunk)
        for index, outputs, _s, _w in results:
            out[index] = outputs
    else:
        size = max(1, -(-len(chunk) // (2 * workers)))
        for batch in executor.run(task, [chunk[i : i + size] for i in range(0, len(chunk), size)]):
            for index, outputs, _s, _w in batch:
                out[index] = outputs
    return [{"point": i, "params": dict(points[i]), "outputs": out[i]} for i in range(len(points))]


@dataclass(frozen=True)
class _FixedSeedTask(PointTask):
    """A task whose points all use the seed itself (common random numbers)."""

    def run_point(self, index: int, values: Sequence[float]) -> dict[str, Any]:
        params = dict(zip(self.names, (float(v) for v in values), strict=True))
        out: dict[str, Any] = {}
        for call in self.calls:
            for name, value in call.run(self.scenario, params, self.seed).items():
                out[f"{call.key}.{name}"] = value
        return out


# --------------------------------------------------------------------------- detente sweep


ANALYSIS_NAMES = ("check", "design", "simulate")


def analysis_calls(
    scenario: Scenario,
    analysis: str,
    *,
    schedules: Sequence[str] | None = None,
    strategies: Mapping[str, str] | None = None,
    episodes: int | None = None,
    horizon: int | None = None,
    tranches: Mapping[str, int] | None = None,
) -> tuple[Call, ...]:
    """The calls of ``detente sweep --analysis``: ``check`` and ``simulate`` on each of
    ``schedules`` (default: every schedule of the scenario), or one ``design``."""
    if analysis not in ANALYSIS_NAMES:
        from ..core.errors import did_you_mean

        raise UsageError(
            f"--analysis {analysis!r}: unknown{did_you_mean(analysis, ANALYSIS_NAMES)} (analyses: "
            f"{', '.join(ANALYSIS_NAMES)})"
        )
    if analysis == "design":
        args: list[tuple[str, str | None]] = []
        if horizon is not None:
            args.append(("horizon", str(horizon)))
        args += [(k, str(v)) for k, v in (tranches or {}).items()]
        return (make_call("design", args, scenario),)
    names = list(schedules) if schedules else list(scenario.schedule_names)
    if not names:
        raise UsageError(f"scenario {scenario.name!r} has no schedule to {analysis}; add one, or use --analysis design")
    calls: list[Call] = []
    for name in names:
        if analysis == "check":
            calls.append(make_call("check", [(name, None)], scenario))
        else:
            sargs: list[tuple[str, str | None]] = [(p, s) for p, s in (strategies or {}).items()]
            sargs.append(("schedule", name))
            if episodes is not None:
                sargs.append(("episodes", str(episodes)))
            if horizon is not None:
                sargs.append(("horizon", str(horizon)))
            calls.append(make_call("simulate", sargs, scenario))
    return tuple(dict.fromkeys(calls))


def sweep(
    scenario: Scenario,
    analysis: str = "check",
    *,
    samples: int = 64,
    seed: int = 0,
    method: str = "lhs",
    params: Sequence[str] | None = None,
    schedules: Sequence[str] | None = None,
    strategies: Mapping[str, str] | None = None,
    episodes: int | None = None,
    horizon: int | None = None,
    tranches: Mapping[str, int] | None = None,
    executor: Any = None,
    store: Any = None,
    run_id: str | None = None,
    resume: bool = False,
    progress: Callable[[int, int], None] | None = None,
) -> SweepResult:
    """Sample ``params`` (default: every ranged parameter) by ``method`` and run ``analysis``
    (check, design or simulate) at each point; see :func:`run_sweep`."""
    calls = analysis_calls(
        scenario,
        analysis,
        schedules=schedules,
        strategies=strategies,
        episodes=episodes,
        horizon=horizon,
        tranches=tranches,
    )
    space = ParameterSpace.from_scenario(scenario, params)
    matrix = sample(space, method, samples, seed)
    extra = {"method": method, "samples": samples, "version": __version__}
    return run_sweep(
        scenario,
        calls,
        space,
        matrix,
        seed=seed,
        kind="sweep",
        executor=executor,
        store=store,
        run_id=run_id,
        resume=resume,
        progress=progress,
        extra=extra,
    )
