"""The golden results: what the model gives today for a fixed set of seeded runs.

A refactoring of the model may not move a number: tests/test_golden.py runs the same
replications and compares them with these files exactly. A change that is meant to move
numbers (a new mechanism, a recalibration) regenerates them in a commit of its own that
says so:

    .venv/bin/python tests/golden/regenerate.py

Four replications (root seed 1) of each shipped option scenario and of the 2025 hindcast,
60 days each, serially; ``runs.parquet`` (one row per replication) and
``timeseries.parquet`` (one row per replication and day), a ``scenario`` column telling
the files apart.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pandas as pd

ROOT = Path(__file__).resolve().parents[2]
FOLDER = Path(__file__).resolve().parent
SCENARIOS = ("hold_pokrovsk", "withdraw_kramatorsk_sloviansk", "reinforce_from_kursk", "kursk_pressure",
             "hindcast_2025")
RUNS, SEED, DAYS = 4, 1, 60


def golden_frames() -> tuple[pd.DataFrame, pd.DataFrame]:
    """The golden replications as run by the code now: (runs, timeseries), every scenario stacked."""
    from sim.experiment.replication import iterate
    from sim.experiment.store import results_frames
    from sim.theater import load_scenario, theater_of

    runs, series = [], []
    for name in SCENARIOS:
        doc = load_scenario(ROOT / "scenarios" / f"{name}.yaml", [f"days={DAYS}"])
        reps = list(iterate(doc.scenario, theater_of(doc), SEED, list(range(RUNS))))
        r, ts, _ = results_frames(reps)
        ts.insert(0, "scenario", name)
        runs.append(r)
        series.append(ts)
    return pd.concat(runs, ignore_index=True), pd.concat(series, ignore_index=True)


def main() -> int:
    from sim.core.io import write_atomic

    runs, series = golden_frames()
    write_atomic(FOLDER / "runs.parquet", lambda p: runs.to_parquet(p, index=False))
    write_atomic(FOLDER / "timeseries.parquet", lambda p: series.to_parquet(p, index=False))
    print(f"{len(runs)} runs, {len(series)} days written to {FOLDER}")
    return 0


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT))
    sys.exit(main())
