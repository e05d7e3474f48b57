"""Validation: the model beside theory and the record (``sim validate-model``).

Computes the validation tables of docs/CALIBRATION.md from the frames the command gives it (the
model's combat formulas are run on the experiment floor, sim/experiment/engagements.py; the
hindcasts by the replications); their figures are drawn by sim/plots/validation.py and the command
(sim/commands.py) writes both:

1. **Lanchester square law** (SOURCES.md s.7): the kernel's Euler integrator on
   Engel's (1954) Iwo Jima fit, against Engel's published trajectory.
2. **Force ratio and success** (SOURCES.md s.7): the probability that the attacker
   takes a contact cell in a *standard engagement* (one 1-km cell of open ground,
   prepared defence, clear weather, full strength and supply, ``days`` days, two
   captures needed: defender-held -> contested -> attacker-held) at each force ratio,
   beside the Dupuy Institute's share of attacker wins in 672 division-level
   engagements of 1904-1991.
3. **Hindcast** (SOURCES.md s.4-5): the day Pokrovsk falls from the front of
   14 Jan 2025 against the record (Russian claim on 1 Dec 2025 = day 321; Ukraine
   still held 45% on 9 Dec = day 329), and the attacker's casualties in the first
   30 days against about 15,000 in January 2025.
4. **Fall of Pokrovsk from 11 Nov 2025**: the day it falls against day 20 (claim)
   and day 28 (Ukraine held 45%).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

ENGEL = {1: (52835, 21220), 6: (66453, 18275), 20: (56062, 9269), 36: (51984, 217)}
DUPUY_INSTITUTE = [  # (low, high, share of attacker wins), SOURCES.md s.7
    (0.25, 0.49, 0.22), (0.50, 0.99, 0.42), (1.00, 1.49, 0.55), (1.50, 1.99, 0.59), (2.00, 2.49, 0.71),
    (2.50, 2.99, 0.83), (3.00, 3.49, 0.69), (3.50, 3.98, 0.77), (4.06, 5.87, 0.65), (6.06, 7.90, 0.88),
]
STANDARD_RATIOS = np.round(np.arange(0.25, 8.01, 0.25), 2)  # the force ratios of the success curve
RECORD_FALL_DAY_CLAIM = 321      # 1 Dec 2025 from 14 Jan 2025 (SOURCES.md s.4)
RECORD_NORTH_HELD_DAY = 329      # 9 Dec 2025: Ukraine held ~13 of 29 km2
RECORD_JAN_2025_ATTACKER_CASUALTIES = 15000   # Syrskyi via a spokesman (SOURCES.md s.5, claim)
RECORD_NOV_CLAIM_DAY = 20        # 1 Dec 2025 from 11 Nov 2025
RECORD_NOV_HELD45_DAY = 28       # 9 Dec 2025


def engel_check(trajectory: pd.DataFrame) -> tuple[pd.DataFrame, tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """The model's Lanchester trajectory on Engel's Iwo Jima fit (one row per whole day: ``day``, ``us``,
    ``japanese``; sim/experiment/engagements.py), beside Engel's numbers; and the trajectory as arrays."""
    t, us, jp = (trajectory[c].to_numpy() for c in ("day", "us", "japanese"))
    rows = []
    for day, (a, b) in ENGEL.items():
        rows.append({"day": day, "us_engel": a, "us_model": us[day], "japanese_engel": b, "japanese_model": jp[day]})
    out = pd.DataFrame(rows)
    out["us_error_pct"] = 100 * (out["us_model"] - out["us_engel"]) / out["us_engel"]
    out["japanese_error"] = out["japanese_model"] - out["japanese_engel"]
    return out, (t, us, jp)


def engagement_success(engagement: pd.DataFrame, days: int = 10) -> pd.DataFrame:
    """P(attacker takes a cell within ``days``) at each power ratio, from the standard engagement's daily
    capture probability (``ratio``, ``daily_hazard``, ``p_capture``; sim/experiment/engagements.py)."""
    p = engagement["p_capture"].to_numpy()
    q = 1.0 - p
    # two successes (defender-held -> contested -> attacker-held) within `days` daily trials
    win = 1.0 - q**days - days * p * q ** (days - 1)
    return pd.DataFrame({"ratio": engagement["ratio"].to_numpy(), "daily_hazard": engagement["daily_hazard"].to_numpy(),
                         "p_win": win})


def dupuy_ratios() -> list[float]:
    """The middle of each force-ratio band of the Dupuy Institute's table, where the model is set beside it."""
    return [(lo + hi) / 2 for lo, hi, _ in DUPUY_INSTITUTE]


def dupuy_table(success: pd.DataFrame) -> pd.DataFrame:
    """The Dupuy Institute's share of attacker wins per force-ratio band beside the model's ``p_win`` at the
    band's middle (``success``: ``engagement_success`` at ``dupuy_ratios()``, in that order)."""
    rows = []
    for (lo, hi, share), model in zip(DUPUY_INSTITUTE, success["p_win"], strict=True):
        rows.append({"ratio_low": lo, "ratio_high": hi, "dupuy_attacker_wins": share, "model_p_win": float(model)})
    return pd.DataFrame(rows)


def percentile_of(value: float, sample) -> float:
    """Share of the model's runs that fall before ``value`` (runs without a fall count as after)."""
    x = pd.to_numeric(pd.Series(sample), errors="coerce").to_numpy(dtype=float)
    return float(np.mean(np.where(np.isfinite(x), x, np.inf) < value))
