"""The commanders: each side decides in a step of its own at the end of the day (schedule step 8).

Both act on the day's combat result (the ``ContactResult`` of step 5a, the local force
ratios before the day's captures and movement); their orders are carried out in the
next day's movement (6d, 6e).

**Attacker commander** (SOURCES.md s.11 "Commanders"; seeds 002, 003; ISW): two arms,
north-east through Rodynske and Bilytske and south-west through Kotlyne and
Hryshyne, try to meet behind Pokrovsk-Myrnohrad; a centre group presses the
city. Each arm works through its waypoints in order, moving on when the
waypoint's cell is attacker-held. Every line unit heads for the attacker-held
front cell that best trades closeness to its arm's objective against the
distance it must move; units of one arm spread across a front of
``concentration_km`` each. Every ``reserve_commit_every_days`` a reserve unit
is committed to the arm whose contact cells show the best local force ratio.
``attacker.pincer_arms`` 1 keeps only the north-east arm: the south-west
arm's units press frontally where they stand, without manoeuvre; 0 does the
same with both arms (a frontal attack). The centre group assaults the city in
every case.

**Defender lateral shifts** (every option): every ``shift_every_days`` the
line unit facing the lowest local force ratio (below ``shift_quiet_ratio``)
moves to the contact with the worst ratio within ``shift_radius_km`` of the
city. A second pincer arm keeps the other flank busy, so fewer units are free.

**The option's orders** come after this doctrine and may overrule it (each option's
``decide`` in sim/model/options/: hold's flank counter-attacks, withdraw's columns);
then every defender unit in the attack posture heads for the front nearest the
counter-attack objective.
"""

from __future__ import annotations

import numpy as np

from sim.model.agents import ATTACK, ATTACKER, ATTACKER_SIDE, CENTRE, DEFEND, DEFENDER_SIDE, FRONT, NE, RESERVE, SW
from sim.model import kernels


# ----------------------------------------------------------------- attacker
def attacker_orders(model, contact) -> None:
    """Schedule step 8: the attacker commander (arms' waypoints, reserve commitment, every line unit's target)."""
    f = model.forces
    _advance_waypoints(model)
    day = model.day
    every = model.spec.attacker.reserve_commit_every_days
    if day > 0 and day % every == 0:
        _commit_attacker_reserve(model, contact)
    line = np.flatnonzero(f.in_line(ATTACKER_SIDE))
    front = model.attacker_front_cells()
    if line.size == 0 or len(front) == 0:
        return
    fxy = model.cell_xy(front)
    fx, fy = np.ascontiguousarray(fxy[:, 0]), np.ascontiguousarray(fxy[:, 1])
    conc = model.spec.attacker.concentration_km
    weight = model.spec.attacker.objective_weight
    frontal = line[f.arm[line] == FRONT]  # frontal pressure: the nearest stretch of front
    if frontal.size:
        j = kernels.nearest_front(fx, fy, f.x[frontal], f.y[frontal])
        f.target_x[frontal], f.target_y[frontal] = fx[j], fy[j]
    bypass = _bypassing(model, front)
    if bypass is not None:  # the front outside the towns' approaches
        bx, by = fx[bypass], fy[bypass]
        centre = line[f.arm[line] == CENTRE]
        if centre.size:  # the centre group presses there
            j = kernels.nearest_front(bx, by, f.x[centre], f.y[centre])
            f.target_x[centre], f.target_y[centre] = bx[j], by[j]
        if model.spec.attacker.flank_arms_bypass:  # and the flank arms choose there too (mechanism 9 (c))
            fx, fy = bx, by
    for arm in (NE, SW) if bypass is not None else (NE, SW, CENTRE):
        units = line[f.arm[line] == arm]
        if units.size == 0:
            continue
        ox, oy = model.arm_objective(arm)
        # units of an arm share the axis: each takes the best stretch of front not yet taken
        j = kernels.spread_along_front(fx, fy, f.x[units], f.y[units], float(ox), float(oy), conc / 4, weight)
        f.target_x[units], f.target_y[units] = fx[j], fy[j]


def _bypassing(model, front: np.ndarray) -> np.ndarray | None:
    """Where the centre group may press while it bypasses the towns (docs/ODD.md 7.19, mechanism 9).

    "Starve the positions, then assault" (ISW, late Oct 2025) and the switch from the city to
    bypassing it (12 Jan 2025; SOURCES.md s.9): while the defenders' widest route out of the
    city is at least ``attacker.storm_corridor_km`` wide, the centre group keeps out of the
    pocket towns' approaches; the indices of the attacker's ``front`` cells outside them, or
    ``None`` when it storms (the threshold is 0, the route has narrowed, the run started with the
    attacker in the city (``world.assault_begun``: the assault had begun), or no such cell).
    """
    threshold = model.spec.attacker.storm_corridor_km
    if threshold <= 0 or model.assault_begun or model.supply_state is None or model.city_route_km() < threshold:
        return None
    outside = np.flatnonzero(~model.town_approach[front[:, 0], front[:, 1]])
    return outside if outside.size else None


