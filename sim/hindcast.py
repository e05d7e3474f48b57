"""The record as a test bench: hindcasts from several 2025 start dates, scored against DeepState.

A hindcast is a scenario started at a date D of the record (``scenarios/hindcast_2025*.yaml``),
run to its longest horizon with the attacker-held cells kept on day 0 and on each horizon
(``Recorder.request_snapshots``). :func:`score_hindcast` turns those snapshots and the
runs' ``fall_day.<Town>`` columns into target rows (``sim/analysis/skill.py`` does the
arithmetic); :func:`run_and_score` does both for one start date. The tables and figures
of ``sim validate-model`` are drawn by ``sim/plots/record.py``, run by ``validate_record`` (sim/commands.py).

Floor: analysis (it scores with ``sim.analysis.skill``); it runs the model through the
runner's pool helpers below it.

Horizons beyond the record's last day (11 Nov 2025) are never scored: the record after
it is held back on purpose. A start date whose 120-day horizon lies beyond it is scored
on the record's last day instead (1 Sep 2025: day 71).
"""

from __future__ import annotations

import datetime as dt
import sys

import numpy as np
import pandas as pd

from sim.analysis import skill
from sim.outcomes import BreakthroughProbe, fall_day_column
from sim.scenario import BASE_SCENARIO, ScenarioDoc
from sim.theater import build_grid, load_scenario, load_theater, theater_of
from sim.theater import record
from sim.theater.spec import Theater

HORIZONS = (30, 60, 120)   # days after the start (SOURCES.md s.11, "Grounded in the record")
# The long hindcast from 14 Jan 2025 is scored also every 60 days after 120, to the record's end (day 301):
# the months over which the first round's attacker ran three times too fast (docs/CALIBRATION.md section 15).
LONG_HORIZONS = {dt.date(2025, 1, 14): (180, 240, 300)}
START_SCENARIOS = {        # start date -> scenario file under scenarios/
    dt.date(2025, 1, 14): "hindcast_2025.yaml",
    dt.date(2025, 4, 1): "hindcast_2025-04-01.yaml",
    dt.date(2025, 7, 1): "hindcast_2025-07-01.yaml",
    dt.date(2025, 9, 1): "hindcast_2025-09-01.yaml",
}
TARGET_COLUMNS = ("start_date", "horizon_days", "date", "target", "town", "real", "model", "model_p05", "model_p95",
                  "brier_model", "brier_persistence", "brier_start", "share_fallen_in_run", "share_fallen_by_real",
                  "runs")


# ------------------------------------------------------------------ the record
def record_end() -> dt.date:
    """The last day of the record shipped (DeepState's files end on 11 Nov 2025)."""
    return record.occupied_dates()[-1]


def horizons_in_record(start: dt.date, horizons=HORIZONS) -> list[int]:
    """The horizons whose date the record covers; the record's last day replaces those beyond it."""
    last = (record_end() - start).days
    kept = [h for h in horizons if h <= last]
    if len(kept) < len(horizons) and last > 0 and last not in kept:
        kept.append(last)
    return kept


def horizons_of(start: dt.date) -> tuple[int, ...]:
    """The horizons a start date is scored at: :data:`HORIZONS`, and for the long hindcast its :data:`LONG_HORIZONS`."""
    return HORIZONS + LONG_HORIZONS.get(start, ())


def window_mask(grid, window: skill.Window = skill.AGGLOMERATION) -> np.ndarray:
    """The grid's cells whose centre lies in ``window``."""
    lat, lon = grid.to_latlon(*grid.centres_km())
    return window.contains(lat, lon)


def towns_in_window(theater: Theater, window: skill.Window = skill.AGGLOMERATION) -> list[str]:
    """The theater's settlements whose centre lies in the window, largest first."""
    inside = [s for s in theater.settlements if window.contains(s.lat, s.lon)]
    return [s.name for s in sorted(inside, key=lambda s: -s.population)]


