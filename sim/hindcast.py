"""The record as a test bench: hindcasts from several 2025 start dates, scored against DeepState.

A hindcast is a scenario started at a date D of the record (``scenarios/hindcast_2025*.yaml``),
run to its longest horizon with the attacker-held cells kept on day 0 and on each horizon
(``Recorder.request_snapshots``). :func:`score_hindcast` turns those snapshots and the
runs' ``fall_day.<Town>`` columns into target rows (``sim/analysis/skill.py`` does the
arithmetic); :func:`validate_record` runs every start date and writes the table and
figures of ``sim validate-model``.

Horizons beyond the record's last day (11 Nov 2025) are never scored: the record after
it is held back on purpose. A start date whose 120-day horizon lies beyond it is scored
on the record's last day instead (1 Sep 2025: day 71).
"""

from __future__ import annotations

import datetime as dt
import os
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from sim.analysis import skill
from sim.core.seeding import replication_seed, seed_int
from sim.outcomes import fall_day_column
from sim.scenario import BASE_SCENARIO, Scenario, ScenarioDoc
from sim.theater import load_scenario as load
from sim.theater import build_grid, load_theater, theater_of
from sim.theater import record
from sim.theater.spec import Theater

HORIZONS = (30, 60, 120)   # days after the start (MODEL.md, "Grounded in the record")
START_SCENARIOS = {        # start date -> scenario file under scenarios/
    dt.date(2025, 1, 14): "hindcast_2025.yaml",
    dt.date(2025, 4, 1): "hindcast_2025-04-01.yaml",
    dt.date(2025, 7, 1): "hindcast_2025-07-01.yaml",
    dt.date(2025, 9, 1): "hindcast_2025-09-01.yaml",
}
TARGET_COLUMNS = ("start_date", "horizon_days", "date", "target", "town", "real", "model", "model_p05", "model_p95",
                  "brier_model", "brier_persistence", "brier_start", "share_fallen_in_run", "share_fallen_by_real",
                  "runs")


@dataclass
class HindcastRun:
    """One replication of a hindcast: its outcome row (with the fall days) and its snapshots."""

    index: int
    row: dict
    snapshots: dict[int, np.ndarray]   # day -> attacker-held bool grid


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
def run_one_hindcast(spec: Scenario, theater: Theater, root_seed: int, index: int, snapshot_days) -> HindcastRun:
    """Replication ``index`` (the runner's seed for it), keeping the attacker-held cells on ``snapshot_days``."""
    from sim.model.model import PokrovskModel

    seq = replication_seed(root_seed, index)
    model = PokrovskModel(spec, seq, theater)
    model.recorder.request_snapshots(snapshot_days, model)
    model.run()
    row = {"scenario": spec.name, "replication": index, "seed": seed_int(seq)}
    row.update(model.recorder.outcome_row(model))
    row.update(model.sampled)
    return HindcastRun(index, row, dict(model.recorder.snapshots))


_WORKER: dict = {}


def _init_worker(spec, theater, root_seed, snapshot_days, parent) -> None:
    from sim.runner import worker_setup

    worker_setup(parent)
    _WORKER.update(spec=spec, theater=theater, root=root_seed, days=snapshot_days)


def _run_chunk(indices: list[int]) -> list[HindcastRun]:
    w = _WORKER
    return [run_one_hindcast(w["spec"], w["theater"], w["root"], i, w["days"]) for i in indices]


def run_hindcast(doc: ScenarioDoc, *, runs: int, seed: int, workers: int = 1,
                 horizons=HORIZONS) -> tuple[pd.DataFrame, dict[int, np.ndarray]]:
    """Run ``runs`` replications of a hindcast; the runs frame and, per snapshot day, runs x rows x cols."""
    from sim.runner import _pool_context, pooled

    spec, theater = doc.scenario, theater_of(doc)
    days = (0, *horizons)
    indices = list(range(runs))
    if workers <= 1:
        reps = [run_one_hindcast(spec, theater, seed, i, days) for i in indices]
    else:
        def make_pool(n: int):
            return ProcessPoolExecutor(max_workers=n, initializer=_init_worker, mp_context=_pool_context(),
                                       initargs=(spec, theater, seed, days, os.getpid()))

        def lost(index: int, reason: str):
            raise RuntimeError(f"hindcast replication {index} of {doc.scenario.name} was lost: {reason}")

        chunks = [indices[k:k + 4] for k in range(0, runs, 4)]
        reps = [r for batch in pooled(make_pool, _run_chunk, chunks, workers, lost=lost) for r in batch]
    reps.sort(key=lambda r: r.index)
    frame = pd.DataFrame([r.row for r in reps])
    snapshots = {d: np.stack([r.snapshots[d] for r in reps]) for d in days if all(d in r.snapshots for r in reps)}
    return frame, snapshots


def load_hindcast(start: dt.date, horizons=HORIZONS, sets=()) -> ScenarioDoc:
    """The hindcast scenario of a start date, run to its longest horizon within the record."""
    name = START_SCENARIOS.get(start)
    if name is None:
        from sim.core.errors import InputError

        raise InputError(f"no hindcast scenario starts on {start}; known: {', '.join(map(str, START_SCENARIOS))}")
    days = max(horizons_in_record(start, horizons))
    return load(BASE_SCENARIO.parent / name, [f"days={days}", *sets])


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
    return pd.DataFrame(rows, columns=list(TARGET_COLUMNS))


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
def run_and_score(start: dt.date, *, runs: int, seed: int, workers: int, horizons=HORIZONS, sets=()):
    """Run the hindcast of ``start`` and score it: (target rows, runs frame, snapshots, grid)."""
    doc = load_hindcast(start, horizons, sets)
    frame, snapshots = run_hindcast(doc, runs=runs, seed=seed, workers=workers, horizons=horizons_in_record(start, horizons))
    grid = build_grid(theater_of(doc), doc.scenario.grid.cell_km)
    return score_hindcast(start, snapshots, frame, grid), frame, snapshots, grid


