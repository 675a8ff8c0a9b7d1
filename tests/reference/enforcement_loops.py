"""Deliberately simple reference implementation of the self-enforcement check.

Written only from the written specification, as an independent cross-check for
the fast implementation in ``detente``.  Nothing here imports ``detente``.
Clarity over speed: every path (compliance and every deviation) is simulated
period by period with plain Python loops, over an explicit horizon of
``last event + 50`` periods, and the constant flow after that is closed with an
exact geometric tail.

Reading of the specification used here where it needed interpretation:

* ``x_k(t) = min(1, sum of the amounts of the performed steps of k at periods <= t)``
  until a reversal of ``k`` takes effect, and ``0`` from then on.
* The one-time value of ``k`` at ``t`` is ``once_ik`` times the amount of ``k``
  implemented at ``t``, i.e. the increase of the capped in-force amount
  ``min(1, cum(t)) - min(1, cum(t-1))`` (equal to the step amounts whenever the
  cap does not bind).
* Undoing ``k`` decided at ``r``: the amount undone is the amount in force at the
  start of ``r`` (from performed steps at periods ``< r``); the giver pays
  ``cost_k`` times that amount at ``r``; the flow continues through
  ``r + delay - 1`` and is zero from ``r + delay`` on.
* ``halt_and_reverse`` exists whenever the deviator has a fragile concession in
  force at the start of tau, even when it has no steps left to skip (then only
  the reversals determine when the deviation is seen).
* An empty schedule has H = -1, so only tau = 0 is examined.
"""

from __future__ import annotations

from typing import Any

TAIL_PADDING = 50
TIE_TOL = 1e-12
FEASIBILITY_TOL = 1e-9
PLANS = ("halt", "halt_and_reverse")


# --------------------------------------------------------------------------- #
# Normalisation of the input dict
# --------------------------------------------------------------------------- #
def _normalise(data: dict) -> tuple[list[str], dict[str, float], dict[str, dict], list[dict]]:
    party_ids = [str(p["id"]) for p in data["parties"]]
    discount = {str(p["id"]): float(p["discount"]) for p in data["parties"]}

    concessions: dict[str, dict] = {}
    for c in data.get("concessions", []) or []:
        flow = c.get("flow") or {}
        once = c.get("once") or {}
        rev = c.get("reversible")
        if rev is None or rev is False:
            reversible = False
            delay = 0
            cost = 0.0
        else:
            reversible = True
            rev_dict = rev if isinstance(rev, dict) else {}
            delay = int(rev_dict.get("delay", 0) or 0)
            cost = float(rev_dict.get("cost", 0) or 0)
        lag = c.get("verification_lag")
        verification = c.get("verification") or {}
        if "lag" in verification:
            lag = verification["lag"]
        detect = float(verification.get("detect", 1.0))
        concessions[str(c["id"])] = {
            "id": str(c["id"]),
            "by": str(c["by"]),
            "flow": {i: float(flow.get(i, 0) or 0) for i in party_ids},
            "once": {i: float(once.get(i, 0) or 0) for i in party_ids},
            "reversible": reversible,
            "delay": delay,
            "cost": cost,
            "lag": int(lag) if lag is not None else 0,
            "detect": detect,
        }

    steps: list[dict] = []
    for s in data.get("schedule", []) or []:
        amount = s.get("amount")
        steps.append(
            {
                "period": int(s["period"]),
                "concession": str(s["concession"]),
                "amount": float(amount) if amount is not None else 1.0,
            }
        )
    return party_ids, discount, concessions, steps


def _last_period(steps: list[dict]) -> int:
    """H, the last scheduled period (-1 for an empty schedule, so tau runs over {0})."""
    return max((s["period"] for s in steps), default=-1)


def _is_fragile(conc: dict, discount: dict[str, float]) -> bool:
    """G_k = (-flow_gk) * delta_g^delay / (1 - delta_g) - cost > eps, with
    eps = 1e-9 * max(1, |cost|, |flow_gk| / (1 - delta_g))."""
    if not conc["reversible"]:
        return False
    g = conc["by"]
    d = discount[g]
    gain = (-conc["flow"][g]) * d ** conc["delay"] / (1.0 - d) - conc["cost"]
    eps = 1e-9 * max(1.0, abs(conc["cost"]), abs(conc["flow"][g]) / (1.0 - d))
    return gain > eps


