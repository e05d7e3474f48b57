"""Logistics: supply network, fire control over roads, pockets and the corridor.

Once a day (SOURCES.md s.11 "Supply and encirclement"):

* **Pockets.** Ground the defender can move through (defender-held or
  contested) is labelled into 4-connected components (``scipy.ndimage.label``);
  a component that holds no supply source is a pocket: only attacker-held
  ground closes a ring, and a diagonal gap between two attacker cells does not
  let supply through.
* **Corridor width.** The distance from every defender cell to the nearest
  cell not held by the defender (Euclidean distance transform) gives, by
  thresholding at increasing half-widths and labelling again, the widest path
  from each cell to a source: its bottleneck (all thresholds at once, in one pass
  over the grid: ``kernels.widest_level``). The city's own corridor is the
  bottleneck of its urban zone, reported as a width ``2 t - cell`` (a path one
  cell wide is one cell wide).
* **Fire control.** The attacker's drones and guns reach ``range_km`` behind the
  front. A unit whose route's bottleneck half-width is below that range is
  exposed: its supply target falls by ``interdiction x intensity x exposure``,
  before any road is physically cut. New routes (seed 000) relieve part of it
  after ``new_route_days`` of pressure.
* **Supply.** Units move a share of the way to their target each day; inside a
  pocket supply runs down by ``pocket_supply_loss_per_day``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import ndimage

from sim.model import kernels
from sim.model.agents import ATTACKER, ATTACKER_INT, ATTACKER_SIDE, DEFENDER, DEFENDER_SIDE

# half-widths (km) at which the corridor is probed; widths above the last are "wide open"
HALF_WIDTHS_KM = (1.0, 1.5, 2.0, 2.5, 3.0, 4.0, 5.0, 6.0, 8.0, 10.0, 12.5, 15.0)


@dataclass
class SupplyState:
    pocket: np.ndarray              # bool grid: defender cells cut off from every source
    bottleneck_km: np.ndarray       # float grid: half-width of the widest path to a source (0 in pockets)
    corridor_km: float              # width of the city's corridor (0 when cut)
    city_in_pocket: bool
    road_served: np.ndarray         # bool grid: within reach of a road still linked to a source
    pressure_days: int = 0          # days the city's corridor has been under fire control


def network(control_def: np.ndarray, passable: np.ndarray, dist_km: np.ndarray, sources: np.ndarray,
            city_zone: np.ndarray, road: np.ndarray, cell_km: float, road_reach_cells: int = 2
            ) -> tuple[np.ndarray, np.ndarray, float, bool, np.ndarray]:
    """Pockets, bottleneck field, city corridor width and road service (pure; arrays in, arrays out).

    ``passable``: ground the defender can still move through (defender-held or contested);
    only attacker-held ground closes a ring. ``dist_km``: distance from each defender-held
    cell to the nearest cell it does not hold (contested cells narrow the corridor).

    The corridor probe at half-width ``t`` is the set of cells joined to a source through
    defender-held cells at least ``t`` from the enemy (the city's zone always passes). A
    cell's probe level is how many of the half-widths its own distance reaches; the widest
    path to a source (``kernels.widest_level``) then gives, in one pass, the highest probe
    that reaches each cell: its bottleneck.
    """
    widths = np.array([t for t in HALF_WIDTHS_KM if t >= cell_km])
    pocket, bottleneck, top, zone_any, zone_linked, road_served = kernels.supply_network(
        control_def, passable, dist_km, city_zone, road, sources, widths, road_reach_cells, cell_km)
    corridor_half = 0.0
    if zone_any and zone_linked:
        corridor_half = cell_km / 2
        if top > 0:
            corridor_half = float(widths[top - 1])
    corridor_km = max(0.0, 2 * corridor_half - cell_km) if corridor_half > 0 else 0.0
    if corridor_half == cell_km / 2:
        corridor_km = cell_km  # linked only through a path one cell wide
    city_in_pocket = bool(zone_any and not zone_linked)

    return pocket, bottleneck, corridor_km, city_in_pocket, road_served


def distance_to_enemy_km(control_def: np.ndarray, cell_km: float) -> np.ndarray:
    """Distance (km) from each defender-held cell to the nearest cell the defender does not hold
    (the Euclidean distance transform; 0 off the defender's ground)."""
    if control_def.all():  # no enemy on the map: scipy's convention
        return ndimage.distance_transform_edt(control_def) * cell_km
    return kernels.edt_km(control_def, cell_km)


def update(model) -> SupplyState:
    """The day's supply network and every unit's supply level (schedule step 3b)."""
    state = _network_today(model)
    rng_km = model.spec.drones.attacker.range_km
    relief = _new_route_relief(model, state, model.supply_state, rng_km)
    _defender_supply(model, state, rng_km, relief)
    _attacker_supply(model)
    model.supply_state = state
    return state


def _network_today(model) -> SupplyState:
    """Pockets, bottlenecks, the city's corridor and road service on today's control; the distance
    from every cell to ground the defender does not hold (``model.dist_to_enemy_km``)."""
    lg = model.spec.logistics
    control_def = model.control == DEFENDER
    passable = model.control != ATTACKER
    dist_km = distance_to_enemy_km(control_def, model.grid.cell_km)
    sources = model.source_cells[control_def[model.source_cells[:, 0], model.source_cells[:, 1]]]
    if len(sources) == 0:
        pocket = control_def.copy()
        state = SupplyState(pocket, np.zeros(control_def.shape), 0.0, True, np.zeros_like(control_def))
    else:
        pocket, bottleneck, corridor, city_pocket, road_served = network(
            control_def, passable, dist_km, sources, model.city_zone, model.grid.road, model.grid.cell_km,
            max(1, int(round(lg.road_reach_km / model.grid.cell_km))))
        state = SupplyState(pocket, bottleneck, corridor, city_pocket, road_served)
    model.dist_to_enemy_km = dist_km
    return state


def _new_route_relief(model, state: SupplyState, prev: SupplyState | None, rng_km: float) -> float:
    """Days the city's corridor has been under fire control (kept in ``state``), and the share of the
    interdiction that new routes relieve after them (seed 000)."""
    lg = model.spec.logistics
    city_exposure = np.clip(1.0 - (state.corridor_km / 2) / rng_km, 0.0, 1.0)
    state.pressure_days = (prev.pressure_days + 1) if (prev is not None and city_exposure > 0.5) else (
        prev.pressure_days if prev is not None else 0)
    return lg.new_route_relief * min(1.0, state.pressure_days / max(lg.new_route_days, 1e-9))


def _defender_supply(model, state: SupplyState, rng_km: float, relief: float) -> None:
    """Defenders: cut off in a pocket, or supplied toward a target set by road service and fire control
    (:func:`sim.model.kernels.defender_supply`)."""
    sc = model.spec
    lg = sc.logistics
    f = model.forces
    d = np.flatnonzero(f.side_mask(DEFENDER_SIDE))
    if d.size == 0:
        return
    interdiction = sc.drones.attacker.interdiction * model.fire_intensity[ATTACKER_SIDE]
    kernels.defender_supply(d, f.x, f.y, f.in_pocket, f.supply, model.control, ATTACKER_INT, state.pocket,
                            state.bottleneck_km, model.bottleneck_window // 2, state.road_served, model.grid.cell_km,
                            rng_km, interdiction, relief, lg.offroad_supply * model.effect.mobility,
                            lg.pocket_supply_loss_per_day, lg.resupply_per_day)


def _attacker_supply(model) -> None:
    """Attackers: their routes run back to the south-east, outside the grid's supply model; the
    defender's drones interdict them at a fixed exposure (logistics.attacker_route_exposure)."""
    sc = model.spec
    lg = sc.logistics
    f = model.forces
    a = np.flatnonzero(f.side_mask(ATTACKER_SIDE))
    if a.size:
        target = 1.0 - (sc.drones.defender.interdiction * model.fire_intensity[DEFENDER_SIDE]
                        * lg.attacker_route_exposure)
        f.supply[a] += lg.resupply_per_day * (target - f.supply[a])
