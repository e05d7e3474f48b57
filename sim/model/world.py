"""The World: what does not change within a replication, built once and frozen.

The grid's layers, the scenario's tables looked up by enum, the places the model tracks,
the attacker's arms, the weather sequence and the arms' tempo phases (both drawn at
build from their own streams). Every array is read-only (``writeable=False``): a
process that writes into the World fails loudly, in Python and in Numba alike. What
changes day by day (control, forces, supply, the day's sky and the ledger) stays with
the model (docs/ODD.md section 2; issue 14 "World and State").
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from dataclasses import dataclass

import numpy as np
from scipy import ndimage

from sim.core.seeding import substream
from sim.model.agents import ARMS, ATTACKER, CENTRE, NE, SW
from sim.model.logistics import distance_to_enemy_km
from sim.model.weather import draw_sequence, month_of_days
from sim.vocab import Arm, Posture, Terrain, UnitKind, by_code

FOUR = ndimage.generate_binary_structure(2, 1)

# each posture's defence factor, by the name of the defence it puts up (a unit gone defends nothing)
DEFENCE_OF_POSTURE = {"attack": "hasty", "defend": "prepared", "delay": "delay", "withdraw": "withdrawal",
                      "reserve": "hasty"}


@dataclass(frozen=True)
class World:
    """Constant for a replication: read by every process, written by none."""

    grid: object                        # sim.theater.grid.Grid
    front_date: dt.date                 # the date of the front the run starts from
    initial_control: np.ndarray         # control on day 0
    weather_seq: np.ndarray             # the weather state of every day (stream ``weather``)
    month_of_day: np.ndarray            # the calendar month of every day (the leafy months, mechanism 6)
    arm_phase: np.ndarray               # each arm's place in its cycle of assault and pause (stream ``tempo``)
    # cell factors (docs/ODD.md 2.2)
    active: np.ndarray                  # the active sector
    terrain_defence: np.ndarray         # by Terrain code
    defence_cell: np.ndarray
    mobility_cell: np.ndarray
    casualty_cell: np.ndarray
    deep_mask: np.ndarray               # urban cells of the active sector (infiltration)
    open_ground: np.ndarray             # where thin wedges can be sealed (docs/ODD.md 7.19)
    open_active: np.ndarray             # open ground of the active sector (the sealing candidates' ground)
    advance_from: np.ndarray            # km from the day-0 attacker-held ground
    no_boost: np.ndarray                # the defender's power factor by cell when nothing raises it
    centre_x: np.ndarray                # km, every cell's centre
    centre_y: np.ndarray
    # tables by enum (combat and kinds)
    kind_attack: np.ndarray
    kind_defence: np.ndarray
    kind_infiltration: np.ndarray
    posture_defence: np.ndarray
    fortified_posture: float
    infiltration_gap_floor: float
    min_attack_party: float
    bottleneck_window: int
    # places
    city_mask: np.ndarray
    city_zone: np.ndarray
    city_xy: tuple[float, float]
    pocket_town_masks: dict
    pocket_town_mask: np.ndarray
    town_approach: np.ndarray           # the pocket towns' urban cells and 2 km around
    assault_begun: bool                 # the run starts with the attacker in the city (mechanism 9 (d))
    pocket_town_xy: np.ndarray
    next_line_mask: np.ndarray
    source_cells: np.ndarray
    # the attacker's arms
    arm_waypoints: dict
    arm_waypoint_cells: dict
    active_arms: list


FIELDS = frozenset(f.name for f in dataclasses.fields(World))


def build_world(sc, theater, grid, seed: np.random.SeedSequence) -> World:
    """The World of one replication of a concrete scenario."""
    front_date, control = grid.initial_control(sc.start_date)
    parts = dict(grid=grid, front_date=front_date, initial_control=control,
                 weather_seq=draw_sequence(sc.weather, sc.start_date, sc.days, substream(seed, "weather")),
                 month_of_day=month_of_days(sc.start_date, sc.days + 1),
                 arm_phase=substream(seed, "tempo").uniform(0.0, 1.0, len(Arm)) * sc.mechanisms.tempo.cycle_days)
    parts |= _cell_factors(sc, grid, control)
    parts |= _tables(sc, grid)
    parts |= _places(sc, theater, grid, control, parts["active"])
    parts |= _arms(sc, theater, grid)
    for value in parts.values():
        if isinstance(value, np.ndarray):
            value.flags.writeable = False
    return World(**parts)


def place_xy(theater, grid, place) -> tuple[float, float]:
    """A named place (or a lat/lon pair) in km on the grid."""
    lat, lon = theater.place_latlon(place)
    x, y = grid.to_km(lat, lon)
    return float(x), float(y)


def _cell_factors(sc, g, control: np.ndarray) -> dict:
    cb = sc.combat
    active = g.sectors[sc.active_sector] if sc.active_sector else np.ones(g.shape, bool)
    terrain_defence = by_code(cb.terrain_defence, Terrain)
    X, Y = g.centres_km()
    return dict(
        active=active, terrain_defence=terrain_defence,
        defence_cell=terrain_defence[g.terrain] * (1.0 + cb.fortification_step * g.fortification),
        mobility_cell=by_code(cb.terrain_mobility, Terrain)[g.terrain] * np.where(g.river, cb.river_mobility, 1.0),
        casualty_cell=by_code(cb.terrain_casualties, Terrain)[g.terrain],
        deep_mask=(g.terrain == Terrain.URBAN) & active, open_ground=g.terrain != Terrain.URBAN,
        open_active=(g.terrain != Terrain.URBAN) & active,
        advance_from=distance_to_enemy_km(control != ATTACKER, g.cell_km),  # the distance transform, in km
        no_boost=np.ones(g.shape), centre_x=X, centre_y=Y)


def _tables(sc, g) -> dict:
    cb = sc.combat
    pdef = cb.posture_defence
    return dict(
        kind_attack=by_code({k: v.attack for k, v in sc.kinds.items()}, UnitKind),
        kind_defence=by_code({k: v.defence for k, v in sc.kinds.items()}, UnitKind),
        kind_infiltration=by_code({k: v.infiltration for k, v in sc.kinds.items()}, UnitKind),
        posture_defence=by_code({p: pdef[DEFENCE_OF_POSTURE[p]] if p in DEFENCE_OF_POSTURE else 0.0
                                 for p in Posture.labels()}, Posture),
        fortified_posture=pdef["fortified"],
        infiltration_gap_floor=cb.infiltration_gap_floor, min_attack_party=cb.min_attack_party,
        bottleneck_window=max(1, int(round(2 * sc.logistics.route_window_km / g.cell_km)) | 1))


def _places(sc, theater, g, control: np.ndarray, active: np.ndarray) -> dict:
    out = sc.outcomes
    city_mask = g.urban_mask(out.city)
    towns = {town: g.urban_mask(town) for town in out.pocket_towns}
    return dict(
        city_mask=city_mask, city_zone=ndimage.binary_dilation(city_mask, structure=FOUR),
        city_xy=place_xy(theater, g, out.city), pocket_town_masks=towns,
        pocket_town_mask=np.logical_or.reduce(list(towns.values())),
        # the towns' approaches: their urban cells and 2 km around (ours, L), which a centre group
        # that does not storm keeps out of (docs/ODD.md 7.19, mechanism 9)
        town_approach=ndimage.binary_dilation(np.logical_or.reduce(list(towns.values())), structure=FOUR,
                                         iterations=max(1, int(round(2.0 / g.cell_km)))),
        # a run that starts with the attacker in the city starts in its assault (docs/ODD.md 7.19, mechanism 9 (d))
        assault_begun=bool((control[city_mask] == ATTACKER).any()),
        pocket_town_xy=np.array([place_xy(theater, g, t) for t in out.pocket_towns]),
        next_line_mask=g.belts[out.next_line] & active & (control != ATTACKER),
        source_cells=np.array([g.cell_of_place(p) for p in sc.logistics.sources], dtype=int).reshape(-1, 2))


def _arms(sc, theater, g) -> dict:
    arms = sc.attacker.arms
    return dict(
        arm_waypoints={a: [place_xy(theater, g, p) for p in arms[a.label].waypoints] for a in ARMS},
        arm_waypoint_cells={a: [g.cell_of_place(p) for p in arms[a.label].waypoints] for a in ARMS},
        active_arms={2: [NE, SW, CENTRE], 1: [NE, CENTRE], 0: [CENTRE]}[sc.attacker.pincer_arms])
