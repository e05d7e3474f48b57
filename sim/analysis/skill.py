"""Scoring a forecast of the front against the record: pure functions on arrays.

SOURCES.md s.11 ("Grounded in the record"): a hindcast started at a date D is scored
against DeepState's occupied area at D + h days, inside the agglomeration
window (lon 36.80-37.50, lat 48.05-48.55).

- Brier score: the mean over the window's cells of ``(p - o)^2``, with ``p`` the
  forecast probability that the cell is attacker-held and ``o`` 1 where the
  cell's centre is in the occupied area (Brier 1950).
- Persistence: the forecast "nothing moves", the real front at D (``p`` is 0 or
  1); its Brier score is the share of the window's cells that changed hands.
- Skill: ``1 - Brier_model / Brier_persistence``: 1 for a perfect forecast, 0 for
  one as good as persistence, below 0 for one worse than "nothing moves"; empty
  when nothing moved (persistence is then perfect and the ratio undefined).
- Ground taken: the growth of the attacker-held area in the window (km²).
- A town's capture day: the first day its centre is attacker-held (the record:
  the first day its centre lies in the polygon; the model: ``fall_day.<Town>``).

Nothing here reads files or runs the model: arrays in, numbers and frames out.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

NOT_FALLEN = np.inf   # a run in which a town did not fall: later than any day of the run


@dataclass(frozen=True)
class Window:
    """A box in degrees; the agglomeration window of the brief (SOURCES.md s.11) by default."""

    lon_min: float = 36.80
    lon_max: float = 37.50
    lat_min: float = 48.05
    lat_max: float = 48.55

    def contains(self, lat, lon) -> np.ndarray:
        lat, lon = np.asarray(lat, float), np.asarray(lon, float)
        return (lon >= self.lon_min) & (lon <= self.lon_max) & (lat >= self.lat_min) & (lat <= self.lat_max)


AGGLOMERATION = Window()


def brier(probability, observed, window) -> float:
    """Mean squared difference between the forecast probability and the observed 0/1, over ``window``."""
    p = np.asarray(probability, float)[window]
    o = np.asarray(observed, float)[window]
    if p.size == 0:
        raise ValueError("the window holds no cells")
    return float(np.mean((p - o) ** 2))


def brier_skill(brier_model: float, brier_persistence: float) -> float:
    """``1 - model / persistence``; NaN when persistence is perfect (nothing moved)."""
    return 1.0 - brier_model / brier_persistence if brier_persistence > 0 else float("nan")


def attacker_probability(held_by_run) -> np.ndarray:
    """Per cell, the share of runs in which it is attacker-held (``held_by_run``: runs x rows x cols)."""
    return np.asarray(held_by_run, bool).mean(axis=0)


def area_in_window_km2(held, window, cell_area_km2: float) -> np.ndarray:
    """Attacker-held area inside ``window`` of one grid (rows x cols) or of each run (runs x rows x cols)."""
    held = np.asarray(held, bool)
    return (held & window).sum(axis=(-2, -1)) * cell_area_km2


def quantiles(values, qs=(0.05, 0.5, 0.95)) -> np.ndarray:
    """Quantiles that keep ``inf`` (a run in which something never happened) in order."""
    x = np.asarray(values, float)
    if x.size == 0:
        return np.full(len(qs), np.nan)
    return np.quantile(x, qs, method="nearest")  # no interpolation: inf stays inf


def score_front(model_start, model_end, real_start, real_end, window, cell_area_km2: float) -> dict:
    """The front at one horizon: Brier of the model and of persistence, skill, ground taken.

    ``model_start``/``model_end``: runs x rows x cols, attacker-held on day 0 and on the
    horizon; ``real_start``/``real_end``: rows x cols, occupied at D and at D + h.
    """
    b_model = brier(attacker_probability(model_end), real_end, window)
    b_persistence = brier(real_start, real_end, window)
    taken = area_in_window_km2(model_end, window, cell_area_km2) - area_in_window_km2(model_start, window, cell_area_km2)
    real_taken = float(area_in_window_km2(real_end, window, cell_area_km2) - area_in_window_km2(real_start, window, cell_area_km2))
    p05, median, p95 = quantiles(taken)
    return {"brier_model": b_model, "brier_persistence": b_persistence, "brier_skill": brier_skill(b_model, b_persistence),
            "brier_start": brier(attacker_probability(model_start), real_start, window),
            "ground_taken_real_km2": real_taken, "ground_taken_model_km2": float(median),
            "ground_taken_model_p05": float(p05), "ground_taken_model_p95": float(p95),
            "ground_taken_ratio": float(median) / real_taken if real_taken > 0 else float("nan")}


def first_day_inside(inside_by_day) -> float:
    """The first day (index) on which a 0/1 series is 1; NaN if never."""
    hits = np.flatnonzero(np.asarray(inside_by_day, bool))
    return float(hits[0]) if hits.size else float("nan")


def score_town(model_days, real_day: float, run_days: float = np.inf) -> dict:
    """A town's capture day: the model's runs (NaN: not fallen in the run) against the record's.

    ``share_fallen_by_real``: the share of runs in which the town fell on or before
    the real day; NaN when the record has no fall or it lies after the runs' last day
    (``run_days``), where a run that did not fall cannot say.
    """
    days = pd.to_numeric(pd.Series(model_days), errors="coerce").astype(float).to_numpy()  # None, NA: no fall
    days = np.where(np.isnan(days), NOT_FALLEN, days)
    p05, median, p95 = quantiles(days)
    known = np.isfinite(real_day) and real_day <= run_days and days.size
    fell_by_real = float(np.mean(days <= real_day)) if known else float("nan")
    return {"model": float(median), "model_p05": float(p05), "model_p95": float(p95),
            "share_fallen_in_run": float(np.mean(np.isfinite(days))) if days.size else float("nan"),
            "share_fallen_by_real": fell_by_real}
