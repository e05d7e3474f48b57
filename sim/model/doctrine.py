"""The slow processes of units: cohesion, surrender, arrivals (schedule steps 7 and 8).

**Cohesion and surrender**: cohesion falls while supply is below half and
recovers when supplied; a unit in a pocket whose cohesion falls below
``surrender_cohesion`` surrenders: ``exfiltration_share`` of it slips out to
the nearest defender unit outside the pocket, the rest is captured.

**Arrivals**: units arrive on their day at their own side's cell nearest to
their place; replacements fill the units' losses up to their first strength.
"""

from __future__ import annotations

import numpy as np

from sim.model.agents import (
    ATTACKER_SIDE, DEFENDER_SIDE, GONE,
)
from sim.model.glue import cohesion_day, replacements


# ----------------------------------------------------------------- cohesion
def cohesion_and_surrender(model) -> None:
    lg = model.spec.logistics
    f = model.forces
    p = np.flatnonzero(f.present)
    if p.size == 0:
        return
    # supply below half wears cohesion down, above it restores it; rotation (docs/ODD.md 7.19, mechanism 5):
    # a unit not cut off rotates worn sub-units out (mechanisms.rotation_recovery)
    cohesion_day(f.present, f.supply, f.cohesion, f.in_pocket, lg.cohesion_recovery_per_day, lg.cohesion_loss_per_day,
                 model.spec.mechanisms.rotation_per_day)

    give_up = p[(f.side[p] == DEFENDER_SIDE) & f.in_pocket[p] & (f.cohesion[p] < lg.surrender_cohesion)]
    if give_up.size == 0:
        return
    outside = np.flatnonzero(f.side_mask(DEFENDER_SIDE) & ~f.in_pocket)
    for i in give_up:
        men = f.personnel[i]
        out = men * lg.exfiltration_share if outside.size else 0.0
        if out > 0:
            j = outside[int(np.argmin(np.hypot(f.x[outside] - f.x[i], f.y[outside] - f.y[i])))]
            f.personnel[j] += out
            f.exfiltrated[i] += out
        f.captured[i] += men - out
        model.captured_total[DEFENDER_SIDE] += men - out
        f.personnel[i] = 0.0
        f.present[i] = False
        f.posture[i] = GONE
        model.surrendered_units += 1


# ----------------------------------------------------------------- arrivals
def arrivals(model) -> None:
    f = model.forces
    due = np.flatnonzero(~f.present & (f.arrival_day == model.day) & (f.posture != GONE))
    for i in due:
        model.deploy(i)
    for side, spec in ((DEFENDER_SIDE, model.spec.forces.defender), (ATTACKER_SIDE, model.spec.forces.attacker)):
        budget = spec.replacements_per_day * model.replacement_factor[side]
        if budget <= 0:
            continue
        idx = np.flatnonzero(f.side_mask(side) & ~f.in_pocket)  # nothing reaches a cut-off unit
        if idx.size == 0:
            continue
        # each unit gets its deficit (start strength less personnel), all scaled down to the budget
        given_any, given = replacements(idx, f.start_personnel, f.personnel, budget)
        if given_any:
            model.arrived_total[side] += given