# --------------------------------------------------------------------------- #
# Generic path simulation
# --------------------------------------------------------------------------- #
def _simulate(
    party_ids: list[str],
    discount: dict[str, float],
    concessions: dict[str, dict],
    performed_steps: list[dict],
    reversals: list[tuple[str, int]],
    start: int,
) -> dict[str, float]:
    """Every party's discounted value from ``start`` on along a path.

    ``performed_steps`` are the steps that actually happen; ``reversals`` is a
    list of ``(concession id, decision period)``.  Each party's value is
    discounted to ``start`` with its own discount factor.
    """

    # Cumulative performed amount per concession per period is computed by loops.
    def cum_amount(k: str, t: int) -> float:
        total = 0.0
        for s in performed_steps:
            if s["concession"] == k and s["period"] <= t:
                total += s["amount"]
        return total

    reversal_of: dict[str, tuple[int, float]] = {}
    for k, r in reversals:
        # amount in force at the start of r: performed steps at periods < r
        in_force = min(1.0, cum_amount(k, r - 1))
        reversal_of[k] = (r, in_force)

    def in_force_at(k: str, t: int) -> float:
        if k in reversal_of:
            r, _amt = reversal_of[k]
            if t >= r + concessions[k]["delay"]:
                return 0.0
        return min(1.0, cum_amount(k, t))

    def implemented_at(k: str, t: int) -> float:
        return min(1.0, cum_amount(k, t)) - min(1.0, cum_amount(k, t - 1))

    def payoff(i: str, t: int) -> float:
        u = 0.0
        for k, c in concessions.items():
            u += c["flow"][i] * in_force_at(k, t)
            if any(s["concession"] == k and s["period"] == t for s in performed_steps):
                u += c["once"][i] * implemented_at(k, t)
        for k, (r, amt) in reversal_of.items():
            c = concessions[k]
            if r == t and c["by"] == i:
                u -= c["cost"] * amt
        return u

    events = [start]
    events += [s["period"] for s in performed_steps]
    for k, (r, _amt) in reversal_of.items():
        events += [r, r + concessions[k]["delay"]]
    horizon = max(events) + TAIL_PADDING

    values: dict[str, float] = {}
    for i in party_ids:
        d = discount[i]
        v = 0.0
        for t in range(start, horizon + 1):
            v += d ** (t - start) * payoff(i, t)
        # constant flow from horizon+1 on: exact geometric tail
        u_tail = payoff(i, horizon + 1)
        v += d ** (horizon + 1 - start) * u_tail / (1.0 - d)
        values[i] = v
    return values


# --------------------------------------------------------------------------- #
# Compliance and deviation paths
# --------------------------------------------------------------------------- #
def _comply_values(data: dict, tau: int) -> dict[str, float]:
    party_ids, discount, concessions, steps = _normalise(data)
    return _simulate(party_ids, discount, concessions, list(steps), [], tau)


def _deviation_path(data: dict, party: str, tau: int, plan: str, seen: int | None = None) -> dict | None:
    """Construct the deviation path: performed steps, reversals, d and rho.

    Returns None when the plan does not exist. ``seen`` forces d (the response then runs
    from d + 1); -1 means the deviation is never seen (nobody responds). The path also lists
    its breach events as (observable at the end of, detection probability).
    """
    if plan not in PLANS:
        raise ValueError(f"unknown plan {plan!r}")
    _party_ids, discount, concessions, steps = _normalise(data)

    def giver(s: dict) -> str:
        return concessions[s["concession"]]["by"]

    skipped = [s for s in steps if giver(s) == party and s["period"] >= tau]

    undone_at_tau: list[str] = []
    if plan == "halt_and_reverse":
        for k, c in concessions.items():
            if c["by"] != party or not _is_fragile(c, discount):
                continue
            amount_before = sum(s["amount"] for s in steps if s["concession"] == k and s["period"] < tau)
            if amount_before > 0:
                undone_at_tau.append(k)
        if not undone_at_tau:
            return None
    elif not skipped:
        return None

    # When is the deviation seen?
    candidates = [s["period"] + concessions[s["concession"]]["lag"] for s in skipped]
    candidates += [tau + concessions[k]["delay"] + concessions[k]["lag"] for k in undone_at_tau]
    # a skipped step is the pair (k, t): several steps of k in one period are one breach event
    cells = sorted({(s["concession"], s["period"]) for s in skipped})
    events = [(t + concessions[k]["lag"], concessions[k]["detect"]) for k, t in cells]
    events += [(tau + concessions[k]["delay"] + concessions[k]["lag"], concessions[k]["detect"]) for k in undone_at_tau]
    if seen is None:
        seen = min(candidates)
    never = seen < 0
    rho = 10**9 if never else seen + 1

    # Steps that happen: the deviator's before tau; everybody else's before rho.
    performed = []
    for s in steps:
        if giver(s) == party:
            if s["period"] < tau:
                performed.append(s)
        elif s["period"] < rho:
            performed.append(s)

    reversals = [(k, tau) for k in undone_at_tau]
    # Response at rho: every party undoes its fragile concessions still in force.
    for k, c in concessions.items():
        if never or k in undone_at_tau or not _is_fragile(c, discount):
            continue
        amount_before = sum(s["amount"] for s in performed if s["concession"] == k and s["period"] < rho)
        if amount_before > 0:
            reversals.append((k, rho))

    return {
        "performed": performed,
        "reversals": reversals,
        "seen": seen,
        "response_period": rho,
        "events": events,
    }


