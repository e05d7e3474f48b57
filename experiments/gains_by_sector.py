"""Where the ground moved: the attacker's gains in the agglomeration window by compass sector, record
against model (docs/CALIBRATION.md section 12).

For each start date of the record bench, the hindcast's replications are run (``sim.hindcast``) and the
gains at each horizon are summed by 45-degree sector around Pokrovsk's centre: the record's cells taken
(DeepState) against the model's expected cells taken (the sum of the share of runs that took each cell).
It also splits the model's Brier score into the cells that changed hands in the record and those that did
not, beside persistence's (which errs only on the first).

    .venv/bin/python experiments/gains_by_sector.py --runs 16 [--set PATH=VALUE ...]
"""

from __future__ import annotations

import argparse
import datetime as dt

import numpy as np

from sim import hindcast
from sim.analysis import skill
from sim.theater import record

CENTRE = (48.28, 37.18)       # Pokrovsk (docs/ODD.md section 6)
SECTORS = "E NE N NW W SW S SE".split()


def sector_of_cells(grid) -> np.ndarray:
    """0..7 (E, NE, ... SE) for every cell: its bearing from Pokrovsk in 45-degree sectors."""
    lat, lon = grid.to_latlon(*grid.centres_km())
    bearing = np.degrees(np.arctan2((lat - CENTRE[0]) * 111.2, (lon - CENTRE[1]) * 74.1)) % 360
    return ((bearing + 22.5) // 45).astype(int) % 8


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=16)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--set", dest="sets", action="append", default=[])
    args = parser.parse_args()
    for start in hindcast.START_SCENARIOS:
        _, _, snapshots, grid = hindcast.run_and_score(start, runs=args.runs, seed=args.seed, workers=2, sets=args.sets)
        window = hindcast.window_mask(grid)
        sector = sector_of_cells(grid)
        real_start = record.occupied_mask(grid, start)
        for h in sorted(d for d in snapshots if d > 0):
            real_end = record.occupied_mask(grid, start + dt.timedelta(days=h))
            p = skill.attacker_probability(snapshots[h])
            real_gain = real_end & ~real_start & window
            model_gain = np.clip(p - skill.attacker_probability(snapshots[0]), 0, 1) * window
            by_sector = " ".join(f"{name} {real_gain[sector == k].sum():3.0f}/{model_gain[sector == k].sum():3.0f}"
                                 for k, name in enumerate(SECTORS))
            changed = (real_end != real_start) & window
            squared = (p - real_end) ** 2
            print(f"{start} +{h:3d}  record/model km²: {by_sector}  | Brier sums: changed {squared[changed].sum():.0f}, "
                  f"unchanged {squared[window & ~changed].sum():.0f}, persistence {changed.sum()}")


if __name__ == "__main__":
    main()
