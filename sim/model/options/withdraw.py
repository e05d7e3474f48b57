"""Withdraw: the garrison pulls back along roads to the next belt, a rearguard delaying behind it.

Scenario ``option.withdraw`` (docs/ODD.md A.11 and 7.12; SOURCES.md s.11 "Options as doctrine"):
when the trigger day comes, or earlier when the city's corridor is narrower than
``trigger_corridor_km`` or the garrison's supply falls below ``trigger_supply``, every
defender unit within ``garrison_km`` of the pocket towns pulls back **along roads** to
the nearest town of ``destination``. The units nearest the front, ``rearguard_share`` of
the garrison's personnel, stay in the delay posture for ``rearguard_days`` and then
follow. Columns on the move lose ``column_drone_loss_per_day`` of their personnel per day
at full attacker drone availability (less in fog and cloud). Units that reach the belt
take up prepared positions there.
"""

from __future__ import annotations

import numpy as np
from scipy.sparse import csr_matrix
from scipy.sparse.csgraph import dijkstra

from sim.model.agents import ATTACKER, ATTACKER_SIDE, DEFEND, DEFENDER, DEFENDER_SIDE, DELAY, WITHDRAW
from sim.model.options.base import Option
from sim.vocab import OptionKind


class Withdraw(Option):
    kind = OptionKind.WITHDRAW

    def __init__(self, model, settings) -> None:
        super().__init__(model, settings)
        self.destination_cells, self.near_destination = destination_cells(model, settings.destination)
        self.day: int | None = None          # the day the withdrawal started
        self.withdrawing: set[int] = set()
        self.rearguard: set[int] = set()
        self.withdrawn_units: set[int] = set()  # reached the belt; not sent back
        self.withdrawn_personnel = 0.0

    def held_back(self) -> set[int]:
        return self.withdrawn_units

    def report(self) -> dict[str, float]:
        return {"defenders_withdrawn": float(self.withdrawn_personnel)}

    # ------------------------------------------------------------- step 4
    def under_fire(self, model) -> None:
        """Withdrawing columns on the move are exposed to the attacker's drones (less in fog and cloud)."""
        f = model.forces
        moving = np.flatnonzero(f.present & (f.posture == WITHDRAW))
        nominal = model.spec.drones.attacker.sorties_per_day
        if moving.size == 0 or nominal <= 0:
            return
        share = model.sorties_today[ATTACKER_SIDE] / nominal
        losses = f.personnel[moving] * self.settings.column_drone_loss_per_day * share
        model.record_losses(moving, losses)
        model.drone_casualties[DEFENDER_SIDE] += losses.sum()

    # ------------------------------------------------------------- step 6
    def march(self, model) -> None:
        """Withdrawing units move along roads toward the nearest destination; arrived units dig in."""
        if not self.withdrawing:
            return
        f = model.forces
        units = np.array(sorted(i for i in self.withdrawing if f.present[i]), dtype=int)
        self.withdrawing.intersection_update(int(i) for i in units)
        if units.size == 0:
            return
        field = road_distance_field(model, self.destination_cells)
        speed = model.spec.attacker.move_km_per_day * model.effect.mobility
        reachable = np.isfinite(field)
        for i in units:
            r, c, budget = _onto_the_road(model, i, speed, reachable)
            if r is None:
                continue
            r, c = _down_the_road(model.grid, field, r, c, int(2 * budget / model.grid.cell_km))  # twice the pace
            f.x[i], f.y[i] = (c + 0.5) * model.grid.cell_km, (r + 0.5) * model.grid.cell_km
            if field[r, c] <= 0 or model.control[r, c] == DEFENDER and self.near_destination[r, c]:
                self._dig_in(model, i)

    def _dig_in(self, model, i: int) -> None:
        """Take up a position of its own in the belt, not on top of the columns already there."""
        f = model.forces
        others = [(f.x[j], f.y[j]) for j in self.withdrawn_units if f.present[j]]
        x, y = model.nearest_cell_xy(f.x[i], f.y[i], model.control == DEFENDER, avoid=others,
                                     min_sep=0.5 * model.spec.combat.frontage_km["brigade"])
        if x is not None:
            f.x[i], f.y[i] = x, y
        f.target_x[i] = f.target_y[i] = np.nan
        f.posture[i] = DEFEND
        self.withdrawing.discard(int(i))
        self.withdrawn_units.add(int(i))
        self.withdrawn_personnel += f.personnel[i]

    # ------------------------------------------------------------- step 8
    def decide(self, model) -> None:
        """Start the withdrawal when it is triggered; later, send the rearguard after the columns."""
        if self.day is None:
            if _triggered(model, self.settings):
                self._start(model)
            return
        f = model.forces
        if self.rearguard and model.day - self.day >= self.settings.rearguard_days:
            rear = np.array(sorted(self.rearguard))
            rear = rear[f.present[rear]]
            f.posture[rear] = WITHDRAW
            self.withdrawing.update(int(i) for i in rear)
            self.rearguard.clear()

    def _start(self, model) -> None:
        """The garrison goes; the units nearest the front, ``rearguard_share`` of it, stay behind to delay."""
        opt = self.settings
        f = model.forces
        self.day = model.day
        garrison = _garrison(model, opt)
        if garrison.size == 0:
            return
        order = garrison[np.argsort(model.unit_front_distance(garrison))]
        total = f.personnel[order].sum()
        cum = np.cumsum(f.personnel[order])
        rear = order[cum - f.personnel[order] < opt.rearguard_share * total] if opt.rearguard_share > 0 else order[:0]
        main = np.setdiff1d(order, rear)
        f.posture[rear] = DELAY
        f.posture[main] = WITHDRAW
        f.target_x[order] = np.nan  # every earlier order is void: the rearguard holds, the rest goes
        f.target_y[order] = np.nan
        self.withdrawing.update(int(i) for i in main)
        self.rearguard.update(int(i) for i in rear)


