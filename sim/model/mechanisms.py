"""The 2025 mechanisms: what slowed the attacker for a year and then took the city.

Each mechanism is a small pure formula here, earns its place by a pattern of the
2025 record (SOURCES.md s.9, quoted in each docstring and in docs/ODD.md section 7.19)
and is pinned by tests/test_mechanisms.py. The combat and movement steps call them
on arrays; nothing here loops over cells.

1. **Kill zone** (:func:`kill_zone_factor`, :func:`massing_divisor`): where the
   enemy's drones fly, massed assaults are shot up in a drone-covered zone about
   15 km deep, so they win far less often, and men massed beyond an assault party
   are targets, not power; small-group infiltration is not suppressed. Fog and
   rain lift it.
2. **Operational tempo** (:func:`tempo_factor`): each attacking arm assaults in
   pulses, then pauses to rotate and regroup, the arms out of step, so the
   main effort shifts between axes.
3. **Thin wedges are sealed** (:func:`wedge_support`, :func:`sealing_hazard`):
   attacker ground with little attacker ground around it (a breakthrough a few km
   wide) cannot be resupplied and is retaken by the defender's reserves.
4. **Strangled towns fall** (:func:`strangulation_factor`): urban ground holds
   while its defenders' route out is wide and gives way as it narrows.
5. **Rotation** (:func:`rotation_recovery`): units that are not cut off rotate
   their worn sub-units out and regain cohesion.
6. **Foliage** (:func:`foliage_factor`): in the leafy months the kill zone sees
   less and small groups slip through more; bare trees in winter help the drones.
7. **Small groups along the whole line** (:func:`spread_along_line`): a share of
   the attacker's infiltrators works every stretch of the contact line, not only
   where its units mass, so the whole front creeps while the arms push.
8. **Runs through a thin line** (:func:`run_hazard`, :func:`run_path`): where the
   defender's line is all but unmanned, small groups now and then run straight
   into its rear, ten km in days, until reserves or a town stop them; mechanism 3
   then cuts the thin wedge off and retakes it.
9. **The attacker bypasses the towns**: a rule of the attacker commander, so it lives in
   :mod:`sim.model.commanders` (``_bypassing``) and the target kernel
   (:func:`sim.model.kernels.spread_along_front`'s objective weight).
"""

from __future__ import annotations

import numpy as np
from sim.model import kernels


def kill_zone_factor(enemy_drone_share, suppression: float):
    """Share of the massed-assault hazard left under the enemy's drones.

    ``enemy_drone_share``: the enemy's sorties flying today over its nominal sorties
    (0 when fog or rain grounds them); ``suppression``: the share of assaults the
    kill zone stops at full availability. SOURCES.md s.9: the FPV kill zone about
    15 km deep (NYT, Jul 2025); drones forced the attacker from direct assaults to
    small teams (Syrskyi, ISW, Jun 2025); attackers used low visibility to hide
    from drones (Reuters, Jan 2025).
    """
    share = np.clip(np.asarray(enemy_drone_share, dtype=float), 0.0, 1.0)
    return 1.0 - float(suppression) * share


def tempo_factor(day: int, phase_days, cycle_days: float, assault_share: float, pause_intensity: float):
    """Intensity (0..1) of an arm's assaults on ``day``: 1 in its assault pulse, ``pause_intensity`` in its pause.

    An arm whose phase is ``phase_days`` assaults for ``assault_share x cycle_days``
    days of every ``cycle_days``. SOURCES.md s.9: the attacker switched from the city
    to bypassing it (12 Jan 2025) and tried the north and south in turn (24-27 Jan);
    the sector took 33% of the front's assaults for 19% of its ground (Aug 2025);
    the front's monthly gains swing from 259 to 464 km² (DeepState).
    """
    if cycle_days <= 0 or assault_share >= 1.0:
        return np.ones_like(np.asarray(phase_days, dtype=float))
    position = np.mod(day + np.asarray(phase_days, dtype=float), cycle_days)
    return np.where(position < assault_share * cycle_days, 1.0, float(pause_intensity))


def wedge_support(attacker_held: np.ndarray, radius_cells: int) -> np.ndarray:
    """Share of attacker-held cells in the square of ``2 radius + 1`` cells around each cell.

    Deep in the attacker's ground the share is near 1, on a straight front about
    one half, at the tip of a wedge a few km wide well below.
    """
    if radius_cells <= 0:
        return attacker_held.astype(float)
    return kernels.box_mean(attacker_held, radius_cells)  # scipy's uniform_filter(mode="nearest"), to the bit


def sealing_hazard(support, min_support: float, retake_per_day: float, enemy_drone_factor=1.0):
    """Daily hazard that the defender's reserves retake a cell of a thin wedge.

    Zero where the wedge's support reaches ``min_support``; ``retake_per_day`` where
    the cell stands alone; scaled by the attacker's drones over the counter-attack
    (:func:`kill_zone_factor`). SOURCES.md s.9: the Dobropillia breakthrough (at least
    10 km in 2-3 days, 4-12 Aug 2025) was cut off within a week (no resupply for the
    infiltrators; reserves committed, 14-16 Aug) and mostly retaken by 26 Oct.
    """
    if min_support <= 0:
        return np.zeros_like(np.asarray(support, dtype=float))
    thin = np.clip(1.0 - np.asarray(support, dtype=float) / float(min_support), 0.0, 1.0)
    return float(retake_per_day) * thin * enemy_drone_factor


