"""The ensemble's pictures as numbers: control probability, survival of the city, fans over days.

Frames and arrays in, arrays out. Each option's frames are those ``sim compare`` writes
(``runs``: a row per replication; ``timeseries``: a row per replication and day; the count of
replications that ended with each cell attacker-held), here of a partial ensemble too: the
replications every option has finished so far (sim/ensemble.py).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from sim.analysis.compare import survival_band, survival_curve

CITY_FALL = "pokrovsk_fall_day"
FAN_QUANTILES = (0.05, 0.5, 0.95)
# (name, label, unit): the outcomes drawn as fans; each a column of ``fan_frame``
FANS = (("ground_lost_km2", "ground lost since the start", "km²"),
        ("defender_personnel", "defender strength", "personnel"))


def control_probability(held_count: np.ndarray, replications: int) -> np.ndarray:
    """The share of replications in which each cell is attacker-held at the horizon."""
    return np.asarray(held_count, dtype=float) / max(int(replications), 1)


def differences(maps: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Each option's map minus the first option's (a plus: the attacker holds the cell more often)."""
    names = list(maps)
    return {n: maps[n] - maps[names[0]] for n in names[1:]}


@dataclass
class Survival:
    """Share of runs in which the city still holds on each day 0..horizon, with a 95% band."""

    days: np.ndarray
    share: np.ndarray
    low: np.ndarray
    high: np.ndarray


def city_survival(runs: pd.DataFrame, horizon: int, column: str = CITY_FALL) -> Survival:
    """The survival curve of the city (its fall day per run; empty: held to the horizon)."""
    fall = runs[column] if column in runs else pd.Series([None] * len(runs), dtype=object)
    days, share = survival_curve(fall, horizon)
    low, high = survival_band(fall, horizon)
    return Survival(days, share, low, high)


def fan_frame(ts: pd.DataFrame) -> pd.DataFrame:
    """The fans' columns per replication and day: ground lost since day 0 (the attacker-held area of the
    day less the start's; on the last day it is ``territory_lost_km2``) and defender personnel."""
    out = ts[["replication", "day", "defender_personnel"]].copy()
    start = ts.loc[ts["day"] == 0].set_index("replication")["attacker_area_km2"]
    out["ground_lost_km2"] = ts["attacker_area_km2"].to_numpy() - ts["replication"].map(start).to_numpy()
    return out


@dataclass
class Fan:
    """Quantiles over replications per day: ``quantiles[j]`` is FAN_QUANTILES[j] (median in the middle)."""

    days: np.ndarray
    quantiles: np.ndarray  # shape (len(FAN_QUANTILES), days)


def fan(ts: pd.DataFrame, column: str, qs=FAN_QUANTILES) -> Fan:
    """The ``qs`` quantiles of ``column`` over replications, day by day."""
    wide = ts.pivot(index="day", columns="replication", values=column)
    q = np.nanquantile(wide.to_numpy(dtype=float), qs, axis=1)
    return Fan(wide.index.to_numpy(), np.atleast_2d(q))


@dataclass
class OptionPicture:
    """Everything the ensemble page draws for one option."""

    name: str
    replications: int
    probability: np.ndarray
    survival: Survival
    fans: dict[str, Fan] = field(default_factory=dict)


def summarise(frames: dict[str, tuple[pd.DataFrame, pd.DataFrame, np.ndarray]],
              horizons: dict[str, int]) -> dict[str, OptionPicture]:
    """Per option (in the order given, the first being the reference of the difference maps): the
    control probability, the city's survival and the fans, from its (runs, timeseries, held count)."""
    pictures = {}
    for name, (runs, ts, held) in frames.items():
        n = len(runs)
        wide = fan_frame(ts)
        pictures[name] = OptionPicture(name, n, control_probability(held, n), city_survival(runs, horizons[name]),
                                       {col: fan(wide, col) for col, _label, _unit in FANS})
    return pictures