def _advance_waypoints(model) -> None:
    for arm in (NE, SW, CENTRE):
        cells = model.arm_waypoint_cells[arm]
        while model.arm_stage[arm] < len(cells) - 1:
            r, c = cells[model.arm_stage[arm]]
            if model.control[r, c] == ATTACKER:
                model.arm_stage[arm] += 1
            else:
                break


def _commit_attacker_reserve(model, result) -> None:
    f = model.forces
    reserve = np.flatnonzero(f.side_mask(ATTACKER_SIDE) & (f.posture == RESERVE))
    if reserve.size == 0:
        return
    arms = model.active_arms
    best, best_ratio = arms[0], -1.0
    if result is not None:
        cxy = model.cell_xy(result.cells)
        for arm in arms:
            ox, oy = model.arm_objective(arm)
            near = np.hypot(cxy[:, 0] - ox, cxy[:, 1] - oy) < model.spec.attacker.reserve_ratio_radius_km
            if near.any():
                ratio = float(np.median(result.ratio[near]))
                if ratio > best_ratio:
                    best, best_ratio = arm, ratio
    i = reserve[int(np.argmax(f.personnel[reserve] * model.kind_attack[f.kind[reserve]]))]  # the strongest first
    f.posture[i] = ATTACK
    f.arm[i] = best


# ----------------------------------------------------------------- defender
def defender_orders(model, contact) -> None:
    """Schedule step 8: the defender commander's doctrine (reserve commitment, lateral shifts)."""
    sc = model.spec
    f = model.forces
    every = sc.defender.reserve_commit_every_days
    if model.day > 0 and model.day % every == 0:
        reserve = np.flatnonzero(f.side_mask(DEFENDER_SIDE) & (f.posture == RESERVE))
        result = contact
        if reserve.size and result is not None:
            cxy = model.cell_xy(result.cells)
            cx, cy = model.city_xy
            near = np.hypot(cxy[:, 0] - cx, cxy[:, 1] - cy) < sc.defender.shift_radius_km
            pool = np.flatnonzero(near) if near.any() else np.arange(len(cxy))
            j = pool[int(np.argmax(result.ratio[pool]))]
            i = reserve[int(np.argmax(f.personnel[reserve] * model.kind_defence[f.kind[reserve]]))]
            # under hold, a reserve committed while the corridor is narrow counter-attacks the flank
            f.posture[i] = ATTACK if model.option.counterattacking else DEFEND
            f.target_x[i], f.target_y[i] = cxy[j]
    if model.day > 0 and model.day % sc.defender.shift_every_days == 0:
        _shift_quiet_unit(model, contact)


def _shift_quiet_unit(model, result) -> None:
    """Move the quietest line unit (local ratio below ``shift_quiet_ratio``) to the worst contact near the city."""
    sc = model.spec
    f = model.forces
    if result is None or result.def_units.size == 0:
        return
    cxy = model.cell_xy(result.cells)
    cx, cy = model.city_xy
    near = np.hypot(cxy[:, 0] - cx, cxy[:, 1] - cy) < sc.defender.shift_radius_km
    if not near.any():
        return
    pool = np.flatnonzero(near)
    j = pool[int(np.argmax(result.ratio[pool]))]
    units, threat = result.def_units, result.def_threat
    ok = (f.present[units] & ~f.in_pocket[units] & np.isnan(f.target_x[units]) & (f.posture[units] == DEFEND)
          & (threat < sc.defender.shift_quiet_ratio) & ~np.isin(units, list(model.option.held_back())))
    far = np.hypot(f.x[units] - cxy[j, 0], f.y[units] - cxy[j, 1]) > 2 * sc.combat.frontage_km["brigade"] / 2
    ok &= far
    if not ok.any():
        return
    i = units[ok][int(np.argmin(threat[ok]))]
    f.target_x[i], f.target_y[i] = cxy[j]


def counterattack_orders(model) -> None:
    """Schedule step 8, after the option's orders: defender units in the attack posture head for the
    front nearest the counter-attack objective (every option; the option may move the objective)."""
    f = model.forces
    units = np.flatnonzero(f.side_mask(DEFENDER_SIDE) & (f.posture == ATTACK))
    if units.size == 0:
        return
    front = model.defender_front_cells()
    if len(front) == 0:
        return
    fxy = model.cell_xy(front)
    for i in units:
        ox, oy = model.counterattack_objective
        d = np.hypot(fxy[:, 0] - ox, fxy[:, 1] - oy) + 0.3 * np.hypot(fxy[:, 0] - f.x[i], fxy[:, 1] - f.y[i])
        j = int(np.argmin(d))
        f.target_x[i], f.target_y[i] = fxy[j]
