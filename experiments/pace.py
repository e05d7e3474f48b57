"""Pace of a hindcast against DeepState's record: ground taken in the agglomeration window and the fall day.

    .venv/bin/python experiments/pace.py scenarios/hindcast_2025.yaml --runs 20 --workers 2 \
        [--set combat.advance_max_per_day=0.4 ...] [--data-front]

Runs ``--runs`` replications (seeds ``replication_seed(--seed, i)``) and prints, for days
30/60/120/240 (those within the run), the attacker's ground taken in the window (model:
attacker-held cells on the day minus on day 0; record: DeepState's occupied cells on
start+day minus on the start date), the Brier skill against persistence, the fall day of
the city (median and 5-95%) and the Dobropillia pattern (deepest cell taken near
Dobropillia and whether it was retaken). ``--data-front`` starts from DeepState's polygon of
the start date (attacker-held inside, defender-held outside) until the fronts-from-data work
makes that the default. A tool for the mechanisms' hand search (docs/CALIBRATION.md,
"Mechanisms"), not a test.
"""

from __future__ import annotations

import argparse
import datetime as dt
from concurrent.futures import ProcessPoolExecutor

import numpy as np

WINDOW = {"lon": (36.80, 37.50), "lat": (48.05, 48.55)}   # MODEL.md "Grounded in the record"
HORIZONS = (30, 60, 120, 240)


def window_mask(grid) -> np.ndarray:
    X, Y = grid.centres_km()
    lat, lon = grid.to_latlon(X, Y)
    return (lon >= WINDOW["lon"][0]) & (lon <= WINDOW["lon"][1]) & (lat >= WINDOW["lat"][0]) & (lat <= WINDOW["lat"][1])


def _use_data_front() -> None:
    from sim.theater import grid as grid_module
    from sim.theater.grid import ATTACKER, DEFENDER
    from sim.theater.record import occupied_mask

    def initial_control(self, date):
        control = np.full(self.shape, DEFENDER, np.int8)
        control[occupied_mask(self, date)] = ATTACKER
        return date, control

    grid_module.Grid.initial_control = initial_control


def _one(args):
    path, sets, root, index, data_front, days = args
    if data_front:
        _use_data_front()
    from sim.core.seeding import replication_seed
    from sim.model.model import PokrovskModel
    from sim.theater import load_scenario as load
    from sim.theater.grid import ATTACKER, DEFENDER

    doc = load(path, sets)
    model = PokrovskModel(doc.scenario, replication_seed(root, index))
    win = window_mask(model.grid)
    start = (model.control == ATTACKER) & win
    held = {}
    dobro = model.xy_of_place("Dobropillia")
    X, Y = model.grid.centres_km()
    near_dobro = np.hypot(X - dobro[0], Y - dobro[1]) <= 15
    deepest_dobro, dobro_max = 0.0, 0
    while model.running:
        model.step()
        att = model.control == ATTACKER
        if model.day in HORIZONS:
            held[model.day] = att.copy()
        taken = int((att & near_dobro & (model.initial_control == DEFENDER)).sum())
        dobro_max = max(dobro_max, taken)
        deepest_dobro = taken
    fall = model.recorder.outcome_row(model)["pokrovsk_fall_day"]
    taken = {d: float(((h & win).sum() - start.sum()) * model.grid.cell_km ** 2) for d, h in held.items()}
    return index, taken, {d: h[win] for d, h in held.items()}, fall, dobro_max, deepest_dobro


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("scenario")
    ap.add_argument("--runs", type=int, default=20)
    ap.add_argument("--seed", type=int, default=2025)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--set", action="append", default=[])
    ap.add_argument("--data-front", action="store_true")
    a = ap.parse_args()
    if a.data_front:
        _use_data_front()
    from sim.theater import load_scenario as load
    from sim.theater import build_grid, theater_of
    from sim.theater.record import occupied_mask

    doc = load(a.scenario, a.set)
    sc = doc.scenario
    grid = build_grid(theater_of(doc), sc.grid.cell_km)
    win = window_mask(grid)
    jobs = [(a.scenario, a.set, a.seed, i, a.data_front, int(sc.days)) for i in range(a.runs)]
    with ProcessPoolExecutor(a.workers) as pool:
        out = list(pool.map(_one, jobs))
    real0 = occupied_mask(grid, sc.start_date) & win
    print(f"{a.scenario} {' '.join(a.set)} runs={a.runs} data_front={a.data_front}")
    print("day  model_km2 (5-95%)        real_km2  ratio  brier_skill")
    for d in HORIZONS:
        if d > sc.days:
            continue
        date = sc.start_date + dt.timedelta(days=d)
        real = occupied_mask(grid, min(date, dt.date(2025, 11, 11))) & win
        real_taken = float(real.sum() - real0.sum()) * sc.grid.cell_km ** 2
        model = np.array([o[1][d] for o in out])
        p = np.mean([o[2][d] for o in out], axis=0)
        truth = real[win].astype(float)
        brier = np.mean((p - truth) ** 2)
        persist = np.mean((real0[win].astype(float) - truth) ** 2)
        skill = 1 - brier / persist if persist > 0 else float("nan")
        lo, hi = np.percentile(model, [5, 95])
        note = "" if date <= dt.date(2025, 11, 11) else " (record ends 11 Nov)"
        print(f"{d:4d} {np.median(model):8.0f} ({lo:5.0f}-{hi:5.0f})  {real_taken:8.0f}  {np.median(model) / max(real_taken, 1):5.2f}"
              f"  {skill:6.2f}{note}")
    falls = np.array([o[3] for o in out], dtype=float)
    fell = falls[np.isfinite(falls)]
    if fell.size:
        lo, med, hi = np.percentile(fell, [5, 50, 95])
        print(f"fall day: median {med:.0f} (5-95%: {lo:.0f}-{hi:.0f}), fell in {fell.size}/{len(falls)}")
    else:
        print(f"fall day: never fell in {len(falls)} runs")
    dmax = np.array([o[4] for o in out])
    dend = np.array([o[5] for o in out])
    wedge = dmax >= 10
    print(f"Dobropillia (15 km): runs with >=10 km2 taken {wedge.sum()}/{len(out)};"
          f" of those retaken half or more by the end {(dend[wedge] <= 0.5 * dmax[wedge]).sum()}")


if __name__ == "__main__":
    main()
