"""Comparing options: per-option tables, paired differences (common random numbers) and the bottom line.

Replication ``i`` of every option runs with the same seed, so it sees the same
weather and the same draws of every uncertain input the options share. The
difference between two options is then taken replication by replication
(paired), which removes the variance those shared draws cause.

Every outcome is read from its declaration (``sim.outcomes.OUTCOMES``), and one
statistic is used per kind: probabilities are shares with Wilson intervals;
event days (censored: a run in which the event never happens has no day) are
*restricted means*, the mean of ``min(day, horizon)`` with the horizon for runs
without the event (the expected number of days, within the horizon, before the
event: the area under the survival curve), beside the median; amounts and
ratios are means with t intervals.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
from scipy import stats

from sim.analysis.stats import describe, describe_probability
from sim.outcomes import EVENT_DAY, HIGHER, LOWER, PROBABILITY, Outcome, fall_day_column, outcome, tabled

BOOTSTRAP = 2000  # resamples of the replications for the probability of being best


def outcome_values(runs: pd.DataFrame, o: Outcome | str, horizon: int) -> pd.Series:
    """The per-replication values compared for an outcome (indexed by replication)."""
    o = outcome(o) if isinstance(o, str) else o
    r = runs.set_index("replication")
    raw = r[o.column] if o.column in r else pd.Series(np.nan, index=r.index)
    if o.occurs:
        return raw.notna().astype(float)
    if o.held_until is not None:
        day = pd.to_numeric(raw, errors="coerce").astype(float)
        return (day.isna() | (day > o.held_until)).astype(float)
    if o.kind == PROBABILITY:
        return raw.astype(float)
    if o.kind == EVENT_DAY:
        day = pd.to_numeric(raw, errors="coerce").astype(float)
        return day.fillna(float(horizon)).clip(upper=float(horizon))
    return pd.to_numeric(raw, errors="coerce").astype(float)


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


def outcomes_for(towns: list[str] = ()) -> list[Outcome]:
    """The tabled outcomes, then a fall day for each town an analyst named."""
    return tabled() + [outcome(fall_day_column(t)) for t in towns]


def _row(o: Outcome, name: str, values: pd.Series, horizon: int) -> dict:
    base = {"outcome": o.name, "option": name, "kind": o.kind}
    if o.kind == PROBABILITY:
        d = describe_probability(values.astype(bool))
        return {**base, "estimate": d["p"], "ci_low": d["ci_low"], "ci_high": d["ci_high"], "n": d["n"]}
    d = describe(values)
    low = d["ci_low"] if o.can_be_negative else max(d["ci_low"], 0.0)  # no negative counts, days or widths
    high = min(d["ci_high"], float(horizon)) if o.kind == EVENT_DAY else d["ci_high"]  # nor days past the horizon
    finite = values[np.isfinite(values.to_numpy(dtype=float))]
    row = {**base, "estimate": d["mean"], "ci_low": low, "ci_high": high, "median": d["median"],
           "p05": d["p05"], "p95": d["p95"], "min": float(finite.min()) if len(finite) else math.nan,
           "max": float(finite.max()) if len(finite) else math.nan, "n": d["n"]}
    if o.kind == EVENT_DAY:
        row["happened"] = float((values < horizon).mean()) if len(values) else math.nan
    return row


def option_table(results: dict[str, pd.DataFrame], horizons: dict[str, int], towns: list[str] = ()) -> pd.DataFrame:
    """One row per outcome and option: the kind's statistic and its 95% interval."""
    return pd.DataFrame([_row(o, name, outcome_values(runs, o, horizons[name]), horizons[name])
                         for o in outcomes_for(towns) for name, runs in results.items()])


def constant_outcomes(table: pd.DataFrame) -> set[str]:
    """Outcomes with one value in every run of every option (a row that tells nothing): the smallest and
    the largest value are the same, in every option (not only its 5-95% range: one run in twenty counts)."""
    out = set()
    for name, part in table.groupby("outcome", sort=False):
        if part["kind"].iloc[0] == PROBABILITY:
            flat = part["estimate"].isin([0.0, 1.0]).all() and part["estimate"].nunique() == 1
        else:
            flat = (part["min"] == part["max"]).all() and part["min"].nunique() == 1
        if flat:
            out.add(name)
    return out


def identical_outcomes(diff: pd.DataFrame) -> set[str]:
    """Outcomes that are the same under every option in every paired replication (every paired difference
    is exactly 0: the options share the weather and the draws of the inputs they share), so a comparison of
    options says nothing about them."""
    exact = diff.groupby("outcome", sort=False)[["diff", "ci_low", "ci_high"]].agg(lambda x: bool((x == 0).all()))
    return set(exact.index[exact.all(axis=1)])


def verdict(o: Outcome, d: dict) -> str:
    """"better", "worse" (for the defender) or "unclear" (the interval holds 0, or no direction is declared)."""
    if d["n"] < 2 or not (d["ci_low"] > 0 or d["ci_high"] < 0) or o.better not in (HIGHER, LOWER):
        return "unclear"
    up = d["diff"] > 0
    return "better" if up == (o.better == HIGHER) else "worse"


def pairs(names: list[str], baseline: str, all_pairs: bool = False) -> list[tuple[str, str]]:
    """(option, versus) pairs: every option against the baseline, or every pair."""
    if all_pairs:  # the baseline is always the one compared against
        return [(b, a) if b != baseline else (a, b) for i, a in enumerate(names) for b in names[i + 1:]]
    return [(n, baseline) for n in names if n != baseline]