def _garrison(model, opt) -> np.ndarray:
    """Defender units within ``garrison_km`` of the pocket towns."""
    f = model.forces
    return np.flatnonzero(f.side_mask(DEFENDER_SIDE) & (model.agglomeration_distance(f.x, f.y) <= opt.garrison_km))


def _triggered(model, opt) -> bool:
    if model.day >= opt.trigger_day:
        return True
    state = model.supply_state
    if state is not None and state.corridor_km < opt.trigger_corridor_km:
        return True
    f = model.forces
    g = _garrison(model, opt)
    if g.size and (f.supply[g] * f.personnel[g]).sum() / max(f.personnel[g].sum(), 1e-9) < opt.trigger_supply:
        return True
    return False


def _onto_the_road(model, i: int, speed: float, reachable: np.ndarray):
    """A unit off the open road network first moves to its nearest reachable road cell.

    Returns the unit's cell and the distance it may still go today, or ``(None, None, 0)``
    when it cannot reach the road today."""
    f = model.forces
    r, c = model.cell_of_xy(f.x[i], f.y[i])
    budget = speed
    if reachable[r, c]:
        return r, c, budget
    x, y = model.nearest_cell_xy(f.x[i], f.y[i], reachable)
    if x is None:
        return None, None, 0.0
    step = min(budget, float(np.hypot(x - f.x[i], y - f.y[i])))
    frac = step / max(np.hypot(x - f.x[i], y - f.y[i]), 1e-9)
    f.x[i] += frac * (x - f.x[i])
    f.y[i] += frac * (y - f.y[i])
    budget -= step
    r, c = model.cell_of_xy(f.x[i], f.y[i])
    if not reachable[r, c]:
        return None, None, 0.0
    return r, c, budget


def _down_the_road(g, field: np.ndarray, r: int, c: int, steps: int) -> tuple[int, int]:
    """Up to ``steps`` cells downhill on the road distance field (4-connected); stops at a destination."""
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
    return r, c


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


def destination_cells(model, places) -> tuple[np.ndarray, np.ndarray]:
    """Road cells within 2 km of each destination town, and that 2-km neighbourhood as a mask."""
    g = model.grid
    X, Y = model.centre_x, model.centre_y
    near = np.zeros(g.shape, bool)
    for p in places:
        x, y = model.xy_of_place(p)
        near |= np.hypot(X - x, Y - y) <= 2.0
    cells = np.argwhere(near & (g.road > 0))
    if len(cells) == 0:
        cells = np.argwhere(near)
    return cells, near