def _day(value: float, run_days) -> str:
    if np.isinf(value):
        return f">{int(run_days)}"
    return "" if np.isnan(value) else f"{value:.0f}"


def front_table(scores: pd.DataFrame) -> pd.DataFrame:
    """One row per start date and horizon: Brier scores, skill, ground taken model against real."""
    skill_rows = scores[scores["target"] == "brier_skill"].set_index(["start_date", "horizon_days"])
    ground = scores[scores["target"] == "ground_taken_km2"].set_index(["start_date", "horizon_days"])
    out = pd.DataFrame({
        "date": skill_rows["date"],
        "Brier model": skill_rows["brier_model"].round(3),
        "Brier persistence": skill_rows["brier_persistence"].round(3),
        "skill": skill_rows["model"].round(2),
        "Brier at start": skill_rows["brier_start"].round(3),
        "ground taken real km²": ground["real"].round(0),
        "model median km²": ground["model"].round(0),
        "model 5-95%": [f"{a:.0f}-{b:.0f}" for a, b in zip(ground["model_p05"], ground["model_p95"])],
        "model / real": (ground["model"] / ground["real"]).round(2),
    })
    return out.reset_index().rename(columns={"start_date": "start", "horizon_days": "day"})


def town_table(scores: pd.DataFrame) -> pd.DataFrame:
    """One row per start date and town: the real capture day against the model's."""
    towns = scores[scores["target"] == "capture_day"]
    last = record_end()
    rows = []
    for _, r in towns.iterrows():
        real = (f"{r['real']:.0f} ({r['date']:%d %b})" if np.isfinite(r["real"])
                else f"not by {last:%d %b %Y} (day {(last - r['start_date']).days})")
        rows.append({"start": r["start_date"], "town": r["town"], "real day": real,
                     "model median": _day(r["model"], r["horizon_days"]),
                     "model 5-95%": f"{_day(r['model_p05'], r['horizon_days'])} to {_day(r['model_p95'], r['horizon_days'])}",
                     "runs fallen in the run": round(float(r["share_fallen_in_run"]), 2),
                     "runs fallen by the real day": ("" if np.isnan(r["share_fallen_by_real"])
                                                     else round(float(r["share_fallen_by_real"]), 2))})
    return pd.DataFrame(rows)


def record_section(scores: pd.DataFrame, figures: list[Path], command: str, runs: int) -> str:
    """The Markdown of the record test bench: the two tables and the figures."""
    lines = ["## The record as a test bench", "",
             f"`{command}`: {runs} runs per start date, scored against DeepState's occupied area in the "
             "agglomeration window (lon 36.80-37.50, lat 48.05-48.55); skill = 1 - Brier model / Brier "
             "persistence (above 0: better than \"nothing moves\"). \"Brier at start\": the model's day 0 "
             "against the record's start (0 when the model starts from the real front).", "",
             "### The front", "", front_table(scores).to_markdown(index=False), "",
             "### Town capture days (first day the town's centre is attacker-held; days from the start)", "",
             town_table(scores).to_markdown(index=False), "", "### Figures", "",
             *[f"![{p.name}]({p.parent.name}/{p.name})" for p in figures], ""]
    return "\n".join(lines)


def validate_record(out: Path, *, runs: int, seed: int, workers: int, command: str,
                    starts=tuple(START_SCENARIOS), horizons=HORIZONS) -> pd.DataFrame:
    """Run and score every start date; write ``record/record_scores.csv``, ``record/record.md``
    and one figure per start date into ``out``; append the section to ``validation.md`` if there."""
    from sim.core.io import write_atomic, write_text_atomic
    from sim.plots.record import plot_hindcast_maps

    folder = Path(out) / "record"
    folder.mkdir(parents=True, exist_ok=True)
    frames, figures = [], []
    for start in starts:
        scores, _, snapshots, grid = run_and_score(start, runs=runs, seed=seed, workers=workers, horizons=horizons)
        frames.append(scores)
        shown = sorted(d for d in snapshots if d > 0)
        figures.append(plot_hindcast_maps(
            folder, start, grid, skill.AGGLOMERATION,
            {h: skill.attacker_probability(snapshots[h]) for h in shown},
            {h: record.occupied_geometry(start + dt.timedelta(days=h)) for h in shown},
            record.occupied_geometry(start), {s.name: (s.lat, s.lon) for s in grid.theater.settlements},
            runs, f"record_{start}.png"))
    scores = pd.concat(frames, ignore_index=True)
    write_atomic(folder / "record_scores.csv", lambda p: scores.to_csv(p, index=False))
    section = record_section(scores, figures, command, runs)
    write_text_atomic(folder / "record.md", section.replace(f"]({folder.name}/", "]("))
    validation = Path(out) / "validation.md"
    if validation.exists():
        write_text_atomic(validation, validation.read_text(encoding="utf-8").rstrip() + "\n\n" + section)
    print(front_table(scores).to_string(index=False))
    print(f"the record test bench in {folder}/record.md")
    return scores
