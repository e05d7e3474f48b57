"""The hand search of the 2025 mechanisms (docs/CALIBRATION.md section 8): one point, every target.

    .venv/bin/python experiments/mechanisms_search.py --runs 12 [--set mechanisms.kill_zone.assault_suppression=0.7 ...]

For the point given by ``--set`` (applied to every scenario) it prints, on one screen:
the record test bench (sim/hindcast.py: Brier skill against persistence and ground
taken in the window, model median against real, at 30/60/120 days from 14 Jan, 1 Apr,
1 Jul and 1 Sep 2025), Pokrovsk's fall day in the 330-day hindcast from 14 Jan 2025
(record: the centre in DeepState's polygon on day 293, Russia's claim day 321), and the
November scenario (hold from 11 Nov 2025, 120 days: fall day, against day 20-28, and
P(encirclement)). A tool for the search of a plausible region, not a test; the
calibration campaign does the fit.
"""

from __future__ import annotations

import argparse
import datetime as dt

import numpy as np
import pandas as pd

from sim.hindcast import START_SCENARIOS, run_and_score
from sim.experiment.replication import iterate
from sim.scenario import BASE_SCENARIO
from sim.theater import load_scenario, theater_of


def quantiles(days: pd.Series, last: int) -> str:
    d = days.astype(float).fillna(np.inf)
    lo, med, hi = np.percentile(np.minimum(d, last + 1), [5, 50, 95])
    show = lambda v: f">{last}" if v > last else f"{v:.0f}"  # noqa: E731
    return f"median {show(med)} (5-95%: {show(lo)}-{show(hi)}), fell in {int(np.isfinite(d).sum())}/{len(d)}"


def record_bench(runs: int, seed: int, workers: int, sets: list[str]) -> None:
    print("start       day  skill   ground model/real (km2)")
    for start in START_SCENARIOS:
        scores, *_ = run_and_score(start, runs=runs, seed=seed, workers=workers, sets=sets)
        sk = scores[scores.target == "brier_skill"].set_index("horizon_days")["model"]
        gr = scores[scores.target == "ground_taken_km2"].set_index("horizon_days")
        for h in sk.index:
            print(f"{start}  {h:4d}  {sk[h]:6.2f}   {gr.loc[h, 'model']:6.0f} / {gr.loc[h, 'real']:4.0f}"
                  f" = {gr.loc[h, 'model'] / max(gr.loc[h, 'real'], 1):5.2f}")


def scenario_runs(name: str, runs: int, seed: int, workers: int, sets: list[str]) -> pd.DataFrame:
    doc = load_scenario(BASE_SCENARIO.parent / name, sets)
    rows = [r.row for r in iterate(doc.scenario, theater_of(doc), seed, list(range(runs)), workers=workers)]
    return pd.DataFrame(rows)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=12)
    ap.add_argument("--seed", type=int, default=2025)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--set", action="append", default=[])
    ap.add_argument("--skip-record", action="store_true")
    a = ap.parse_args()
    print(" ".join(a.set) or "(defaults)")
    if not a.skip_record:
        record_bench(a.runs, a.seed, a.workers, a.set)
    year = scenario_runs("hindcast_2025.yaml", a.runs, a.seed, a.workers, a.set)
    print(f"hindcast 14 Jan 2025, Pokrovsk fall day: {quantiles(year['pokrovsk_fall_day'], 330)}"
          f" (record: centre in the polygon day 293, claim day 321)")
    nov = scenario_runs("hold_pokrovsk.yaml", max(a.runs, 20), a.seed, a.workers, a.set)
    print(f"November 2025, fall day: {quantiles(nov['pokrovsk_fall_day'], 120)} (record: day 20-28);"
          f" P(encircled) {nov['encircled'].mean():.2f}; ground lost {nov['territory_lost_km2'].median():.0f} km2")
    print(f"{dt.datetime.now(dt.UTC):%H:%M} UTC")


if __name__ == "__main__":
    main()
