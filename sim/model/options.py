"""The defender's options as doctrine (SOURCES.md s.11 "Options as doctrine"; scenario ``option.kind``).

* ``hold``: defend in place; counter-attack the flanks when the corridor narrows
  (:func:`sim.model.doctrine.defender_orders`); new routes relieve fire control
  on the roads (:mod:`sim.model.logistics`).
* ``withdraw``: when the trigger day comes, or earlier when the city's corridor
  is narrower than ``trigger_corridor_km`` or the garrison's supply falls below
  ``trigger_supply``, every defender unit within ``garrison_km`` of the pocket
  towns pulls back **along roads** to the nearest town of ``destination``. The
  units nearest the front, ``rearguard_share`` of the garrison's personnel, stay
  in the delay posture for ``rearguard_days`` and then follow. Columns on the
  move lose ``column_drone_loss_per_day`` of their personnel per day at full
  attacker drone availability (less in fog and cloud). Units that reach the belt
  take up prepared positions there.
* ``reinforce``: ``brigades`` brigades leave the Kursk front on ``depart_day``,
  arrive at the railheads ``transit_days`` later (in turn) and counter-attack
  toward ``counterattack_toward``. The attacker answers after
  ``attacker_response_delay_days`` with ``attacker_response_share`` of the
  personnel sent, entering at ``attacker_response_at``.
* ``kursk_pressure``: no brigades for the sector; the attacker's arrivals come
  ``attacker_arrival_delay_days`` later with ``attacker_arrival_factor`` of their
  personnel, and its replacements are cut by the same factor.
"""

from __future__ import annotations

import numpy as np
from scipy.sparse import csr_matrix
from scipy.sparse.csgraph import dijkstra

from sim.model.agents import ATTACK, DEFEND, DEFENDER_SIDE, DELAY, WITHDRAW
from sim.theater.grid import ATTACKER, DEFENDER


# ----------------------------------------------------------------- withdraw
def withdraw_orders(model) -> None:
    opt = model.spec.option.withdraw
    f = model.forces
    if model.withdraw_day is None:
        if not _withdraw_triggered(model, opt):
            return
        model.withdraw_day = model.day
        garrison = np.flatnonzero(f.side_mask(DEFENDER_SIDE)
                                  & (model.agglomeration_distance(f.x, f.y) <= float(opt.garrison_km)))
        if garrison.size == 0:
            return
        # the units nearest the front stay behind as rearguard
        order = garrison[np.argsort(model.unit_front_distance(garrison))]
        total = f.personnel[order].sum()
        cum = np.cumsum(f.personnel[order])
        rear = order[cum - f.personnel[order] < float(opt.rearguard_share) * total] if float(opt.rearguard_share) > 0 else order[:0]
        main = np.setdiff1d(order, rear)
        f.posture[rear] = DELAY
        f.posture[main] = WITHDRAW
        f.target_x[order] = np.nan  # every earlier order is void: the rearguard holds, the rest goes
        f.target_y[order] = np.nan
        model.withdrawing.update(int(i) for i in main)
        model.rearguard.update(int(i) for i in rear)
        return
    if model.rearguard and model.day - model.withdraw_day >= int(opt.rearguard_days):
        rear = np.array(sorted(model.rearguard))
        rear = rear[f.present[rear]]
        f.posture[rear] = WITHDRAW
        model.withdrawing.update(int(i) for i in rear)
        model.rearguard.clear()


def _withdraw_triggered(model, opt) -> bool:
    if model.day >= int(opt.trigger_day):
        return True
    state = model.supply_state
    if state is not None and state.corridor_km < float(opt.trigger_corridor_km):
        return True
    f = model.forces
    g = np.flatnonzero(f.side_mask(DEFENDER_SIDE) & (model.agglomeration_distance(f.x, f.y) <= float(opt.garrison_km)))
    if g.size and (f.supply[g] * f.personnel[g]).sum() / max(f.personnel[g].sum(), 1e-9) < float(opt.trigger_supply):
        return True
    return False