def path_values(data: dict, party: str, tau: int, plan: str) -> dict[str, float] | None:
    """Every party's discounted value from ``tau`` on along the deviation path of
    ``party`` deviating at ``tau`` with ``plan`` (each party discounting with its
    own factor), or None when the plan does not exist."""
    path = _deviation_path(data, party, tau, plan)
    if path is None:
        return None
    party_ids, discount, concessions, _steps = _normalise(data)
    return _simulate(party_ids, discount, concessions, path["performed"], path["reversals"], tau)


def reference_check(data: dict) -> dict[str, Any]:
    party_ids, _discount, _concessions, steps = _normalise(data)
    horizon_last = _last_period(steps)
    taus = list(range(horizon_last + 2))

    comply: dict[str, list[float]] = {i: [] for i in party_ids}
    for tau in taus:
        values = _comply_values(data, tau)
        for i in party_ids:
            comply[i].append(values[i])
    participation = {i: comply[i][0] for i in party_ids}

    constraints: list[dict] = []
    for i in party_ids:
        for tau in taus:
            best: dict | None = None
            for plan in PLANS:  # "halt" first, so it wins exact ties
                path = _deviation_path(data, i, tau, plan)
                if path is None:
                    continue
                value = path_values(data, i, tau, plan)[i]
                if best is None or value > best["deviate"] + TIE_TOL:
                    best = {
                        "deviate": value,
                        "plan": plan,
                        "seen": path["seen"],
                        "response_period": path["response_period"],
                    }
            if best is None:
                continue
            v = comply[i][tau]
            constraints.append(
                {
                    "party": i,
                    "period": tau,
                    "comply": v,
                    "deviate": best["deviate"],
                    "slack": v - best["deviate"],
                    "plan": best["plan"],
                    "seen": best["seen"],
                    "response_period": best["response_period"],
                }
            )

    self_enforcing = all(c["slack"] >= -FEASIBILITY_TOL for c in constraints) and all(
        p >= -FEASIBILITY_TOL for p in participation.values()
    )
    return {
        "self_enforcing": self_enforcing,
        "participation": participation,
        "comply": comply,
        "constraints": constraints,
    }


# --------------------------------------------------------------------------- #
# Verification that may miss: the expectation over the detection period
# --------------------------------------------------------------------------- #
def detection_distribution(
    events: list[tuple[int, float]], tau: int, mass_tol: float = 1e-16
) -> list[tuple[int, float]]:
    """[(d, P(d)) ...] plus (-1, P(never seen)), by plain loops over d = tau, tau + 1, ...

    Each event (o, q) is seen at the end of o and of every later period with probability q,
    independently, until seen. The loop runs until the probability left is below ``mass_tol``.
    """

    def survive(s: int) -> float:  # P(nothing seen by the end of s)
        out = 1.0
        for o, q in events:
            for _ in range(o, s + 1):
                out *= 1.0 - q
        return out

    if all(q <= 0.0 for _o, q in events):
        return [(-1, 1.0)]
    last_event = max(o for o, _q in events)
    out = []
    prev = 1.0
    s = tau
    while True:
        now = survive(s)
        if prev - now > 0.0:
            out.append((s, prev - now))
        prev = now
        if now < mass_tol and s >= last_event:
            break
        s += 1
    return out


def expected_path_values(
    data: dict, party: str, tau: int, plan: str, mass_tol: float = 1e-16
) -> dict[str, float] | None:
    """Every party's expected value from tau on when ``party`` deviates with ``plan`` and the
    deviation is seen at a random period (docs/model.md §3 "Verification that may miss")."""
    path = _deviation_path(data, party, tau, plan)
    if path is None:
        return None
    party_ids, discount, concessions, _steps = _normalise(data)
    total = dict.fromkeys(party_ids, 0.0)
    for d, prob in detection_distribution(path["events"], tau, mass_tol):
        forced = _deviation_path(data, party, tau, plan, seen=d)
        assert forced is not None
        values = _simulate(party_ids, discount, concessions, forced["performed"], forced["reversals"], tau)
        for i in party_ids:
            total[i] += prob * values[i]
    return total
