"""The fighting, compiled (Numba): fires (step 4a) and the one combat kernel (steps 5a and 5b) of the day
(docs/ODD.md 7.3, 7.6, 7.7, 7.19).

:mod:`sim.model.combat` keeps the formulas as small numpy functions, each naming its source
and pinned by tests/test_formulas.py; the kernels here compute the same formulas in loops,
once a day over the contact cells and the units in line, so that the day's combat is a few
compiled calls instead of some sixty numpy calls on arrays of 40 units and 150 cells.

Unlike :mod:`sim.model.glue`, these kernels do not replay numpy's rounding: ``exp``, ``log``
and ``power`` are the C library's, and the matrix products sum in loop order, not BLAS's.
A replication's numbers therefore differ from the numpy form's in the last bits, and its
trajectory drifts from there; ``experiments/paired_check.py`` shows that the outcome
distributions do not (docs/PERFORMANCE.md). tests/test_assault.py checks each kernel
against the numpy formulas to 1e-12.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from sim.model.glue import book_losses, contact_hazards

_ROOT_TWO_PI = np.sqrt(2 * np.pi)
# Beyond this squared distance in widths the Gaussian is below exp(-40) = 4e-18 of its peak, under the last bit
# of the unit's engaged personnel near it: taken as 0 (it spares most of the day's exp calls)
_NEGLIGIBLE_Q2 = 80.0
# Dupuy's opposition factor (combat.opposition_factor): piecewise linear in log(ratio) through these points
_OPPOSITION_LOG_RATIO = np.log(np.array([0.9, 2.0, 3.0, 6.0]))
_OPPOSITION_FACTOR = np.array([1.0, 0.75, 0.65, 0.4])


@njit(cache=True)
def opposition_factor(ratio: float) -> float:
    """``combat.opposition_factor`` of one ratio (``np.interp`` in ``log(max(ratio, 1e-9))``)."""
    r = np.log(max(ratio, 1e-9))
    xp, fp = _OPPOSITION_LOG_RATIO, _OPPOSITION_FACTOR
    if r <= xp[0]:
        return fp[0]
    for j in range(1, xp.shape[0]):
        if r < xp[j]:
            return fp[j - 1] + (fp[j] - fp[j - 1]) * (r - xp[j - 1]) / (xp[j] - xp[j - 1])
    return fp[xp.shape[0] - 1]


@njit(cache=True)
def hill(ratio: float, half: float, steepness: float) -> float:
    """``combat.hill`` of one ratio: 0 at 0, 0.5 at ``half``, towards 1."""
    rk = min(max(ratio, 0.0), 1e6) ** steepness
    return rk / (rk + half ** steepness)


@njit(cache=True)
def engagement(units: np.ndarray, x: np.ndarray, y: np.ndarray, personnel: np.ndarray, sigma: np.ndarray,
               cxy: np.ndarray, cell_km: float) -> np.ndarray:
    """``combat.engagement`` of the units (indices into the forces' columns) at the cells, (units, cells):
    each unit's personnel along the front as a Gaussian of width ``sigma`` (one per unit) around it,
    a row whose sum exceeds the unit's personnel scaled down to it. Cells farther than sqrt(80) widths
    get 0 (below exp(-40) of the peak: under the last bit of the unit's personnel near it)."""
    n, m = units.shape[0], cxy.shape[0]
    out = np.empty((n, m))
    for k in range(n):
        i = units[k]
        scale = cell_km * personnel[i] / (sigma[k] * _ROOT_TWO_PI)
        total = 0.0
        beyond = _NEGLIGIBLE_Q2 * sigma[k] * sigma[k]
        for j in range(m):
            dx, dy = x[i] - cxy[j, 0], y[i] - cxy[j, 1]
            d2 = dx * dx + dy * dy
            out[k, j] = np.exp(-0.5 * d2 / (sigma[k] * sigma[k])) * scale if d2 < beyond else 0.0
            total += out[k, j]
        if total > personnel[i]:
            share = personnel[i] / total
            for j in range(m):
                out[k, j] *= share
    return out


@njit(cache=True)
def column_sums(engaged: np.ndarray) -> np.ndarray:
    """Engaged personnel per cell (``engaged.sum(axis=0)``)."""
    out = np.zeros(engaged.shape[1])
    for k in range(engaged.shape[0]):
        for j in range(engaged.shape[1]):
            out[j] += engaged[k, j]
    return out


@njit(cache=True)
def weighted_columns(weights: np.ndarray, engaged: np.ndarray) -> np.ndarray:
    """``weights @ engaged``: per cell, the engaged personnel weighted by a factor per unit."""
    out = np.zeros(engaged.shape[1])
    for k in range(engaged.shape[0]):
        for j in range(engaged.shape[1]):
            out[j] += weights[k] * engaged[k, j]
    return out


@njit(cache=True)
def weighted_rows(engaged: np.ndarray, per_cell: np.ndarray) -> np.ndarray:
    """``engaged @ per_cell``: per unit, a quantity per cell weighted by the unit's engaged personnel there."""
    out = np.zeros(engaged.shape[0])
    for k in range(engaged.shape[0]):
        s = 0.0
        for j in range(engaged.shape[1]):
            s += engaged[k, j] * per_cell[j]
        out[k] = s
    return out


@njit(cache=True)
def power_at_cells(engaged: np.ndarray, power: np.ndarray, factor: np.ndarray, fire: float) -> np.ndarray:
    """A party's combat power per cell (``combat._power_at_cells``): ``(power @ engaged) * factor + fire``,
    ``fire`` the side's fire power on a cell's width of front."""
    out = weighted_columns(power, engaged)
    for j in range(out.shape[0]):
        out[j] = out[j] * factor[j] + fire
    return out


@njit(cache=True)
def ratios(attack: np.ndarray, defence: np.ndarray, at_attacker: np.ndarray, party: float):
    """Per cell the force ratio ``attack / max(defence, 1e-6)`` and the attacking party's presence,
    its engaged personnel over an assault party (0..1)."""
    n = attack.shape[0]
    ratio, presence = np.empty(n), np.empty(n)
    for j in range(n):
        ratio[j] = attack[j] / max(defence[j], 1e-6)
        presence[j] = min(max(at_attacker[j] / party, 0.0), 1.0)
    return ratio, presence


@njit(cache=True)
def hazards_and_rates(ratio: np.ndarray, presence: np.ndarray, massing: np.ndarray, mobility: np.ndarray,
                      casualty: np.ndarray, max_per_day: float, half: float, steepness: float, modern: float,
                      rate_attacker: float, rate_defender: float):
    """Per cell (``combat.assault``): the attacking party's hazard of taking the cell,
    ``advance_hazard(ratio / massing) x presence`` on the cell's mobility, and both parties' daily
    casualty rates (``daily_casualty_rate`` at the ratio and at its inverse, on the cell's casualty factor)."""
    n = ratio.shape[0]
    hazard, rate_a, rate_d = np.empty(n), np.empty(n), np.empty(n)
    for j in range(n):
        hazard[j] = max_per_day * hill(ratio[j] / massing[j], half, steepness) * mobility[j] * presence[j]
        rate_a[j] = rate_attacker * modern * opposition_factor(ratio[j]) * casualty[j]
        rate_d[j] = rate_defender * modern * opposition_factor(1.0 / max(ratio[j], 1e-9)) * casualty[j]
    return hazard, rate_a, rate_d


@njit(cache=True)
def massing_divisor(at_attacker: np.ndarray, party: float, drone_share: float, penalty: float) -> np.ndarray:
    """``mechanisms.massing_divisor`` per cell: ``1 + penalty x share x max(0, engaged / party - 1)``."""
    share = min(max(drone_share, 0.0), 1.0)
    out = np.empty(at_attacker.shape[0])
    for j in range(out.shape[0]):
        out[j] = 1.0 + penalty * share * max(at_attacker[j] / party - 1.0, 0.0)
    return out


@njit(cache=True)
def cell_values(layer: np.ndarray, cells: np.ndarray, scale: float) -> np.ndarray:
    """``layer[cells[:, 0], cells[:, 1]] * scale``."""
    out = np.empty(cells.shape[0])
    for j in range(cells.shape[0]):
        out[j] = layer[cells[j, 0], cells[j, 1]] * scale
    return out


@njit(cache=True)
def cell_product(first: np.ndarray, second: np.ndarray, cells: np.ndarray) -> np.ndarray:
    """``first[r, c] * second[r, c]`` at the cells."""
    out = np.empty(cells.shape[0])
    for j in range(cells.shape[0]):
        out[j] = first[cells[j, 0], cells[j, 1]] * second[cells[j, 0], cells[j, 1]]
    return out


@njit(cache=True)
def terrain_values(table: np.ndarray, terrain: np.ndarray, cells: np.ndarray) -> np.ndarray:
    """``table[terrain[r, c]]`` at the cells (a table by terrain code)."""
    out = np.empty(cells.shape[0])
    for j in range(cells.shape[0]):
        out[j] = table[terrain[cells[j, 0], cells[j, 1]]]
    return out


@njit(cache=True)
def engaged_mean(per_unit: np.ndarray, engaged: np.ndarray, at_cells: np.ndarray, empty: float) -> np.ndarray:
    """Per cell the engaged-weighted mean of a quantity per unit, ``(per_unit @ engaged) / max(at_cells, 1e-9)``,
    ``empty`` where nobody is engaged."""
    out = weighted_columns(per_unit, engaged)
    for j in range(out.shape[0]):
        out[j] = out[j] / max(at_cells[j], 1e-9) if at_cells[j] > 0 else empty
    return out


@njit(cache=True)
def tempo(day: int, phase: np.ndarray, units: np.ndarray, arm: np.ndarray, cycle_days: float, assault_share: float,
          pause_intensity: float) -> np.ndarray:
    """``mechanisms.tempo_factor`` of the units' arms (``phase[arm[units]]``) on ``day``."""
    out = np.ones(units.shape[0])
    if cycle_days <= 0 or assault_share >= 1.0:
        return out
    for k in range(units.shape[0]):
        position = (day + phase[arm[units[k]]]) % cycle_days
        if not position < assault_share * cycle_days:
            out[k] = pause_intensity
    return out


@njit(cache=True)
def threat(engaged: np.ndarray, ratio: np.ndarray) -> np.ndarray:
    """Each defending unit's engagement-weighted force ratio: ``(engaged @ ratio) / engaged.sum(axis=1)``, 0
    for a unit engaged nowhere."""
    out = np.zeros(engaged.shape[0])
    for k in range(engaged.shape[0]):
        total, weighted = 0.0, 0.0
        for j in range(engaged.shape[1]):
            total += engaged[k, j]
            weighted += engaged[k, j] * ratio[j]
        if total > 0:
            out[k] = weighted / max(total, 1e-9)
    return out


@njit(cache=True)
def gaps(at_defender: np.ndarray, cell_km: float, min_density: float) -> np.ndarray:
    """The share of each cell left open by thin defenders: ``clip(1 - engaged / cell_km / min_density, 0, 1)``."""
    out = np.empty(at_defender.shape[0])
    for j in range(out.shape[0]):
        out[j] = min(max(1.0 - at_defender[j] / cell_km / min_density, 0.0), 1.0)
    return out


@njit(cache=True)
def spread_infiltrators(presence: np.ndarray, mix: np.ndarray, spread: float) -> np.ndarray:
    """``mechanisms.spread_along_line(presence * mix, spread)``."""
    n = presence.shape[0]
    out = np.empty(n)
    total = 0.0
    for j in range(n):
        out[j] = presence[j] * mix[j]
        total += out[j]
    if spread <= 0 or n == 0:
        return out
    mean = total / n
    for j in range(n):
        out[j] = (1.0 - spread) * out[j] + spread * mean
    return out


@njit(cache=True)
def counter_hills(ratio: np.ndarray, half: float, steepness: float) -> np.ndarray:
    """The defender's counter hazard's curve per cell: ``hill(1 / max(ratio, 1e-9))``."""
    out = np.empty(ratio.shape[0])
    for j in range(out.shape[0]):
        out[j] = hill(1.0 / max(ratio[j], 1e-9), half, steepness)
    return out


@njit(cache=True)
def urban_strangulation(cells: np.ndarray, terrain: np.ndarray, urban: int, bottleneck: np.ndarray, half: int,
                        strangled_km: float, gain: float) -> np.ndarray:
    """Per cell ``mechanisms.strangulation_factor`` of the route width around urban cells (twice the largest
    bottleneck half-width within ``half`` cells, ``model.route_width_km``), 1 elsewhere or when
    ``strangled_km`` is 0."""
    out = np.ones(cells.shape[0])
    if strangled_km <= 0:
        return out
    rows, cols = bottleneck.shape
    for j in range(cells.shape[0]):
        r0, c0 = cells[j, 0], cells[j, 1]
        if terrain[r0, c0] != urban:
            continue
        m = bottleneck[r0, c0]
        for r in range(max(r0 - half, 0), min(r0 + half + 1, rows)):
            for c in range(max(c0 - half, 0), min(c0 + half + 1, cols)):
                m = max(m, bottleneck[r, c])
        out[j] = 1.0 + gain * min(max((strangled_km - 2.0 * m) / strangled_km, 0.0), 1.0)
    return out


@njit(cache=True)
def by_kind(table: np.ndarray, units: np.ndarray, kind: np.ndarray) -> np.ndarray:
    """``table[kind[units]]``: a table by unit kind, read for the units."""
    out = np.empty(units.shape[0])
    for k in range(units.shape[0]):
        out[k] = table[kind[units[k]]]
    return out


@njit(cache=True)
def assault(att_units, e_att, p_att, f_att, fire_att, base_att, def_units, e_def, p_def, f_def, fire_def, base_def,
            cells, mobility_cell, mobility, casualty_cell, casualty, rule, personnel, casualties, side, losses_today):
    """The combat kernel (``combat.assault``) at ``cells``: each party's power per cell (engaged personnel
    ``e_*`` x power per person ``p_*`` x the cell factor ``f_*``, plus fire ``fire_*``), the force ratio, the
    attacking party's hazard of taking each cell and both parties' losses (Dupuy's base rates ``base_*``),
    booked on the units, each losing at most half its personnel a day. ``rule``: the advance hazard's
    ceiling, half ratio and steepness, the modern casualty factor, the assault party's size and the kill
    zone's massing penalty times the enemy's drone share (0 for no massing penalty)."""
    max_per_day, half, steepness, modern, party, massing_penalty = rule
    at_att = column_sums(e_att)
    attack = power_at_cells(e_att, p_att, f_att, fire_att)
    defence = power_at_cells(e_def, p_def, f_def, fire_def)
    ratio, presence = ratios(attack, defence, at_att, party)
    massing = massing_divisor(at_att, party, 1.0, massing_penalty)
    hazard, rate_att, rate_def = hazards_and_rates(
        ratio, presence, massing, cell_values(mobility_cell, cells, mobility), cell_values(casualty_cell, cells, casualty),
        max_per_day, half, steepness, modern, base_att, base_def)
    loss_att, loss_def = weighted_rows(e_att, rate_att), weighted_rows(e_def, rate_def)
    book_losses(att_units, loss_att, 0.5, personnel, casualties, side, losses_today)
    book_losses(def_units, loss_def, 0.5, personnel, casualties, side, losses_today)
    return attack, defence, ratio, hazard, presence, loss_att, loss_def, at_att


@njit(cache=True)
def contact(cells, ratio, hazard, presence, e_att, at_att, att_units, e_def, forces_kind, forces_arm, world, day,
            kill_zone, foliage, counter_kill_zone, bottleneck, boost, rule):
    """What the contact cells give the rest of the day (``combat._contact_result``): the gap, the three
    hazards (assault strangled and paced, infiltration, the defender's counter), the infiltrators and each
    defending unit's threat. ``world``: (kind_infiltration, arm_phase, terrain, urban code, route window's
    half); ``rule``: (cell_km, min_density, strangled_km, gain, cycle_days, assault_share, pause_intensity,
    spread, urban_bonus, infiltration, gap_floor, counter_max, half ratio, steepness)."""
    kind_infiltration, arm_phase, terrain, urban, half_window = world
    (cell_km, min_density, strangled_km, gain, cycle, share, pause, spread, urban_bonus, infiltration, gap_floor,
     counter_max, half, steepness) = rule
    gap = gaps(column_sums(e_def), cell_km, min_density)
    strangled = urban_strangulation(cells, terrain, urban, bottleneck, half_window, strangled_km, gain)
    intensity = engaged_mean(tempo(day, arm_phase, att_units, forces_arm, cycle, share, pause), e_att, at_att, 1.0)
    for j in range(intensity.shape[0]):
        intensity[j] = kill_zone * intensity[j]
    mix = engaged_mean(by_kind(kind_infiltration, att_units, forces_kind), e_att, at_att, 0.0)
    infiltrators = spread_infiltrators(presence, mix, spread)
    urban_cells = np.empty(cells.shape[0], np.bool_)
    for j in range(cells.shape[0]):
        urban_cells[j] = terrain[cells[j, 0], cells[j, 1]] == urban
    h_attack, h_inf, h_counter = contact_hazards(
        hazard, strangled, intensity, infiltrators, urban_cells, urban_bonus, gap, infiltration, foliage, gap_floor,
        counter_max, counter_hills(ratio, half, steepness), boost, cells, counter_kill_zone)
    return gap, h_attack, h_inf, h_counter, infiltrators, threat(e_def, ratio)


@njit(cache=True)
def fire_losses(targets: np.ndarray, x: np.ndarray, y: np.ndarray, personnel: np.ndarray, casualties: np.ndarray,
                side: np.ndarray, losses_today: np.ndarray, contact_xy: np.ndarray, range_km: float,
                kills: float) -> float:
    """A side's fires on the enemy's units (``fires.fire``, step 4a), booked in place; returns the losses' sum.
    Each target's weight is its personnel x ``exp(-distance to the nearest contact cell / range_km)`` (50 km
    with no contact cell); ``kills`` are shared by weight, each unit losing at most half its personnel."""
    n = targets.shape[0]
    weight = np.empty(n)
    total = 0.0
    for k in range(n):
        i = targets[k]
        best = 2500.0 if contact_xy.shape[0] == 0 else np.inf
        for j in range(contact_xy.shape[0]):
            dx, dy = x[i] - contact_xy[j, 0], y[i] - contact_xy[j, 1]
            best = min(best, dx * dx + dy * dy)
        weight[k] = personnel[i] * np.exp(-np.sqrt(best) / range_km)
        total += weight[k]
    if total <= 0:
        return 0.0
    lost = 0.0
    for k in range(n):
        weight[k] = min(kills * weight[k] / total, 0.5 * personnel[targets[k]])
        lost += weight[k]
    book_losses(targets, weight, 0.0, personnel, casualties, side, losses_today)
    return lost


def _frozen(a: np.ndarray) -> np.ndarray:
    a = a.copy()
    a.flags.writeable = False
    return a


def warm_up() -> None:
    """Compile (or load from the cache) the day's two kernels on the types the model passes (the World's
    layers and tables read-only, the unit columns' kind and arm as int8), with every kernel they call."""
    one, units, cells = np.ones(1), np.zeros(1, np.int64), np.zeros((1, 2), np.int64)
    grid, frozen, code = np.ones((1, 1)), _frozen(np.ones((1, 1))), np.zeros(1, np.int8)
    e = engagement(units, one, one, one, one, np.ones((1, 2)), 1.0)
    cell_product(frozen, grid, cells)
    cell_product(frozen, frozen, cells)
    cell_values(grid, cells, 1.0)
    cell_values(frozen, cells, 1.0)
    terrain_values(_frozen(one), _frozen(np.zeros((1, 1), np.int8)), cells)
    result = assault(units, e, one, one, 1.0, 1.0, units, e, one, one, 1.0, 1.0, cells, frozen, 1.0, frozen, 1.0,
                     (1.0,) * 6, one.copy(), one.copy(), code, np.zeros(2))
    world = (_frozen(one), _frozen(one), _frozen(np.zeros((1, 1), np.int8)), 1, 1)
    fire_losses(units, one, one, one.copy(), one.copy(), code, np.zeros(2), np.ones((1, 2)), 1.0, 1.0)
    for boost in (grid, frozen):
        contact(cells, result[2], result[3], result[4], e, result[7], units, e, code, code, world, 0, 1.0, 1.0, 1.0,
                grid, boost, (1.0,) * 14)