def difference_table(results: dict[str, pd.DataFrame], horizons: dict[str, int], baseline: str | None = None,
                     all_pairs: bool = False, towns: list[str] = ()) -> pd.DataFrame:
    """Paired differences (option − versus) per outcome, with the verdict for the defender."""
    names = list(results)
    baseline = baseline or names[0]
    rows = []
    for o in outcomes_for(towns):
        values = {n: outcome_values(results[n], o, horizons[n]) for n in names}
        for name, versus in pairs(names, baseline, all_pairs):
            joined = pd.concat([values[versus].rename("a"), values[name].rename("b")], axis=1, join="inner")
            d = paired_difference(joined["a"], joined["b"])
            v = verdict(o, d)
            rows.append({"outcome": o.name, "option": name, "versus": versus, **d, "clear": v != "unclear",
                         "verdict": v})
    return pd.DataFrame(rows)


def best_share(matrix: np.ndarray, better: str) -> np.ndarray:
    """Per option (columns), the share of replications (rows) in which it is best; ties shared."""
    m = matrix if better == HIGHER else -matrix
    top = m.max(axis=1, keepdims=True)
    wins = np.isclose(m, top) & np.isfinite(m)
    return (wins / np.maximum(wins.sum(axis=1, keepdims=True), 1)).mean(axis=0)


def best_mean(matrix: np.ndarray, better: str) -> np.ndarray:
    """Per option (columns), 1 if its mean over the replications (rows) is the best (ties shared)."""
    return best_share(np.nanmean(matrix, axis=0, keepdims=True), better)


def probability_best(results: dict[str, pd.DataFrame], horizons: dict[str, int], outcomes: list[Outcome],
                     seed: int = 0) -> pd.DataFrame:
    """How sure: for each headline outcome and option, ``p_best`` the probability that the option has the best
    expected value for the defender (the share of bootstrap resamples of the paired replications in which its
    mean is best, ties shared), and ``share_best`` the share of paired replications in which it is best (ties
    shared) with a bootstrap 95% interval (``ci_low``, ``ci_high``). The resampling has a fixed seed: the
    report is stable; it is not a model draw."""
    names = list(results)
    rng = np.random.default_rng(seed)
    rows = []
    for o in outcomes:
        if o.better is None:
            continue
        m = pd.concat([outcome_values(results[n], o, horizons[n]).rename(n) for n in names], axis=1, join="inner")
        matrix = m.to_numpy(dtype=float)
        if len(matrix) == 0:
            continue
        draws = [matrix[rng.integers(0, len(matrix), len(matrix))] for _ in range(BOOTSTRAP)]
        p_best = np.mean([best_mean(d, o.better) for d in draws], axis=0)
        lo, hi = np.quantile([best_share(d, o.better) for d in draws], [0.025, 0.975], axis=0)
        share = best_share(matrix, o.better)
        rows += [{"outcome": o.name, "option": n, "p_best": p_best[k], "share_best": share[k], "ci_low": lo[k],
                  "ci_high": hi[k], "n": len(matrix)} for k, n in enumerate(names)]
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


def survival_band(days: pd.Series, horizon: int, z: float = 1.959963984540054) -> tuple[np.ndarray, np.ndarray]:
    """A pointwise 95% band of the survival curve (Wilson intervals: no censoring before the horizon,
    so Greenwood's variance is the binomial one; Wilson keeps the band inside 0..1)."""
    from sim.analysis.stats import wilson_interval

    d = pd.to_numeric(days, errors="coerce").to_numpy(dtype=float)
    n = len(d)
    t = np.arange(horizon + 1)
    band = np.array([wilson_interval(int((~(d <= day)).sum()), n, z) for day in t])
    return band[:, 0], band[:, 1]


def _value(scenario, runs: pd.DataFrame, path: str) -> float | None:
    """A scenario value at a dotted path: the median over the runs where it was sampled."""
    if path in runs:
        return float(pd.to_numeric(runs[path], errors="coerce").median())
    obj = scenario
    for part in path.split("."):
        obj = obj[int(part)] if part.isdigit() and isinstance(obj, list) else getattr(obj, part, None)
    try:
        return float(obj)
    except (TypeError, ValueError):
        return None


def option_events(scenario, runs: pd.DataFrame) -> list[tuple[float, str]]:
    """The days that shape a fan chart: attackers' arrivals, the withdrawal's latest start, the Kursk
    brigades' arrival (medians where the day is uncertain), for marking on the figures."""
    from sim.vocab import OptionKind

    kind = OptionKind(scenario.option.kind)
    delay = _value(scenario, runs, "option.kursk_pressure.attacker_arrival_delay_days") \
        if kind == OptionKind.KURSK_PRESSURE else 0.0
    events = []
    for k, arrival in enumerate(scenario.forces.attacker.arrivals):
        day = _value(scenario, runs, f"forces.attacker.arrivals.{k}.day")
        if day is not None:
            events.append((day + (delay or 0.0), f"attacker {arrival.name} arrive"))
    if kind == OptionKind.WITHDRAW:
        day = _value(scenario, runs, "option.withdraw.trigger_day")
        if day is not None:
            events.append((day, "withdrawal starts (latest)"))
    if kind == OptionKind.REINFORCE:
        depart = _value(scenario, runs, "option.reinforce.depart_day")
        transit = _value(scenario, runs, "option.reinforce.transit_days")
        if depart is not None and transit is not None:
            events.append((depart + transit, "Kursk brigades arrive"))
    return events
