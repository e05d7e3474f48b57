"""The model's combat formulas run outside a replication, for ``sim validate-model``'s theory checks.

Two small experiments on the combat kernel (sim/model/combat.py), whose frames the analysis floor
(sim/analysis/validation.py) sets beside the published numbers:

1. **Lanchester square law** (SOURCES.md s.7): the kernel's Euler integrator run with Engel's (1954)
   Iwo Jima fit (the US landings as arrivals), sampled at every whole day.
2. **The standard engagement**: one 1-km cell of open ground, prepared defence, clear weather, full
   strength and supply; at each power ratio, the daily hazard that the attacker wins the contact and
   the probability of a capture on a given day.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from sim.model.combat import advance_hazard, capture_probability, lanchester_square

ENGEL_FIT = {"us_start": 0.0, "japanese_start": 21500.0, "us_kill": 0.0106, "japanese_kill": 0.0544, "days": 36}


def engel_arrivals(t0: float, t1: float) -> float:
    """US personnel landed in [t0, t1) in Engel's fit: 54,000 on day 0, 6,000 on day 2, 13,000 on day 5."""
    rate = 54000.0 if t0 < 1 else 6000.0 if 2 <= t0 < 3 else 13000.0 if 5 <= t0 < 6 else 0.0
    return rate * (t1 - t0)


def engel_trajectory() -> pd.DataFrame:
    """The integrator on Engel's fit: one row per whole day, ``day``, ``us`` and ``japanese`` personnel."""
    f = ENGEL_FIT
    t, us, jp = lanchester_square(f["us_start"], f["japanese_start"], f["us_kill"], f["japanese_kill"], f["days"],
                                  dt=0.001, a_arrivals=engel_arrivals)
    return pd.DataFrame({"day": np.asarray(t), "us": np.asarray(us), "japanese": np.asarray(jp)})


def standard_engagement(spec, ratios) -> pd.DataFrame:
    """At each power ratio, the daily hazard that the attacker takes the contact cell and the probability of
    a capture that day, in the standard engagement under ``spec``'s combat and weather settings."""
    cb = spec.combat
    ratios = np.asarray(ratios, dtype=float)
    mobility = float(cb.terrain_mobility["open"]) * float(spec.weather.effects["clear"].mobility)
    h = advance_hazard(ratios, float(cb.advance_max_per_day), float(cb.advance_half_ratio),
                       float(cb.advance_steepness), mobility)
    return pd.DataFrame({"ratio": ratios, "daily_hazard": h, "p_capture": capture_probability(h)})