def road_distance_field(model, destinations: np.ndarray) -> np.ndarray:
    """Road distance (km) from every road cell not held by the attacker to the nearest destination cell.

    Dijkstra over the 4-connected graph of road cells (scipy.sparse.csgraph); cells off the
    road network or beyond attacker-held road are infinite.
    """
    g = model.grid
    open_road = (g.road > 0) & (model.control != ATTACKER)
    idx = -np.ones(g.shape, dtype=np.int64)
    cells = np.argwhere(open_road)
    idx[cells[:, 0], cells[:, 1]] = np.arange(len(cells))
    rows, cols = [], []
    for dr, dc in ((0, 1), (1, 0)):
        a = open_road[: g.rows - dr, : g.cols - dc] & open_road[dr:, dc:]
        r, c = np.nonzero(a)
        rows.append(idx[r, c])
        cols.append(idx[r + dr, c + dc])
    rows, cols = np.concatenate(rows), np.concatenate(cols)
    n = len(cells)
    graph = csr_matrix((np.full(rows.size, g.cell_km), (rows, cols)), shape=(n, n))
    dest = idx[destinations[:, 0], destinations[:, 1]]
    dest = dest[dest >= 0]
    field = np.full(g.shape, np.inf)
    if dest.size == 0 or n == 0:
        return field
    dist = dijkstra(graph, directed=False, indices=dest, min_only=True)
    field[cells[:, 0], cells[:, 1]] = dist
    return field


def move_withdrawing(model) -> None:
    """Withdrawing units move along roads toward the nearest destination; arrived units dig in."""
    if not model.withdrawing:
        return
    f = model.forces
    g = model.grid
    units = np.array(sorted(i for i in model.withdrawing if f.present[i]), dtype=int)
    model.withdrawing.intersection_update(int(i) for i in units)
    if units.size == 0:
        return
    field = road_distance_field(model, model.withdraw_destination_cells)
    speed = float(model.spec.attacker.move_km_per_day) * model.effect.mobility
    reachable = np.isfinite(field)
    for i in units:
        r, c = model.cell_of_xy(f.x[i], f.y[i])
        budget = speed
        if not reachable[r, c]:
            x, y = model.nearest_cell_xy(f.x[i], f.y[i], reachable)
            if x is None:
                continue
            step = min(budget, float(np.hypot(x - f.x[i], y - f.y[i])))
            frac = step / max(np.hypot(x - f.x[i], y - f.y[i]), 1e-9)
            f.x[i] += frac * (x - f.x[i])
            f.y[i] += frac * (y - f.y[i])
            budget -= step
            r, c = model.cell_of_xy(f.x[i], f.y[i])
            if not reachable[r, c]:
                continue
        steps = int(2 * budget / g.cell_km)  # on the road at twice the pace
        for _ in range(steps):
            if field[r, c] <= 0:
                break
            best = (r, c)
            for dr, dc in ((0, 1), (1, 0), (0, -1), (-1, 0)):
                rr, cc = r + dr, c + dc
                if 0 <= rr < g.rows and 0 <= cc < g.cols and field[rr, cc] < field[best]:
                    best = (rr, cc)
            if best == (r, c):
                break
            r, c = best
        f.x[i], f.y[i] = (c + 0.5) * g.cell_km, (r + 0.5) * g.cell_km
        if field[r, c] <= 0 or model.control[r, c] == DEFENDER and model.near_destination[r, c]:
            # take up a position of its own in the belt, not on top of the columns already there
            others = [(f.x[j], f.y[j]) for j in model.withdrawn_units if f.present[j]]
            x, y = model.nearest_cell_xy(f.x[i], f.y[i], model.control == DEFENDER, avoid=others,
                                         min_sep=0.5 * float(model.spec.combat.frontage_km["brigade"]))
            if x is not None:
                f.x[i], f.y[i] = x, y
            f.target_x[i] = f.target_y[i] = np.nan
            f.posture[i] = DEFEND
            model.withdrawing.discard(int(i))
            model.withdrawn_units.add(int(i))
            model.withdrawn_personnel += f.personnel[i]


def destination_cells(model, places) -> tuple[np.ndarray, np.ndarray]:
    """Road cells within 2 km of each destination town, and that 2-km neighbourhood as a mask."""
    g = model.grid
    X, Y = model._X, model._Y
    near = np.zeros(g.shape, bool)
    for p in places:
        x, y = model.xy_of_place(p)
        near |= np.hypot(X - x, Y - y) <= 2.0
    cells = np.argwhere(near & (g.road > 0))
    if len(cells) == 0:
        cells = np.argwhere(near)
    return cells, near


# ----------------------------------------------------------------- counter-attacks
def counterattack_orders(model) -> None:
    """Defender units in the attack posture head for the front nearest their objective."""
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

