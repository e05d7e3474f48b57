"""Ground combat: force ratio, attrition and advance at every contact cell.

Small, pure formulas first (each names its source and is pinned by
tests/test_formulas.py), then :func:`resolve`, the vectorised daily kernel
that the model calls once a day over all contact cells.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from sim.model import assault as kernel, glue, kernels
from sim.vocab import Terrain

# Dupuy's opposition factor of the power ratio (SOURCES.md s.7: about 1.0 at 0.9,
# 0.75 at 2.0, 0.65 at 3.0, 0.4 at 6.0), interpolated in log(ratio).
_OPPOSITION_RATIO = np.log(np.array([0.9, 2.0, 3.0, 6.0]))
_OPPOSITION_FACTOR = np.array([1.0, 0.75, 0.65, 0.4])


def opposition_factor(ratio):
    """Dupuy's casualty factor of a side's power ratio over its enemy (own / enemy).

    Piecewise-linear in log(ratio) through Dupuy's points (SOURCES.md s.7); 1.0 below
    a ratio of 0.9 and held at 0.4 above 6.0.
    """
    r = np.log(np.clip(np.asarray(ratio, dtype=float), 1e-9, None))
    return np.interp(r, _OPPOSITION_RATIO, _OPPOSITION_FACTOR)


def hill(ratio, half: float, steepness: float):
    """A Hill curve: 0 at ratio 0, 0.5 at ``half``, towards 1 for large ratios."""
    r = np.clip(np.asarray(ratio, dtype=float), 0.0, 1e6)
    rk = r**steepness
    return rk / (rk + half**steepness)


def advance_hazard(ratio, max_per_day: float, half_ratio: float, steepness: float, mobility=1.0):
    """Daily hazard that the attacker wins a contact cell at local power ratio ``ratio``.

    A Hill curve in the ratio, half its ceiling at ``half_ratio`` (the 3:1 rule of thumb,
    Mearsheimer 1989, SOURCES.md s.7), scaled by mobility (Dupuy's terrain and weather
    factors). The ceiling is calibrated to this war's pace (docs/CALIBRATION.md),
    far below the QJM's 20th-century rates.
    """
    return max_per_day * hill(ratio, half_ratio, steepness) * mobility


def daily_casualty_rate(base_rate: float, modern_factor: float, own_over_enemy_ratio, terrain=1.0, weather=1.0):
    """Share of a side's engaged personnel lost per day (Dupuy QJM, SOURCES.md s.7).

    ``base_rate``: Dupuy's standard rate (2.8% attacker, 1.5% defender); ``modern_factor``
    scales it to this war's observed losses (docs/CALIBRATION.md); the opposition
    factor lowers the rate of the stronger side; terrain and weather are Dupuy's
    casualty factors.
    """
    return base_rate * modern_factor * opposition_factor(own_over_enemy_ratio) * terrain * weather


def capture_probability(hazard):
    """Probability of at least one success in a day at a total daily ``hazard``."""
    return 1.0 - np.exp(-np.asarray(hazard, dtype=float))


def line_kernel(distance_km, sigma_km):
    """Personnel per km of front a unit puts at a distance, per person (Gaussian, integrates to 1 along a line)."""
    d = np.asarray(distance_km, dtype=float)
    s = np.asarray(sigma_km, dtype=float)
    return np.exp(-0.5 * (d / s) ** 2) / (s * np.sqrt(2 * np.pi))


def engagement(unit_xy: np.ndarray, personnel: np.ndarray, sigma_km: np.ndarray,
               cell_xy: np.ndarray, cell_km: float) -> np.ndarray:
    """Engaged personnel of each unit at each contact cell, shape (units, cells).

    Each unit spreads its personnel along the front with a Gaussian of width
    ``sigma_km`` centred on its position; a unit far behind the front engages
    little. No unit engages more than its whole personnel (rows are capped).
    The model's day uses the compiled form, :func:`sim.model.assault.engagement`.
    """
    unit_xy = np.asarray(unit_xy, dtype=float).reshape(-1, 2)
    cell_xy = np.asarray(cell_xy, dtype=float).reshape(-1, 2)
    personnel = np.asarray(personnel, dtype=float)
    d = np.hypot(unit_xy[:, None, 0] - cell_xy[None, :, 0], unit_xy[:, None, 1] - cell_xy[None, :, 1])
    engaged = line_kernel(d, np.asarray(sigma_km, dtype=float)[:, None]) * cell_km * personnel[:, None]
    total = engaged.sum(axis=1)
    over = total > personnel
    engaged[over] *= (personnel[over] / total[over])[:, None]
    return engaged


def lanchester_square(a0: float, b0: float, a_kill: float, b_kill: float, days: float, dt: float = 0.001,
                      a_arrivals=None):
    """Euler integration of the Lanchester square law dA/dt = P(t) - b_kill*B, dB/dt = -a_kill*A.

    ``a_arrivals(t0, t1)`` returns reinforcements arriving in [t0, t1). Returns arrays
    (t, A, B) sampled at every whole day. Used for the Engel (1954) Iwo Jima check
    (SOURCES.md s.7; docs/CALIBRATION.md).
    """
    steps = int(round(days / dt))
    A, B = float(a0), float(b0)
    out_t, out_a, out_b = [0.0], [A], [B]
    for i in range(steps):
        t = i * dt
        inflow = a_arrivals(t, t + dt) if a_arrivals else 0.0
        dA = inflow - b_kill * B * dt
        dB = -a_kill * A * dt
        A, B = max(A + dA, 0.0), max(B + dB, 0.0)
        if abs((i + 1) * dt - round((i + 1) * dt)) < dt / 2:
            out_t.append(round((i + 1) * dt))
            out_a.append(A)
            out_b.append(B)
    return np.array(out_t), np.array(out_a), np.array(out_b)


@dataclass
class ContactResult:
    """What happened at the contact cells today."""

    att_power: np.ndarray       # attacker power per contact cell
    def_power: np.ndarray       # defender power per contact cell
    ratio: np.ndarray           # attacker / defender power
    gap: np.ndarray             # 0..1 share of the cell left open by thin defenders
    attack_hazard: np.ndarray   # daily hazard of a won assault
    infiltration_hazard: np.ndarray
    counter_hazard: np.ndarray  # daily hazard that the defender retakes a contested cell
    att_losses: np.ndarray      # per attacker unit (line units order)
    def_losses: np.ndarray      # per defender unit (line units order)
    def_units: np.ndarray       # the defender line units, in the order of def_losses
    def_threat: np.ndarray      # engagement-weighted local force ratio each defender line unit faces
    infiltrators: np.ndarray    # attacker presence x infiltration mix per contact cell (0..~2)
    cells: np.ndarray           # (n, 2) the contact cells fought over, in the order of the arrays above


@dataclass(frozen=True)
class Party:
    """One side's units in an assault, in the role it plays there (attacking or defending)."""

    units: np.ndarray                  # the units' indices
    engaged: np.ndarray                # (units, cells) engaged personnel
    power: np.ndarray                  # combat power per engaged person, per unit, in this role
    cell_factor: np.ndarray            # per cell, the multiplier of the side's power there
    fire: float                        # the side's fire power on a cell's width of front today
    casualty_rate: float               # Dupuy's base casualty rate of the role (attacker or defender)


