"""What the Brier score rewards: a forecast that knows only how much ground the attacker takes.

docs/CALIBRATION.md section 12. For each start date and horizon of the record bench this spreads the
real amount of ground taken in the agglomeration window as a creep along the whole front of the
start date: p = a x exp(-(d - 1) / L) on the defender's ground, d the distance in km to the
occupied area of the start, a set so that the probabilities add up to the real gain (times 0.5, 1 or
2), L in 0.5-6 km; it prints the best skill against persistence over those few shapes. It is not a
forecast (it is told the amount); it shows that a front which creeps a little everywhere beats
persistence at every start, where a front that moves far in a few places does not.

    .venv/bin/python experiments/creep_forecast.py
"""

from __future__ import annotations

import datetime as dt

import numpy as np
from scipy import ndimage

from sim import hindcast
from sim.analysis import skill
from sim.theater import build_grid, load_theater, record


def best_creep_skill(grid, window, start: dt.date, end: dt.date) -> tuple[float, float, float, int]:
    """(skill, L km, amount factor, cells gained) of the best direction-free creep forecast."""
    real_start, real_end = record.occupied_mask(grid, start), record.occupied_mask(grid, end)
    distance = ndimage.distance_transform_edt(~real_start) * grid.cell_km
    gained = int((real_end & ~real_start & window).sum())
    persistence = skill.brier(real_start, real_end, window)
    best = (-np.inf, 0.0, 0.0, gained)
    for length in (0.5, 1, 1.5, 2, 3, 4, 6):
        weight = np.where(real_start, 0.0, np.exp(-(distance - 1) / length))
        for factor in (0.5, 1.0, 2.0):
            a = min(1.0, factor * gained / weight[window].sum())
            p = np.where(real_start, 1.0, np.clip(a * weight, 0, 1))
            s = skill.brier_skill(skill.brier(p, real_end, window), persistence)
            if s > best[0]:
                best = (s, length, factor, gained)
    return best


def main() -> None:
    grid = build_grid(load_theater("pokrovsk"), 1.0)
    window = hindcast.window_mask(grid)
    print("start       days  gained km²  best creep skill  L km  amount x")
    for start in hindcast.START_SCENARIOS:
        for h in hindcast.horizons_in_record(start):
            s, length, factor, gained = best_creep_skill(grid, window, start, start + dt.timedelta(days=h))
            print(f"{start}  {h:4d}  {gained:10d}  {s:16.2f}  {length:4g}  {factor:8g}")


if __name__ == "__main__":
    main()