def strangulation_factor(route_width_km, strangled_width_km: float, gain: float):
    """Multiplier on the attacker's hazards into urban ground, from the width of the defenders' route out.

    1 while the widest route from the town's ground to a supply source is at least
    ``strangled_width_km`` wide; rising to ``1 + gain`` as it closes. The defender's
    counter hazard there is divided by the same factor (starving positions do not
    counter-attack). SOURCES.md s.9: the method was to degrade logistics with drones and
    artillery for months, starve the positions, then assault; a single corridor about
    3 km wide under constant drone watch (ISW, late Oct 2025).
    """
    w = np.asarray(route_width_km, dtype=float)
    if strangled_width_km <= 0:
        return np.ones_like(w)
    return 1.0 + float(gain) * np.clip((strangled_width_km - w) / strangled_width_km, 0.0, 1.0)


def rotation_recovery(cohesion, rotation_per_day: float):
    """Cohesion regained in a day by rotating worn sub-units out: a share of the gap to full cohesion."""
    c = np.asarray(cohesion, dtype=float)
    return float(rotation_per_day) * (1.0 - c)


def foliage_factor(month: int, leafy_months, factor: float) -> float:
    """``factor`` in the leafy months, 1 otherwise.

    SOURCES.md s.6: summer vegetation and ravines help infiltration (Syrskyi, M); snow
    and bare trees in Feb 2025 helped Ukrainian drones (M).
    """
    return float(factor) if int(month) in {int(m) for m in leafy_months} else 1.0


def massing_divisor(engaged_personnel, party: float, enemy_drone_share, penalty: float):
    """Divisor of the local force ratio that decides an assault, for attackers massed beyond a party.

    ``1 + penalty x a x max(0, engaged / party - 1)`` with ``a`` the enemy's drone share
    today: under drones, men massed at one cell beyond an assault party are targets, not
    power. SOURCES.md s.9: drones forced the attacker from direct assaults to small teams
    (Syrskyi, ISW, Jun 2025); the sector took 33% of the front's assaults for 19% of its
    ground (DeepState, Aug 2025): concentration paid less than its share.
    """
    excess = np.clip(np.asarray(engaged_personnel, dtype=float) / float(party) - 1.0, 0.0, None)
    return 1.0 + float(penalty) * float(np.clip(enemy_drone_share, 0.0, 1.0)) * excess


def spread_along_line(infiltrators, spread: float):
    """Per contact cell, the infiltrators after a share ``spread`` of each cell's is spread evenly
    along the whole contact line: ``(1 - spread) x own + spread x mean``.

    The total over the line is unchanged (no new men, only where they work). SOURCES.md s.9:
    months of small-group infiltration on foot along the whole sector (Reuters, 31 Jan 2025);
    about 50 clashes a day in the sector (Syrskyi, 27 Jun 2025); the drones forced the attacker
    from massed assaults to small teams (ISW, Jun 2025).
    """
    x = np.asarray(infiltrators, float)
    if spread <= 0 or x.size == 0:
        return x
    return (1.0 - spread) * x + spread * float(x.mean())


def run_hazard(infiltrators, gap, min_gap: float, per_day: float, foliage: float = 1.0):
    """Per contact cell, the daily hazard that small groups run through the line into its rear.

    ``per_day x infiltrators x thin x foliage``, where ``thin = clip((gap - min_gap) / (1 - min_gap), 0, 1)``
    is 0 wherever the defenders hold at least ``1 - min_gap`` of the minimum density and 1 where
    nobody does. SOURCES.md s.9: the Dobropillia breakthrough (4-12 Aug 2025), at least 10 km in
    about 2-3 days in two prongs of small infantry groups, came where the line was thin; the
    sector's main effort elsewhere moved slowly.
    """
    g = np.asarray(gap, float)
    if per_day <= 0 or min_gap >= 1.0:
        return np.zeros_like(g)
    thin = np.clip((g - float(min_gap)) / (1.0 - float(min_gap)), 0.0, 1.0)
    return float(per_day) * np.asarray(infiltrators, float) * thin * float(foliage)


def run_path(start, depth_from_enemy: np.ndarray, passable: np.ndarray, cells: int) -> list[tuple[int, int]]:
    """The cells of a run from ``start`` (its first cell): each step to the passable 8-neighbour that
    gains the most distance from the enemy's ground (``depth_from_enemy``, the defender's distance to
    ground it does not hold) per km stepped, straight into the rear, for at most ``cells`` steps; it
    ends where no passable neighbour is deeper."""
    r, c = int(start[0]), int(start[1])
    rows, cols = passable.shape
    path = [(r, c)]
    for _ in range(int(cells)):
        best, best_slope = None, 0.0
        for dr in (-1, 0, 1):
            for dc in (-1, 0, 1):
                rr, cc = r + dr, c + dc
                if (dr or dc) and 0 <= rr < rows and 0 <= cc < cols and passable[rr, cc]:
                    slope = (depth_from_enemy[rr, cc] - depth_from_enemy[r, c]) / np.hypot(dr, dc)
                    if slope > best_slope:
                        best, best_slope = (rr, cc), slope
        if best is None:
            break
        r, c = best
        path.append(best)
    return path