def real_capture_days(theater: Theater, towns: list[str], start: dt.date) -> dict[str, float]:
    """Per town, the first day (from ``start``) its centre lies in DeepState's occupied area;
    NaN if not by the record's last day."""
    from matplotlib.path import Path as MplPath

    points = np.array([[theater.settlement(t).lon, theater.settlement(t).lat] for t in towns]).reshape(-1, 2)
    first = record.occupied_file(start)[0]   # the record's state on the start date (the latest file at or before it)
    dates = [d for d in record.occupied_dates() if d >= first]
    inside = np.zeros((len(dates), len(towns)), bool)
    for k, date in enumerate(dates):
        for polygon in record.occupied_geometry(date):
            hit = MplPath(polygon[0]).contains_points(points)
            for hole in polygon[1:]:
                hit &= ~MplPath(hole).contains_points(points)
            inside[k] |= hit
    days = np.array([max(0, (d - start).days) for d in dates])
    out = {}
    for j, town in enumerate(towns):
        first = skill.first_day_inside(inside[:, j])
        out[town] = float(days[int(first)]) if np.isfinite(first) else float("nan")
    return out


# ------------------------------------------------------------------ running
def run_hindcast(doc: ScenarioDoc, *, runs: int, seed: int, workers: int = 1,
                 horizons=HORIZONS) -> tuple[pd.DataFrame, dict[int, np.ndarray]]:
    """Run ``runs`` replications of a hindcast (the runner's replications, snapshots on day 0 and each
    horizon); the runs frame and, per snapshot day, runs x rows x cols."""
    from sim.experiment.replication import LostReplication, iterate

    spec, theater = doc.scenario, theater_of(doc)
    days = (0, *horizons)
    reps = []
    for rep in iterate(spec, theater, seed, list(range(runs)), workers, chunk=4, snapshot_days=days):
        if isinstance(rep, LostReplication):
            print(f"{spec.name}: replication {rep.index} left out: {rep.reason}", file=sys.stderr)
        else:
            reps.append(rep)
    reps.sort(key=lambda r: r.index)
    frame = pd.DataFrame([r.row for r in reps])
    snapshots = {d: np.stack([r.snapshots[d] for r in reps]) for d in days if all(d in r.snapshots for r in reps)}
    return frame, snapshots


def load_hindcast(start: dt.date, horizons=None, sets=()) -> ScenarioDoc:
    """The hindcast scenario of a start date, run to its longest horizon within the record (``horizons``:
    :func:`horizons_of` the date when None)."""
    horizons = horizons_of(start) if horizons is None else horizons
    name = START_SCENARIOS.get(start)
    if name is None:
        from sim.core.errors import InputError

        raise InputError(f"no hindcast scenario starts on {start}; known: {', '.join(map(str, START_SCENARIOS))}")
    days = max(horizons_in_record(start, horizons))
    return load_scenario(BASE_SCENARIO.parent / name, [f"days={days}", *sets])


# ------------------------------------------------------------------ scoring
def score_hindcast(start: dt.date, snapshots: dict[int, np.ndarray], runs: pd.DataFrame, grid=None,
                   towns: list[str] | None = None) -> pd.DataFrame:
    """Target rows of one start date (columns ``TARGET_COLUMNS``): per horizon the Brier skill
    against persistence and the ground taken in the window, per town its capture day.

    ``snapshots``: day -> runs x rows x cols attacker-held (day 0 and the horizons);
    ``runs``: the runs frame with ``fall_day.<Town>`` columns (days from ``start``).
    ``grid``: the grid the snapshots are on (the default theater's at 1 km when omitted).
    """
    grid = grid if grid is not None else build_grid(load_theater("pokrovsk"), 1.0)
    window = window_mask(grid)
    real_start = record.occupied_mask(grid, start)
    rows = []
    for h in sorted(d for d in snapshots if d > 0 and start + dt.timedelta(days=d) <= record_end()):
        date = start + dt.timedelta(days=h)
        s = skill.score_front(snapshots[0], snapshots[h], real_start, record.occupied_mask(grid, date), window,
                              grid.cell_area_km2)
        base = {"start_date": start, "horizon_days": h, "date": date, "runs": len(snapshots[h])}
        rows.append({**base, "target": "brier_skill", "model": s["brier_skill"], "brier_model": s["brier_model"],
                     "brier_persistence": s["brier_persistence"], "brier_start": s["brier_start"]})
        rows.append({**base, "target": "ground_taken_km2", "real": s["ground_taken_real_km2"],
                     "model": s["ground_taken_model_km2"], "model_p05": s["ground_taken_model_p05"],
                     "model_p95": s["ground_taken_model_p95"]})
    rows += _town_rows(start, runs, grid.theater, towns, max(snapshots))
    rows += _breakthrough_rows(start, runs, grid, max(snapshots))
    return pd.DataFrame(rows, columns=list(TARGET_COLUMNS))


