"""Weather: a Markov chain of daily states with per-month transition tables.

States: clear, overcast, precip (rain or snow), fog (SOURCES.md s.11 "Entities").
The scenario gives one 4x4 table per month; ``weather.fog_frequency`` and
``weather.precipitation_frequency`` set the long-run share of fog and of
precipitation days over the months the run covers. The chain is rescaled to
match them by weighting the fog and precipitation columns of every month's
table by a common factor (rows renormalised), found by fixed-point iteration;
the seasonal shape of the tables is kept.

The whole sequence of a replication is drawn up front from the replication's
``weather`` stream, so every option sees the same weather in replication i
(common random numbers; SOURCES.md s.11 "Reproducibility").
"""

from __future__ import annotations

import datetime as dt

import numpy as np

from sim.vocab import Weather

CLEAR, OVERCAST, PRECIP, FOG = Weather


def stationary(P: np.ndarray) -> np.ndarray:
    """Stationary distribution of a row-stochastic matrix (left eigenvector for eigenvalue 1)."""
    n = P.shape[0]
    A = np.vstack([P.T - np.eye(n), np.ones(n)])
    b = np.zeros(n + 1)
    b[-1] = 1.0
    pi, *_ = np.linalg.lstsq(A, b, rcond=None)
    pi = np.clip(pi, 0, None)
    return pi / pi.sum()


def month_of_days(start: dt.date, days: int) -> np.ndarray:
    """Calendar month (1-12) of each simulated day 0..days-1."""
    return np.array([(start + dt.timedelta(days=d)).month for d in range(days)], dtype=np.int8)


def table_for_month(tables: dict[int, np.ndarray], month: int) -> np.ndarray:
    """The month's table, or the nearest month that has one (cyclically)."""
    if month in tables:
        return tables[month]
    nearest = min(tables, key=lambda m: (min((m - month) % 12, (month - m) % 12), m))
    return tables[nearest]


def rescale(tables: dict[int, np.ndarray], months: np.ndarray, fog: float, precip: float,
            iterations: int = 200, tol: float = 1e-7) -> dict[int, np.ndarray]:
    """Weight the fog and precip columns so the day-weighted stationary shares hit the targets."""
    used, counts = np.unique(months, return_counts=True)
    share = counts / counts.sum()
    base = {int(m): table_for_month(tables, int(m)) for m in used}
    w = np.ones(4)

    def scaled(P: np.ndarray) -> np.ndarray:
        Q = P * w
        rows = Q.sum(axis=1, keepdims=True)
        rows[rows == 0] = 1.0
        return Q / rows

    for _ in range(iterations):
        avg = sum(s * stationary(scaled(base[int(m)])) for m, s in zip(used, share))
        err = max(abs(avg[FOG] - fog), abs(avg[PRECIP] - precip))
        if err < tol:
            break
        for col, target in ((FOG, fog), (PRECIP, precip)):
            if avg[col] > 0:
                w[col] *= (target / avg[col]) if target > 0 else 0.0
        w[FOG] = min(w[FOG], 1e9)
        w[PRECIP] = min(w[PRECIP], 1e9)
    return {m: scaled(P) for m, P in base.items()}


def long_run_shares(tables: dict[int, np.ndarray], months: np.ndarray) -> np.ndarray:
    """Day-weighted stationary shares of the four states over the run's months."""
    used, counts = np.unique(months, return_counts=True)
    share = counts / counts.sum()
    return sum(s * stationary(table_for_month(tables, int(m))) for m, s in zip(used, share))


def draw_sequence(weather, start: dt.date, days: int, rng: np.random.Generator) -> np.ndarray:
    """The daily weather states (int8 codes of sim.vocab.Weather) for one replication."""
    tables = {int(m): np.asarray(t, dtype=float) for m, t in weather.transitions.items()}
    months = month_of_days(start, days)
    scaled = rescale(tables, months, weather.fog_frequency, weather.precipitation_frequency)
    u = rng.random(days)
    seq = np.empty(days, dtype=np.int8)
    state = Weather.of(weather.initial)
    cum = {m: np.cumsum(P, axis=1) for m, P in scaled.items()}
    for d in range(days):
        if d > 0:
            row = cum[int(months[d])][state]
            state = int(min(np.searchsorted(row, u[d], side="right"), 3))
        seq[d] = state
    return seq


def set_today(model, day: int) -> None:
    """Schedule step 1: the day's weather state (drawn at build, ``weather_seq``) and its effects."""
    model.weather_state = int(model.weather_seq[day])
    model.effect = model.spec.weather.effects[Weather(model.weather_state).label]


def drone_availability(effect, weather_state: int, weather_resistant_share: float) -> float:
    """Share of a side's nominal sorties that fly and see today.

    Common drones fly ``effect.drone_availability`` of their sorties (grounded by
    precipitation, degraded by cloud, blinded by fog). Weather-resistant drones
    (Gao et al. 2021, SOURCES.md s.6) fly through precipitation and cloud, but fog
    blinds their optics as well.
    """
    common = effect.drone_availability
    resistant = common if weather_state == FOG else 1.0
    return (1.0 - weather_resistant_share) * common + weather_resistant_share * resistant
