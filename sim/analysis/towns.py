"""Per-town fall days of a results folder: how likely each settlement falls by the horizon, and when.

Read from runs.parquet's ``fall_day.<Town>`` columns (sim/outcomes.py: the first day the cell
holding the town's centre is attacker-held; empty when it never was). A run in which the town never
fell is censored at the horizon: it counts as falling *after* the horizon. The quantiles are those of
the empirical distribution (numpy's ``inverted_cdf``: the q-quantile is the first day by which at
least a share q of the runs had the town fallen, the day the survival curve first drops to 1 - q or
below), so they are always a day a run saw; a quantile that lies past the horizon is left empty.
"""

from __future__ import annotations

import datetime as dt
import math

import numpy as np
import pandas as pd

from sim.outcomes import fall_day_column

QUANTILES = (("median", 0.5), ("p05", 0.05), ("p95", 0.95))


def fall_day_quantile(days: np.ndarray, q: float) -> float:
    """The empirical q-quantile of fall days (NaN: never fell, counted as after the horizon); NaN when it
    lies past the horizon or there are no runs."""
    if days.size == 0:
        return math.nan
    censored = np.where(np.isnan(days), np.inf, days)
    value = float(np.quantile(censored, q, method="inverted_cdf"))
    return value if math.isfinite(value) else math.nan


def town_fall_table(runs: pd.DataFrame, towns: list[tuple[str, float, float]], *, horizon: int,
                    start: dt.date) -> pd.DataFrame:
    """One row per town (name, lat, lon): P(fallen by the horizon) and the 5%, median and 95% fall
    days with their calendar dates (empty when later than the horizon)."""
    rows = []
    n = len(runs)
    for name, lat, lon in towns:
        col = fall_day_column(name)
        raw = runs[col] if col in runs else pd.Series([None] * n, dtype="Int64")
        days = pd.to_numeric(raw, errors="coerce").astype(float).to_numpy()
        days = np.where(days > horizon, np.nan, days)
        fallen = int(np.isfinite(days).sum())
        row = {"town": name, "lon": round(lon, 6), "lat": round(lat, 6),
               "p_fallen_by_horizon": fallen / n if n else math.nan, "runs_fallen": fallen}
        for label, q in QUANTILES:
            day = fall_day_quantile(days, q)
            row[f"fall_day_{label}"] = pd.NA if math.isnan(day) else int(day)
            row[f"fall_date_{label}"] = "" if math.isnan(day) else (start + dt.timedelta(days=int(day))).isoformat()
        rows.append(row)
    table = pd.DataFrame(rows)
    for label, _ in QUANTILES:
        table[f"fall_day_{label}"] = table[f"fall_day_{label}"].astype("Int64")
    return table
