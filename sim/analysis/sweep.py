"""A sweep's runs summarised per design point (sim sweep): frames in, frames out."""

from __future__ import annotations

import pandas as pd

from sim.analysis.stats import mean_interval, wilson_interval
from sim.outcomes import EVENT_DAY, PROBABILITY, outcome


def declared(o: str):
    """The outcome's declaration (sim/outcomes.py), or None for a column that is not a declared outcome."""
    try:
        return outcome(o)
    except KeyError:
        return None


def is_probability(o: str) -> bool:
    d = declared(o)
    return d is not None and d.kind == PROBABILITY


def is_event_day(o: str) -> bool:
    d = declared(o)
    return d is not None and d.kind == EVENT_DAY


def point_horizon(g: pd.DataFrame, scenario: str, horizons: dict[str, int] | None) -> int | None:
    """A point's horizon: the swept ``days`` when it is a knob, else the scenario's (None when unknown)."""
    if "days" in g:
        return int(g["days"].iloc[0])
    return int(horizons[scenario]) if horizons and scenario in horizons else None


def point_summary(runs: pd.DataFrame, knobs: list[str], outcomes: list[str],
                  horizons: dict[str, int] | None = None) -> pd.DataFrame:
    """Per scenario and point: each knob's value, and each outcome's mean (or share) with its 95% interval,
    clipped to what the outcome can be (no negative counts). An event day is, as in sim compare, the
    restricted mean to the point's horizon (``horizons`` per scenario, or the swept ``days``: a run without
    the event counts as the horizon), its interval inside 0..horizon; without a horizon, the mean of the runs
    in which it happens."""
    ok = runs[runs["status"] == "ok"]
    rows = []
    for (scenario, point), g in ok.groupby(["scenario", "point"], sort=True):
        row = {"scenario": scenario, "point": point, "n": len(g), **{k: g[k].iloc[0] for k in knobs}}
        horizon = point_horizon(g, scenario, horizons)
        for o in (o for o in outcomes if o in g):
            if is_probability(o):
                x = g[o].astype(bool)
                lo, hi = wilson_interval(int(x.sum()), len(x))
                row.update({o: x.mean(), f"{o}_low": lo, f"{o}_high": hi})
                continue
            values = pd.to_numeric(g[o], errors="coerce").astype(float)
            top = float("inf")
            if is_event_day(o) and horizon is not None:
                values, top = values.fillna(float(horizon)).clip(upper=float(horizon)), float(horizon)
            m, lo, hi = mean_interval(values)
            d = declared(o)
            floor = lo if d is not None and d.can_be_negative else max(lo, 0.0)
            row.update({o: m, f"{o}_low": floor, f"{o}_high": min(hi, top)})
        rows.append(row)
    return pd.DataFrame(rows)


FEW = 30  # replications per point below which a probability's interval is wider than about +/-0.15


def few_replications(n: int) -> str:
    """The warning for a sweep whose points rest on ``n`` replications, when they are too few ("" otherwise)."""
    if n >= FEW:
        return ""
    lo, hi = wilson_interval(n // 2, max(n, 1))
    return (f"{n} replications per point: a probability is known to about ±{(hi - lo) / 2:.2f}; differences "
            "between points or options smaller than that are noise. Run more replications (the experiment's "
            "replications:) before reading them.")