@dataclass(frozen=True)
class Assault:
    """The one combat kernel's result at a set of cells."""

    attack_power: np.ndarray           # per cell
    defence_power: np.ndarray
    ratio: np.ndarray                  # attacking over defending power
    hazard: np.ndarray                 # daily hazard that the attacking party wins the cell (before kill zones)
    presence: np.ndarray               # per cell: the attacking party's engaged personnel over an assault party (0..1)
    attacker_losses: np.ndarray        # per unit of the attacking party (before the cap at half its personnel)
    defender_losses: np.ndarray        # per unit of the defending party
    attacker_at_cells: np.ndarray      # the attacking party's engaged personnel per cell


def assault(model, attacking: Party, defending: Party, cells: np.ndarray, massing_penalty: float = 0.0) -> Assault:
    """The combat kernel (SOURCES.md s.11 "Force ratio and attrition"; Dupuy, SOURCES.md s.7):
    power at each cell, the force ratio, the attacking party's hazard of taking the cell
    and both parties' casualties, booked on the units (each loses at most half its
    personnel a day). Ground combat (:func:`fight`) and the defender's counter-attacks
    (:func:`counter_offensive`) call it with the sides' roles swapped. ``massing_penalty`` (the kill
    zone's penalty on massed assaults times the enemy's drone share, docs/ODD.md 7.19) divides the
    ratio the hazard sees. Compiled: :func:`sim.model.assault.assault`."""
    cb = model.spec.combat
    eff = model.effect
    f = model.forces
    rule = (cb.advance_max_per_day, cb.advance_half_ratio, cb.advance_steepness, cb.modern_casualty_factor,
            model.min_attack_party, massing_penalty)
    return Assault(*kernel.assault(
        attacking.units, attacking.engaged, attacking.power, attacking.cell_factor, attacking.fire,
        attacking.casualty_rate, defending.units, defending.engaged, defending.power, defending.cell_factor,
        defending.fire, defending.casualty_rate, cells, model.mobility_cell, eff.mobility, model.casualty_cell,
        eff.casualties, rule, f.personnel, f.casualties, f.side, model.losses_today))


