"""Claims: statements in the claim language, evaluated across the plausible parameter space.

A claim (``id``, ``text``, ``claim``, ``expect``) comes from a scenario's ``claims:`` section or a
claims file; its ``claim`` is an expression of :mod:`detente.sweeps.language` that must be a
truth value.

:func:`evaluate_claims` draws one scrambled Sobol' sample of the ranged parameters (or, with
``method="sobol"``, Saltelli's design), evaluates each distinct analysis once per point with
common random numbers (through :mod:`detente.sweeps.sweep`, so the points go to the run store and
can run on Dask), and reports per claim the share of the space where it holds (Wilson 95 %
interval), its drivers (:mod:`detente.sweeps.drivers`, or Sobol total-order indices), the main
box where it fails (:mod:`detente.sweeps.discovery`) and its tipping points
(:mod:`detente.sweeps.tipping`).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from ..core.errors import UsageError, did_you_mean
from ..core.results import pandas, report_html
from ..core.scenario import Scenario
from .analyses import Call
from .language import ClaimSyntaxError, Expression, compile_expression, env_from_rows, split_args

__all__ = [
    "ClaimResult",
    "ClaimSpec",
    "ClaimSyntaxError",
    "CompiledClaim",
    "Expression",
    "claims_from_scenario",
    "compile_claim",
    "compile_expression",
    "env_from_rows",
    "evaluate_claims",
    "load_claims_file",
    "split_args",
]

FloatArray = NDArray[np.float64]
BoolArray = NDArray[np.bool_]
#: Sample size of a claim that gives none (one Sobol' sample, ``--method trees``).
DEFAULT_SAMPLES = 256
#: Saltelli base size N with ``--method sobol``: N * (d + 2) points.
DEFAULT_SOBOL_SAMPLES = 32
#: Fewer points than this is too few for extra-trees drivers and PRIM failure boxes.
MIN_TREE_SAMPLES = 50
#: How drivers are scored unless told otherwise.
DEFAULT_METHOD = "trees"


@dataclass(frozen=True)
class ClaimSpec:
    """A claim as written: ``id``, ``text`` (in words), ``claim`` (in the claim language),
    ``expect`` (what the literature asserts, default true) and an optional base sample size."""

    id: str
    claim: str
    text: str = ""
    expect: bool = True
    samples: int | None = None
    source: str | None = None


@dataclass(frozen=True)
class CompiledClaim:
    spec: ClaimSpec
    expression: Expression


def compile_claim(spec: ClaimSpec, scenario: Scenario) -> CompiledClaim:
    """Compile one claim; it must be a truth value."""
    label = f"claim {spec.id!r}"
    expr = compile_expression(spec.claim, scenario, label)
    if expr.type != "bool":
        raise UsageError(
            f"{label}: a claim must be true or false, but {spec.claim!r} is a number; compare it, "
            f"e.g. {spec.claim.strip()} > 0"
        )
    return CompiledClaim(spec, expr)


# --------------------------------------------------------------------------- claim files


_CLAIM_KEYS = {"id", "text", "claim", "samples", "expect", "source"}


def _claim_from_mapping(item: object, where: str) -> ClaimSpec:
    if not isinstance(item, Mapping):
        raise UsageError(f"{where}: expected a mapping with id, text and claim, found {type(item).__name__}")
    unknown = [k for k in item if k not in _CLAIM_KEYS]
    if unknown:
        key = str(unknown[0])
        raise UsageError(
            f"{where}: unknown key {key!r}{did_you_mean(key, _CLAIM_KEYS)} "
            "(keys: id, text, claim, samples, expect, source)"
        )
    cid, claim = item.get("id"), item.get("claim")
    if not isinstance(cid, str) or not cid.strip():
        raise UsageError(f"{where}: expected an 'id' (text)")
    if not isinstance(claim, str) or not claim.strip():
        raise UsageError(f"{where} ({cid}): expected a 'claim' in the claim language (text)")
    text = item.get("text", "")
    if not isinstance(text, str):
        raise UsageError(f"{where} ({cid}): 'text' must be text")
    expect = item.get("expect", True)
    if not isinstance(expect, bool):
        raise UsageError(f"{where} ({cid}): 'expect' must be true or false")
    samples = item.get("samples")
    if samples is not None and (isinstance(samples, bool) or not isinstance(samples, int) or samples < 2):
        raise UsageError(f"{where} ({cid}): 'samples' must be a whole number >= 2")
    source = item.get("source")
    if source is not None and not isinstance(source, str):
        raise UsageError(f"{where} ({cid}): 'source' must be text")
    return ClaimSpec(cid.strip(), " ".join(claim.split()), text.strip(), expect, samples, source)


def load_claims_file(path: str | Path) -> list[ClaimSpec]:
    """Claims from a YAML file: a list of claims, or a mapping with a ``claims:`` list.

    YAML aliases are refused (a claims file has no use for them and they can blow up), and so
    are files above 1 MB.
    """
    import yaml

    p = Path(path)
    if not p.is_file():
        raise UsageError(f"{path}: no such claims file")
    if p.stat().st_size > 2**20:
        raise UsageError(f"{path}: a claims file of at most 1 MB is expected")
    text = p.read_text(encoding="utf-8", errors="replace")

    class _NoAliases(yaml.SafeLoader):
        def compose_node(self, parent: Any, index: Any) -> Any:
            if self.check_event(yaml.AliasEvent):
                mark = self.peek_event().start_mark  # type: ignore[no-untyped-call]
                raise yaml.MarkedYAMLError(None, None, "aliases are not allowed in a claims file", mark)
            return super().compose_node(parent, index)

    try:
        data = yaml.load(text, Loader=_NoAliases)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark
        line = f":{mark.line + 1}" if mark is not None else ""
        raise UsageError(f"{path}{line}: not valid YAML: {exc.problem}") from None
    except yaml.YAMLError as exc:
        raise UsageError(f"{path}: not valid YAML: {exc}") from None
    if isinstance(data, Mapping):
        if "claims" not in data:
            raise UsageError(f"{path}: expected a list of claims or a 'claims:' key")
        data = data["claims"]
    if not isinstance(data, list) or not data:
        raise UsageError(f"{path}: expected a non-empty list of claims")
    specs = [_claim_from_mapping(item, f"{path}: claims[{i}]") for i, item in enumerate(data)]
    _unique(specs, str(path))
    return specs


def _unique(specs: Sequence[ClaimSpec], where: str) -> None:
    seen: set[str] = set()
    for s in specs:
        if s.id in seen:
            raise UsageError(f"{where}: duplicate claim id {s.id!r}")
        seen.add(s.id)


def claims_from_scenario(scenario: Scenario) -> list[ClaimSpec]:
    """The claims a scenario carries in its ``claims:`` section (none when it has none)."""
    out = []
    for c in getattr(scenario, "claims", None) or ():
        if isinstance(c, Mapping):
            out.append(_claim_from_mapping(c, f"{scenario.name}: claims"))
            continue
        expect = getattr(c, "expect", None)
        out.append(
            ClaimSpec(
                str(c.id),
                " ".join(str(c.claim).split()),
                str(getattr(c, "text", "") or ""),
                True if expect is None else bool(expect),
                getattr(c, "samples", None),
                getattr(c, "source", None),
            )
        )
    return out


# --------------------------------------------------------------------------- results


@dataclass(frozen=True)
class ClaimResult:
    """What :func:`evaluate_claims` says about one claim."""

    id: str
    text: str
    statement: str
    expect: bool
    holds_share: float
    ci95: tuple[float, float]
    n: int
    drivers: tuple[dict[str, Any], ...]
    tipping_points: tuple[dict[str, Any], ...]
    undefined: int
    verdict: str
    agrees: bool
    message: str
    source: str | None = None
    method: str = DEFAULT_METHOD
    failure_box: dict[str, Any] | None = None
    warnings: tuple[str, ...] = ()
    noise_floor: float | None = None

    @property
    def drivers_sentence(self) -> str:
        """``"driven by leakage (0.41, 95% CI 0.35-0.47), ... (extra-trees feature scoring)"``, or why none."""
        if self.holds_share in (0.0, 1.0):
            where = "everywhere" if self.holds_share == 1.0 else "nowhere"
            return f"no drivers: the claim holds {where} in the sample, so no parameter changes its verdict"
        if not self.drivers:
            return "no parameter stands out from noise as a driver at this sample size"
        method = self.drivers[0]["method"]
        text = ", ".join(
            f"{d['parameter']} ({d['index']:.2f}"
            + (f", 95% CI {d['ci'][0]:.2f}-{d['ci'][1]:.2f})" if d.get("ci") is not None else ")")
            for d in self.drivers[:4]
        )
        return f"driven by {text} ({method})"

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "text": self.text,
            "source": self.source,
            "statement": self.statement,
            "expect": self.expect,
            "holds_share": self.holds_share,
            "holds_ci": list(self.ci95),
            "ci95": list(self.ci95),
            "n": self.n,
            "method": self.method,
            "drivers": list(self.drivers),
            "noise_floor": self.noise_floor,
            "failure_box": self.failure_box,
            "tipping_points": list(self.tipping_points),
            "undefined_points": self.undefined,
            "verdict": self.verdict,
            "agrees": self.agrees,
            "message": self.message,
            "warnings": list(self.warnings),
        }

    def to_frame(self) -> Any:
        """One row: ``id``, ``statement``, ``expect``, ``holds_share``, ``ci95_low``, ``ci95_high``,
        ``n`` (sample points), ``undefined_points``, ``verdict``, ``agrees``. Several claims:
        :func:`claims_frame`."""
        return claims_frame([self])

    def _repr_html_(self) -> str:
        return report_html(self)


def claims_frame(results: Sequence[ClaimResult]) -> Any:
    """The claims of :func:`evaluate_claims` as one tidy DataFrame, one row per claim
    (columns of :meth:`ClaimResult.to_frame`)."""
    columns = ["id", "statement", "expect", "holds_share", "ci95_low", "ci95_high", "n", "undefined_points"]
    rows = [
        {
            "id": r.id,
            "statement": r.statement,
            "expect": r.expect,
            "holds_share": r.holds_share,
            "ci95_low": r.ci95[0],
            "ci95_high": r.ci95[1],
            "n": r.n,
            "undefined_points": r.undefined,
            "verdict": r.verdict,
            "agrees": r.agrees,
        }
        for r in results
    ]
    return pandas().DataFrame(rows, columns=[*columns, "verdict", "agrees"])


def wilson(successes: int, n: int, z: float = 1.959963984540054) -> tuple[float, float]:
    """The Wilson score interval of a proportion (well behaved at 0 and 1)."""
    if n == 0:
        return (0.0, 1.0)
    p = successes / n
    denom = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denom
    return (max(0.0, centre - half), min(1.0, centre + half))


#: A claim "holds" (or "fails") when it does at this share of the sample points or more.
ALMOST_ALL = 0.95


def _verdict(spec: ClaimSpec, share: float, ci: tuple[float, float], n: int) -> tuple[str, bool, str]:
    """The verdict word, whether the model agrees with what the claim asserts, and a sentence.

    ``holds`` at a share of at least :data:`ALMOST_ALL`, ``fails`` at most 1 - that, else
    ``mostly holds`` or ``mostly fails`` around one half; the model agrees with a claim asserted
    true (``expect``) when it holds in at least half of the space, and with one asserted false
    when it holds in less than half.
    """
    pct = f"{100 * share:.0f}%"
    interval = f"95% CI {100 * ci[0]:.0f}-{100 * ci[1]:.0f}%"
    if share >= ALMOST_ALL:
        verdict = "holds"
    elif share <= 1 - ALMOST_ALL:
        verdict = "fails"
    elif share >= 0.5:
        verdict = "mostly holds"
    else:
        verdict = "mostly fails"
    every = f"at every one of the {n:,} sample points ({interval})"
    if n == 1:
        every = f"at the one sample point ({interval})"
    if share == 1.0:
        where = every
    elif share == 0.0:
        where = f"at no sample point ({interval})" if n == 1 else f"at none of the {n:,} sample points ({interval})"
    else:
        where = f"in {pct} of the plausible parameter space ({interval})"
    agrees = (share >= 0.5) == spec.expect
    if spec.expect:
        if verdict == "holds":
            msg = f"The model agrees: the claim holds {where}."
        elif verdict == "mostly holds":
            msg = f"The model mostly agrees: the claim holds {where}, not everywhere."
        else:
            only = "" if share == 0.0 else "only "
            msg = f"The model disagrees with this claim: under the sourced ranges it holds {only}{where}."
    else:
        if verdict == "fails":
            if share == 0.0:
                msg = f"The model agrees that this does not hold: it fails {every}."
            else:
                msg = f"The model agrees that this does not hold: it holds only {where}."
        elif verdict == "mostly fails":
            msg = f"The model mostly agrees that this does not hold: it holds {where}."
        else:
            msg = f"The model disagrees with the source, which asserts this is false: it holds {where}."
    return verdict, agrees, msg


# --------------------------------------------------------------------------- evaluation


def evaluate_claims(
    scenario: Scenario,
    specs: Sequence[ClaimSpec],
    *,
    samples: int | None = None,
    seed: int = 0,
    method: str = DEFAULT_METHOD,
    executor: Any = None,
    store: Any = None,
    run_id: str | None = None,
    progress: Callable[[int, int], None] | None = None,
    scan_points: int = 17,
    max_scans: int = 3,
    failure_boxes: bool = True,
) -> tuple[list[ClaimResult], list[str]]:
    """Evaluate ``specs`` on ``scenario``; returns the results and the run ids stored.

    ``method="trees"`` (the default): one scrambled Sobol' sample of ``samples`` points (default
    the largest ``samples`` of the claims, else :data:`DEFAULT_SAMPLES`; at least
    :data:`MIN_TREE_SAMPLES`) for every claim; shares with Wilson intervals over those points,
    drivers by extra-trees feature scoring (:mod:`detente.sweeps.drivers`). ``method="sobol"``:
    Saltelli's ``N * (d + 2)`` points with N = ``samples``; shares over the ``2N`` independent
    base points, drivers by Sobol total-order indices (a warning when N is too small for their
    intervals to exclude zero). Either way every point uses the same episode seeds (common
    random numbers), each distinct analysis runs once per point, and ``failure_boxes`` adds the
    main PRIM box where the claim fails (:mod:`detente.sweeps.discovery`). The tipping-point scan
    takes ``scan_points`` values along each of the claim's ``max_scans`` leading drivers, then
    bisects every flip.
    """
    from .drivers import DRIVER_METHODS
    from .sampling import ParameterSpace, sample
    from .sweep import common_point_seed, run_sweep
    from .tipping import Memo

    if not specs:
        raise UsageError(
            f"no claims to evaluate: scenario {scenario.name!r} has no 'claims:' section; give a file with --claims"
        )
    if method not in DRIVER_METHODS:
        raise UsageError(f"--method {method!r}: unknown{did_you_mean(method, DRIVER_METHODS)} (methods: trees, sobol)")
    _unique(specs, "claims")
    compiled = [compile_claim(s, scenario) for s in specs]
    space = ParameterSpace.from_scenario(scenario)
    own = [c.spec.samples for c in compiled if c.spec.samples]
    n = (
        samples
        if samples is not None
        else max(own, default=DEFAULT_SAMPLES if method == "trees" else DEFAULT_SOBOL_SAMPLES)
    )
    least = MIN_TREE_SAMPLES if method == "trees" else 2
    if n < least:
        why = "for extra-trees drivers and failure boxes" if method == "trees" else "(the Saltelli base size)"
        where = "--samples" if samples is not None else "the claims' samples"
        raise UsageError(f"{where} must be at least {least} {why}, found {n}")
    calls: dict[str, Call] = {}
    for c in compiled:
        for call in c.expression.calls:
            calls.setdefault(call.key, call)
    if method == "trees":
        matrix = sample(space, "sobol", n, seed)
    else:
        from .sensitivity import salib_sobol_sample

        matrix = space.transform(salib_sobol_sample(space.dim, n, seed, second_order=False))
    extra = {"claims": [c.spec.__dict__ for c in compiled], "samples": n, "design": method}
    sweep = run_sweep(
        scenario,
        tuple(calls.values()),
        space,
        matrix,
        seed=seed,
        kind="claims",
        executor=executor,
        store=store,
        run_id=run_id,
        progress=progress,
        extra=extra,
        common_seed=True,
    )
    rows = sweep.rows
    if method == "trees":
        base_idx = np.arange(len(rows))
    else:
        block = space.dim + 2
        base_idx = np.array([i * block + j for i in range(n) for j in (0, block - 1)])
    memo = Memo(scenario, common_point_seed(seed), executor)
    results = [
        _one_claim(
            c, scenario, space, matrix, rows, base_idx, n, seed, method, memo, scan_points, max_scans, failure_boxes
        )
        for c in compiled
    ]
    run_ids = [sweep.run_id] if sweep.run_id else []
    if store is not None and sweep.run_id is not None:
        store.add_results(sweep.run_id, "claims", [r.to_dict() for r in results])
    return results, run_ids


def _one_claim(
    c: CompiledClaim,
    scenario: Scenario,
    space: Any,
    matrix: FloatArray,
    rows: Sequence[Mapping[str, Any]],
    base_idx: NDArray[np.intp],
    n: int,
    seed: int,
    method: str,
    memo: Any,
    scan_points: int,
    max_scans: int,
    failure_boxes: bool,
) -> ClaimResult:
    from .drivers import tree_drivers
    from .tipping import tipping

    expr = c.expression
    env = env_from_rows(rows, expr.terms, expr.params, scenario)
    truth = np.asarray(expr.evaluate(env, len(rows)), dtype=bool)
    undefined = int(_undefined(env, expr, len(rows)).sum())
    y = truth[base_idx]
    share = float(y.mean())
    ci = wilson(int(y.sum()), int(y.size))
    warnings: list[str] = []
    noise_floor: float | None = None
    drivers: list[dict[str, Any]] = []
    if method == "trees":
        scored, noise_floor = tree_drivers(matrix, truth, space.names, seed)
        drivers = [{k: v for k, v in d.items() if k != "driver"} for d in scored if d["driver"]]
    elif 0.0 < share < 1.0:
        drivers, warning = _sobol_drivers(space, truth, n, seed)
        if warning:
            warnings.append(warning)
    scan = [d["parameter"] for d in drivers][:max_scans]
    tips = tipping(scenario, c, space, scan, scan_points, memo)
    verdict, agrees, msg = _verdict(c.spec, share, ci, int(y.size))
    box = _failure_box(matrix, truth, space) if failure_boxes else None
    return ClaimResult(
        c.spec.id,
        c.spec.text,
        c.spec.claim,
        c.spec.expect,
        share,
        ci,
        int(y.size),
        tuple(drivers),
        tuple(tips),
        undefined,
        verdict,
        agrees,
        msg,
        c.spec.source,
        method,
        box,
        tuple(warnings),
        noise_floor,
    )


def _sobol_drivers(space: Any, truth: BoolArray, n: int, seed: int) -> tuple[list[dict[str, Any]], str | None]:
    """Sobol total-order drivers (index > 0.01, largest first) and a warning when N is too small."""
    from .sensitivity import sobol_from_values

    sob = sobol_from_values(space, truth.astype(float), n, seed, second_order=False)
    out = []
    for j in sorted(range(space.dim), key=lambda j: -(_clean(sob["ST"][j]) or 0.0)):
        st, half = _clean(sob["ST"][j]), _clean(sob["ST_conf"][j])
        if st is None or st <= 0.01:
            continue
        interval = None if half is None else [st - half, st + half]
        out.append({"parameter": space.names[j], "index": st, "ci": interval, "method": "Sobol total order"})
    unclear = [d["parameter"] for d in out if d["ci"] is None or d["ci"][0] <= 0.0]
    warning = None
    if unclear:
        warning = (
            f"N={n} is too small for Sobol indices: the 95% intervals of {len(unclear)} of {len(out)} drivers "
            f"include zero ({', '.join(unclear[:4])}); raise --samples or use --method trees"
        )
    return out, warning


def _failure_box(matrix: FloatArray, truth: BoolArray, space: Any) -> dict[str, Any] | None:
    """The first PRIM box where the claim fails, with a sentence, or None (no or too few failures)."""
    from .discovery import MIN_CASES, main_failure_box

    if int((~truth).sum()) < MIN_CASES or len(truth) < 50:
        return None
    box = main_failure_box(matrix, truth, space)
    if box is None or not box.bounds:
        return None  # no region stands out: the claim fails about as often everywhere
    out = box.to_dict()
    out["text"] = (
        f"fails mainly when {box.text} ({100 * box.coverage:.0f}% of the failures lie in this box, "
        f"which is {100 * box.mass:.0f}% of the space; the claim fails at {100 * box.density:.0f}% of the points in it)"
    )
    out["where"] = box.text
    return out


def _clean(x: Any) -> float | None:
    v = float(x)
    return v if math.isfinite(v) else None


def _undefined(env: Mapping[str, FloatArray], expr: Expression, n: int) -> BoolArray:
    out = np.zeros(n, dtype=bool)
    for key in expr.terms:
        out |= np.isnan(env[key])
    return out
