"""Movement and control changes (schedule step 6).

* A contact cell the attacker wins goes one step: defender-held -> contested,
  contested -> attacker-held. A contested cell the defender wins back returns
  to defender-held. Under fog and cloud, infiltration groups also appear in
  urban cells up to ``infiltration_depth_km`` behind the line (seed 002).
* A contested cell with no defender-held neighbour left falls to the attacker.
* Defender units whose cell is lost fall back to the nearest defender-held cell.
* Every unit with a destination (attackers heading for their arm's objective,
  committed reserves, withdrawing columns) moves up to its speed toward it:
  ``move_km_per_day`` x the weather's mobility, on roads at double speed.
"""

from __future__ import annotations

import numpy as np

from sim.model import mechanisms
from sim.model import kernels
from sim.model.kernels import border_cells
from sim.model.agents import ATTACKER, ATTACKER_SIDE, CONTESTED, DEFENDER, DEFENDER_SIDE, WITHDRAW
from sim.model.combat import ContactResult, CounterResult, capture_probability

from sim.model.agents import ATTACKER_INT as _ATT, CONTESTED_INT as _CON, DEFENDER_INT as _DEF


def change_control(model, result: ContactResult | None, counter: CounterResult | None = None) -> int:
    """Apply today's captures; returns the number of cells that changed hands."""
    control = model.control
    changed = 0
    if counter is not None:
        u = model.rng.random(len(counter.cells))
        hit = u < capture_probability(counter.hazard)
        control[counter.cells[hit, 0], counter.cells[hit, 1]] = CONTESTED
        changed += int(hit.sum())
    if result is not None:
        # won: defender-held -> contested -> attacker-held; contested cells not won may be retaken
        u = model.rng.random((2, len(model.contact_cells)))
        changed += kernels.contact_captures(
            control, model.contact_cells, u, capture_probability(result.attack_hazard + result.infiltration_hazard),
            capture_probability(result.counter_hazard), _DEF, _CON, _ATT)
    changed += _deep_infiltration(model, result)
    changed += _run_through_gaps(model, result)
    changed += _seal_wedges(model)
    changed += _collapse_isolated_contested(model)
    return changed


def _seal_wedges(model) -> int:
    """Defender reserves cut off and retake thin wedges of attacker ground (docs/ODD.md 7.19, mechanism 3).

    Candidates: attacker-held cells of the active sector touching defender-held ground,
    and contested cells, on open ground (infiltrators in a town's buildings are not
    rooted out this way: Pokrovsk, SOURCES.md s.9). A candidate whose wedge support
    (:func:`mechanisms.wedge_support`) is below ``sealing.min_support`` is retaken one
    step (attacker-held -> contested -> defender-held) with the hazard of
    :func:`mechanisms.sealing_hazard`, less where the attacker's drones fly.
    """
    seal = model.spec.mechanisms.sealing
    if seal.min_support <= 0 or seal.retake_per_day <= 0:
        return 0
    control = model.control
    # active & open_ground & ((attacker-held & touches(defender-held)) | contested), in np.argwhere order
    cells = border_cells(control, model.open_active, _ATT, _DEF, True, _CON)
    if len(cells) == 0:
        return 0
    radius = int(round(seal.radius_km / model.grid.cell_km))
    r, c = cells[:, 0], cells[:, 1]
    # mechanisms.wedge_support read at the candidates (box_mean_at: its square means, only the rows needed)
    support = (kernels.box_mean_at(control, _ATT, radius, r, c) if radius > 0
               else mechanisms.wedge_support(control == ATTACKER, radius)[r, c])
    hazard = mechanisms.sealing_hazard(support, seal.min_support, seal.retake_per_day,
                                       model.counter_kill_zone)
    # a hit cell steps back: attacker-held -> contested -> defender-held
    return kernels.retake_cells(control, cells, model.rng.random(len(cells)), capture_probability(hazard), _ATT, _CON, _DEF)


def _run_through_gaps(model, result: ContactResult | None) -> int:
    """Small groups run through an all but unmanned stretch of the line into its rear (docs/ODD.md 7.19, mechanism 8).

    At each of the morning's contact cells a run starts with the hazard of
    :func:`mechanisms.run_hazard` (the gap, the infiltrators there, the leaves). It goes
    straight into the rear (:func:`mechanisms.run_path`) over defender-held open ground of the
    active sector for up to ``runs.depth_km``, and ends short of a town or of the first cell
    within ``runs.blocked_km`` of a defender unit; its cells become attacker-held. The wedge it
    leaves is thin, so mechanism 3 cuts it off and retakes it.
    """
    runs = model.spec.mechanisms.runs
    if runs.per_day <= 0 or result is None or len(result.cells) == 0:
        return 0
    hazard = mechanisms.run_hazard(result.infiltrators, result.gap, runs.min_gap, runs.per_day,
                                   model.infiltration_foliage)
    started = result.cells[model.rng.random(len(result.cells)) < capture_probability(hazard)]
    if len(started) == 0:
        return 0
    control = model.control
    passable = model.active & model.open_ground & (control == DEFENDER)
    f = model.forces
    dfd = np.flatnonzero(f.side_mask(DEFENDER_SIDE) & f.present)
    steps = int(round(runs.depth_km / model.grid.cell_km))
    changed = 0
    for start in started[model.open_ground[started[:, 0], started[:, 1]]]:
        path = np.array(mechanisms.run_path(start, model.dist_to_enemy_km, passable, steps))
        xy = model.cell_xy(path)
        near = np.hypot(xy[:, None, 0] - f.x[None, dfd], xy[:, None, 1] - f.y[None, dfd]).min(axis=1, initial=np.inf)
        blocked = np.flatnonzero(near < runs.blocked_km)
        path = path[: blocked[0]] if blocked.size else path
        if len(path):
            control[path[:, 0], path[:, 1]] = ATTACKER
            passable[path[:, 0], path[:, 1]] = False
            changed += len(path)
    return changed