def attack_power(model, idx: np.ndarray) -> np.ndarray:
    """Power per engaged person of units in the attacking role: kind, cohesion, supply, the weather's attack
    factor; the supply factor is ``supply_floor + (1 - supply_floor) x supply`` (:func:`glue.attack_powers`)."""
    f = model.forces
    return glue.attack_powers(idx, model.kind_attack, f.kind, f.cohesion, f.supply, model.spec.combat.supply_floor,
                              model.effect.attack)


def defence_power(model, idx: np.ndarray, posture: np.ndarray) -> np.ndarray:
    """Power per engaged person of units in the defending role: kind, posture (a factor per unit),
    cohesion, supply (:func:`glue.defence_powers`)."""
    f = model.forces
    return glue.defence_powers(idx, model.kind_defence, f.kind, posture, f.cohesion, f.supply,
                               model.spec.combat.supply_floor)


def engaged(model, idx: np.ndarray, sigma_km: np.ndarray, cxy: np.ndarray) -> np.ndarray:
    """Engaged personnel of units at cells (:func:`engagement` on the units' positions, compiled)."""
    f = model.forces
    return kernel.engagement(idx, f.x, f.y, f.personnel, sigma_km, cxy, model.grid.cell_km)


def _attacker_sigma(model, idx: np.ndarray) -> np.ndarray:
    return np.full(idx.size, model.spec.attacker.concentration_km)


def fight(model, day: int) -> ContactResult | None:
    """The day's ground combat at every contact cell (schedule step 5a): the attacker attacks.

    Local combat power of a side at a cell is the sum over its units of engaged
    personnel x kind factor x cohesion x supply factor (x posture, terrain and
    fortification for the defender; x the weather's attack factor for the attacker),
    plus the side's fire power per km (:func:`assault`). The ratio sets the assault
    hazard and both sides' casualty rates; thin defenders leave gaps where
    infiltration rises, more so under fog and cloud.
    """
    from sim.model.agents import ATTACKER_SIDE, DEFEND, DEFENDER_SIDE

    cells = model.contact_cells
    if len(cells) == 0:
        return None
    cb = model.spec.combat
    f = model.forces
    cxy, cell_km = model.contact_xy, model.grid.cell_km
    att = np.flatnonzero(f.in_line(ATTACKER_SIDE))
    dfd = np.flatnonzero(f.in_line(DEFENDER_SIDE))
    # a unit defending in a prepared belt is fortified; any other has its posture's factor
    posture = kernels.line_posture(dfd, f.posture, f.x, f.y, model.grid.fortification, cell_km, int(DEFEND),
                                   model.fortified_posture, model.posture_defence)
    attackers = Party(att, engaged(model, att, _attacker_sigma(model, att), cxy), attack_power(model, att),
                      np.ones(len(cells)), model.fire_power_per_km[ATTACKER_SIDE] * cell_km, cb.attacker_casualty_rate)
    defenders = Party(dfd, engaged(model, dfd, model.def_sigma[dfd], cxy), defence_power(model, dfd, posture),
                      kernel.cell_product(model.defence_cell, model.defender_boost, cells),
                      model.fire_power_per_km[DEFENDER_SIDE] * cell_km, cb.defender_casualty_rate)
    share = min(max(model.drone_share[DEFENDER_SIDE], 0.0), 1.0)
    a = assault(model, attackers, defenders, cells, model.spec.mechanisms.kill_zone.massing_penalty * share)
    return _contact_result(model, day, attackers, defenders, a, cells)


