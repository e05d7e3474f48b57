"""A sweep's runs summarised per design point (sim sweep): frames in, frames out."""

from __future__ import annotations

import pandas as pd

from sim.analysis.stats import mean_interval, wilson_interval
from sim.outcomes import PROBABILITY, outcome


def declared(o: str):
    """The outcome's declaration (sim/outcomes.py), or None for a column that is not a declared outcome."""
    try:
        return outcome(o)
    except KeyError:
        return None


def is_probability(o: str) -> bool:
    d = declared(o)
    return d is not None and d.kind == PROBABILITY


def point_summary(runs: pd.DataFrame, knobs: list[str], outcomes: list[str]) -> pd.DataFrame:
    """Per scenario and point: each knob's value, and each outcome's mean (or share) with its 95% interval,
    clipped to what the outcome can be (no negative counts)."""
    ok = runs[runs["status"] == "ok"]
    rows = []
    for (scenario, point), g in ok.groupby(["scenario", "point"], sort=True):
        row = {"scenario": scenario, "point": point, "n": len(g), **{k: g[k].iloc[0] for k in knobs}}
        for o in (o for o in outcomes if o in g):
            if is_probability(o):
                x = g[o].astype(bool)
                lo, hi = wilson_interval(int(x.sum()), len(x))
                row.update({o: x.mean(), f"{o}_low": lo, f"{o}_high": hi})
            else:
                m, lo, hi = mean_interval(pd.to_numeric(g[o], errors="coerce"))
                d = declared(o)
                floor = lo if d is not None and d.can_be_negative else max(lo, 0.0)
                row.update({o: m, f"{o}_low": floor, f"{o}_high": hi})
        rows.append(row)
    return pd.DataFrame(rows)