def _deep_infiltration(model, result: ContactResult | None) -> int:
    """Infiltration groups slipping into towns behind the line under cover (seed 002).

    Only under cover (weather ``infiltration_cover`` above 1), only into urban cells
    within ``infiltration_depth_km`` of the line, and only where infiltrators are at
    the nearest contact cell: the hazard is ``infiltration_per_day x (cover - 1) x
    infiltration_city_bonus x infiltrators x infiltration_gap_floor x exp(-d / depth)``:
    the cover beyond a clear day's, through a manned line (the gap floor), decaying
    with depth.
    """
    sc = model.spec
    cover = model.effect.infiltration_cover
    depth = sc.combat.infiltration_depth_km
    if cover <= 1.0 or depth <= 0 or result is None or len(model.contact_cells) == 0:
        return 0
    cand = model.deep_candidates()
    if len(cand) == 0:
        return 0
    u = model.rng.random(len(cand))
    factor = sc.combat.infiltration_per_day * (cover - 1.0) * sc.attacker.infiltration_city_bonus
    return kernels.deep_infiltration(model.control, cand, model.dist_to_enemy_km, model.contact_xy,
                                     result.infiltrators, u, factor, model.infiltration_gap_floor, depth,
                                     model.grid.cell_km, _CON)


def _collapse_isolated_contested(model) -> int:
    """A contested cell with no defender-held 4-neighbour falls to the attacker."""
    return kernels.collapse_isolated(model.control, _CON, _DEF, _ATT)


def clear_empty_pockets(model) -> int:
    """Cut-off defender ground with no defender unit in it is the attacker's (nobody holds it)."""
    state = model.supply_state
    if state is None or not state.pocket.any():
        return 0
    f = model.forces
    r, c = model.cells_of(np.flatnonzero(f.side_mask(DEFENDER_SIDE)))
    # the pockets' 4-connected parts (not attacker-held) with no defender unit in them
    return kernels.clear_unmanned(state.pocket, model.control, _ATT, np.column_stack((r, c)).astype(np.int64))


def displace_defenders(model) -> None:
    """Defender units standing on lost ground fall back toward friendly lines.

    A displaced unit goes to the nearest defender-held cell still linked to a
    source, if one lies within ``fallback_km``; so does a unit in a pocket that
    small (it breaks out). Only a unit farther than that from friendly lines
    stays cut off.
    """
    f = model.forces
    idx = np.flatnonzero(f.side_mask(DEFENDER_SIDE))
    if idx.size == 0:
        return
    r, c = model.cells_of(idx)
    state = model.supply_state
    lost = model.control[r, c] != DEFENDER
    cut_off = f.in_pocket[idx] if state is not None else np.zeros(idx.size, bool)
    if not (lost | cut_off).any():
        return
    held = model.control == DEFENDER
    linked = held & ~state.pocket if state is not None else held
    reach = model.spec.defender.fallback_km
    for i, was_lost in zip(idx[lost | cut_off], lost[lost | cut_off]):
        x, y = model.nearest_cell_xy(f.x[i], f.y[i], linked)
        if x is not None and np.hypot(x - f.x[i], y - f.y[i]) <= reach:
            f.x[i], f.y[i] = x, y          # falls back, or breaks out of a small pocket
            f.in_pocket[i] = False
        elif was_lost:
            x, y = model.nearest_cell_xy(f.x[i], f.y[i], held)
            if x is not None:
                f.x[i], f.y[i] = x, y


def move_toward_targets(model) -> None:
    """Units with a destination move toward it at their speed, staying on their own side's ground
    (:func:`sim.model.kernels.move_units`)."""
    f = model.forces
    moving = f.present & np.isfinite(f.target_x) & (f.posture != WITHDRAW)
    if not moving.any():
        return
    speed = model.spec.attacker.move_km_per_day * model.effect.mobility
    kernels.move_units(f.x, f.y, f.target_x, f.target_y, moving, f.side == ATTACKER_SIDE, model.control, _ATT, _DEF,
                       model.grid.road, speed, model.grid.cell_km)