def _contact_result(model, day: int, attackers: Party, defenders: Party, a: Assault, cells: np.ndarray) -> ContactResult:
    """What the contact cells give the rest of the day: the assault's hazard with the city's
    strangulation (docs/ODD.md 7.19, mechanism 4) and the kill zone and tempo (mechanisms 1, 2),
    infiltration through the gaps spread along the line (mechanism 7), the defender's hazard of
    retaking contested cells, each defender unit's threat (compiled: :func:`sim.model.assault.contact`)."""
    sc = model.spec
    cb, mech = sc.combat, sc.mechanisms
    f = model.forces
    strangle = mech.strangulation
    bottleneck = model.supply_state.bottleneck_km if model.supply_state is not None else model.no_boost
    strangled_km = strangle.corridor_km if model.supply_state is not None else 0.0
    world = (model.kind_infiltration, model.arm_phase, model.grid.terrain, int(Terrain.URBAN),
             model.bottleneck_window // 2)
    rule = (model.grid.cell_km, cb.min_density_per_km, strangled_km, strangle.gain, mech.tempo.cycle_days,
            mech.tempo.assault_share, mech.tempo.pause_intensity, mech.small_groups.spread,
            sc.attacker.infiltration_city_bonus, cb.infiltration_per_day * model.effect.infiltration_cover,
            model.infiltration_gap_floor, cb.counterattack_max_per_day, cb.advance_half_ratio, cb.advance_steepness)
    gap, h_attack, h_inf, h_counter, infiltrators, threat = kernel.contact(
        cells, a.ratio, a.hazard, a.presence, attackers.engaged, a.attacker_at_cells, attackers.units,
        defenders.engaged, f.kind, f.arm, world, day, model.assault_kill_zone, model.infiltration_foliage,
        model.counter_kill_zone, bottleneck, model.defender_boost, rule)
    return ContactResult(a.attack_power, a.defence_power, a.ratio, gap, h_attack, h_inf, h_counter, a.attacker_losses,
                         a.defender_losses, defenders.units, threat, infiltrators, cells)


@dataclass
class CounterResult:
    """Defender counter-attacks on attacker-held cells today."""

    cells: np.ndarray       # (n, 2) attacker-held cells under counter-attack
    hazard: np.ndarray      # daily hazard that each becomes contested


def counter_offensive(model) -> CounterResult | None:
    """Defender units in the attack posture assault attacker-held cells next to them (schedule step 5b).

    The one kernel (:func:`assault`) with the roles swapped: the defender's attack power
    (kind attack factor, cohesion, supply, weather, the hold doctrine's boost) against
    the attacker's hasty defence (Dupuy 1.3) on its terrain; the hazard turns an
    attacker-held cell contested, from where the ordinary counter hazard can retake it.
    """
    from sim.model.agents import ATTACK, ATTACKER_SIDE, DEFENDER_SIDE

    f = model.forces
    dfd = np.flatnonzero(f.side_mask(DEFENDER_SIDE) & (f.posture == ATTACK))
    if dfd.size == 0:
        return None
    cells = model.defender_front_cells()
    if len(cells) == 0:
        return None
    cxy = model.cell_xy(cells)
    sig = model.def_sigma[dfd]
    near = kernels.within_reach(f.x[dfd], f.y[dfd], 3 * sig, cxy)  # cells within 3 sigma of an attacking unit
    if not near.any():
        return None
    cells, cxy = cells[near], cxy[near]
    cb = model.spec.combat
    cell_km = model.grid.cell_km
    att = np.flatnonzero(f.in_line(ATTACKER_SIDE))
    counter_attackers = Party(dfd, engaged(model, dfd, sig, cxy), attack_power(model, dfd),
                              kernel.cell_values(model.defender_boost, cells, 1.0),
                              model.fire_power_per_km[DEFENDER_SIDE] * cell_km, cb.attacker_casualty_rate)
    holders = Party(att, engaged(model, att, _attacker_sigma(model, att), cxy),
                    defence_power(model, att, np.full(att.size, cb.posture_defence["hasty"])),
                    kernel.terrain_values(model.terrain_defence, model.grid.terrain, cells),
                    model.fire_power_per_km[ATTACKER_SIDE] * cell_km, cb.defender_casualty_rate)
    a = assault(model, counter_attackers, holders, cells)
    return CounterResult(cells, a.hazard * model.counter_kill_zone)
