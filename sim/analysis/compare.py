"""Comparing options: per-option tables and paired differences (common random numbers).

Replication ``i`` of every option runs with the same seed, so it sees the same
weather and the same draws of every uncertain input the options share. The
difference between two options is then taken replication by replication
(paired), which removes the variance those shared draws cause.

Event days (``pokrovsk_fall_day``, ``encirclement_day``, ``next_line_reached_day``)
are censored: a run in which the event never happens has no day. They are
compared as *restricted means*: the mean of ``min(day, horizon)``, with the
horizon (the run's length) for runs without the event, i.e. the expected number
of days, within the horizon, before the event (the area under the survival curve).
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
from scipy import stats

from sim.analysis.stats import describe, describe_probability

PROBABILITY_OUTCOMES = ("pokrovsk_held", "encircled", "next_line_reached")
EVENT_DAYS = ("pokrovsk_fall_day", "encirclement_day", "next_line_reached_day")
NUMERIC_OUTCOMES = (
    "defenders_trapped", "defender_casualties", "defenders_captured", "attacker_casualties", "exchange_ratio",
    "territory_lost_km2", "attacker_max_advance_km", "min_corridor_km", "defender_personnel_end",
    "attacker_personnel_end", "defender_personnel_preserved",
)
LABELS = {
    "pokrovsk_held": "P(Pokrovsk held at the end)",
    "encircled": "P(encirclement)",
    "next_line_reached": "P(attacker reaches the next line)",
    "pokrovsk_fall_day": "days until Pokrovsk falls (restricted mean)",
    "encirclement_day": "days until encirclement (restricted mean)",
    "next_line_reached_day": "days until the next line is reached (restricted mean)",
    "defenders_trapped": "defenders trapped",
    "defender_casualties": "defender casualties",
    "defenders_captured": "defenders captured",
    "attacker_casualties": "attacker casualties",
    "exchange_ratio": "exchange ratio (att/def)",
    "territory_lost_km2": "ground lost, km²",
    "attacker_max_advance_km": "attacker's deepest advance, km",
    "min_corridor_km": "narrowest corridor, km",
    "defender_personnel_end": "defender personnel at the end",
    "attacker_personnel_end": "attacker personnel at the end",
    "defender_personnel_preserved": "share of defender personnel preserved",
}


def outcome_values(runs: pd.DataFrame, outcome: str, horizon: int) -> pd.Series:
    """The per-replication values compared for an outcome (indexed by replication)."""
    r = runs.set_index("replication")
    if outcome == "next_line_reached":
        return r["next_line_reached_day"].notna().astype(float)
    if outcome in ("pokrovsk_held", "encircled"):
        return r[outcome].astype(float)
    if outcome in EVENT_DAYS:
        day = pd.to_numeric(r[outcome], errors="coerce").astype(float)
        return day.fillna(float(horizon)).clip(upper=float(horizon))
    return pd.to_numeric(r[outcome], errors="coerce").astype(float)


def paired_difference(a, b, confidence: float = 0.95) -> dict[str, float]:
    """Mean of ``b - a`` over pairs with both values, with a paired t interval."""
    a = np.asarray(a, dtype=float)
    b = np.asarray(b, dtype=float)
    ok = np.isfinite(a) & np.isfinite(b)
    d = b[ok] - a[ok]
    n = d.size
    if n == 0:
        return {"n": 0, "diff": math.nan, "ci_low": math.nan, "ci_high": math.nan}
    mean = float(d.mean())
    if n == 1 or d.std(ddof=1) == 0:
        return {"n": n, "diff": mean, "ci_low": mean, "ci_high": mean}
    half = float(stats.t.ppf(0.5 + confidence / 2, n - 1) * d.std(ddof=1) / math.sqrt(n))
    return {"n": n, "diff": mean, "ci_low": mean - half, "ci_high": mean + half}


def option_table(results: dict[str, pd.DataFrame], horizons: dict[str, int]) -> pd.DataFrame:
    """One row per outcome and option: estimate and 95% interval."""
    rows = []
    for outcome in PROBABILITY_OUTCOMES + EVENT_DAYS + NUMERIC_OUTCOMES:
        for name, runs in results.items():
            values = outcome_values(runs, outcome, horizons[name])
            if outcome in PROBABILITY_OUTCOMES:
                d = describe_probability(values.astype(bool))
                rows.append({"outcome": outcome, "option": name, "estimate": d["p"], "ci_low": d["ci_low"],
                             "ci_high": d["ci_high"], "n": d["n"], "kind": "probability"})
            else:
                d = describe(values)
                rows.append({"outcome": outcome, "option": name, "estimate": d["mean"], "ci_low": d["ci_low"],
                             "ci_high": d["ci_high"], "median": d["median"], "p05": d["p05"], "p95": d["p95"],
                             "n": d["n"], "kind": "mean"})
    return pd.DataFrame(rows)


def difference_table(results: dict[str, pd.DataFrame], horizons: dict[str, int]) -> pd.DataFrame:
    """Paired differences of every option against the first, per outcome."""
    names = list(results)
    base = names[0]
    rows = []
    for outcome in PROBABILITY_OUTCOMES + EVENT_DAYS + NUMERIC_OUTCOMES:
        a = outcome_values(results[base], outcome, horizons[base])
        for name in names[1:]:
            b = outcome_values(results[name], outcome, horizons[name])
            joined = pd.concat([a.rename("a"), b.rename("b")], axis=1, join="inner")
            d = paired_difference(joined["a"], joined["b"])
            excludes_zero = d["n"] > 1 and (d["ci_low"] > 0 or d["ci_high"] < 0)
            rows.append({"outcome": outcome, "option": name, "versus": base, **d, "clear": bool(excludes_zero)})
    return pd.DataFrame(rows)


def survival_curve(days: pd.Series, horizon: int) -> tuple[np.ndarray, np.ndarray]:
    """Share of replications in which the event has not happened by each day (0..horizon).

    Every run is followed to the horizon, so there is no censoring before it and the
    Kaplan-Meier estimate is the empirical share.
    """
    d = pd.to_numeric(days, errors="coerce").to_numpy(dtype=float)
    t = np.arange(horizon + 1)
    n = max(len(d), 1)
    surv = np.array([(~(d <= day)).sum() / n for day in t])
    return t, surv