def record_breakthroughs(start: dt.date, days: int, grid) -> dict:
    """The record's breakthroughs from ``start`` over ``days`` (to the record's end), by the model's rule
    (``sim.outcomes.BreakthroughProbe``): DeepState's occupied area read day by day."""
    probe = BreakthroughProbe(grid.cell_km)
    held = None
    for d in range(min(days, (record_end() - start).days) + 1):
        held = record.occupied_mask(grid, start + dt.timedelta(days=d))
        probe.feed(d, held)
    return probe.row(held)


def _breakthrough_rows(start: dt.date, runs: pd.DataFrame, grid, run_days: int) -> list[dict]:
    """Breakthrough rows: the share of runs with one (record: 0 or 1), the first one's depth and the share
    of it retaken (model: median and 5-95% over the runs that had one)."""
    if "breakthroughs" not in runs:
        return []
    real = record_breakthroughs(start, run_days, grid)
    had = runs[runs["breakthroughs"].astype(float) > 0]
    base = {"start_date": start, "horizon_days": run_days, "runs": len(runs),
            "date": start + dt.timedelta(days=int(real["breakthrough_day"])) if real["breakthrough_day"] is not None else None}
    rows = [{**base, "target": "breakthrough_runs_share", "real": float(real["breakthroughs"] > 0),
             "model": float((runs["breakthroughs"].astype(float) > 0).mean())}]
    for name in ("breakthrough_depth_km", "breakthrough_retaken_share"):
        p05, median, p95 = skill.quantiles(had[name].astype(float).dropna()) if len(had) else (np.nan,) * 3
        rows.append({**base, "target": name, "real": float(real[name]), "model": median, "model_p05": p05, "model_p95": p95})
    return rows


def score_hindcasts(results, grid=None) -> pd.DataFrame:
    """Target rows of several start dates: ``results`` maps a start date to its
    ``(snapshots, runs)`` (see :func:`score_hindcast`)."""
    frames = [score_hindcast(start, snapshots, runs, grid) for start, (snapshots, runs) in results.items()]
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=list(TARGET_COLUMNS))


def _town_rows(start: dt.date, runs: pd.DataFrame, theater: Theater, towns: list[str] | None,
               run_days: int) -> list[dict]:
    """Capture-day rows (over the run's ``run_days``) for the towns in the window not occupied at the start."""
    towns = towns if towns is not None else towns_in_window(theater)
    real = real_capture_days(theater, towns, start)
    rows = []
    for town in towns:
        if real[town] == 0 or fall_day_column(town) not in runs:
            continue
        s = skill.score_town(runs[fall_day_column(town)], real[town], run_days)
        date = start + dt.timedelta(days=int(real[town])) if np.isfinite(real[town]) else None
        rows.append({"start_date": start, "horizon_days": run_days, "date": date, "target": "capture_day", "town": town,
                     "real": real[town], "runs": len(runs), **s})
    return rows


# ------------------------------------------------------------------ sim validate-model
def run_and_score(start: dt.date, *, runs: int, seed: int, workers: int, horizons=None, sets=()):
    """Run the hindcast of ``start`` and score it: (target rows, runs frame, snapshots, grid); ``horizons``:
    :func:`horizons_of` the date when None."""
    horizons = horizons_of(start) if horizons is None else horizons
    doc = load_hindcast(start, horizons, sets)
    frame, snapshots = run_hindcast(doc, runs=runs, seed=seed, workers=workers, horizons=horizons_in_record(start, horizons))
    grid = build_grid(theater_of(doc), doc.scenario.grid.cell_km)
    return score_hindcast(start, snapshots, frame, grid), frame, snapshots, grid
