"""The Mesa model of the fight for Pokrovsk. ``step()`` is the daily schedule.

``step`` is docs/ODD.md section 3 ("Process overview and scheduling"), one line per row
of its table, in its order. The clock is Mesa's step counter: ``day`` is ``steps``, the
days fought so far; inside ``step`` the day being fought is ``steps - 1``.
"""

from __future__ import annotations

from operator import attrgetter

import mesa
import numpy as np

from sim.model import combat, commanders, doctrine, fires, logistics, movement, weather
from sim.model.options import build_option
from sim.model.world import FIELDS as WORLD_FIELDS, build_world, place_xy
from sim.model.kernels import (border_cells, cell_centres, cells_at_xy, cells_between, nearest_cell, same_cells,
                                window_max_at)
from sim.model.glue import book_losses, front_distance
from sim.model.agents import (
    ATTACK, ATTACKER_SIDE, CENTRE, DEFEND, DEFENDER_SIDE, FRONT, GONE, NE,
    NO_ARM, RESERVE, SW, Forces, Unit, UnitRecord,
)
from sim.outcomes import Recorder
from sim.scenario import Scenario, sample
from sim.theater import load_default
from sim.core.seeding import replication_seed, substream
from sim.theater import build_grid, load_theater
from sim.theater.grid import ATTACKER, DEFENDER
from sim.theater.spec import Theater
from sim.vocab import Arm, Echelon, UnitKind, Weather
from sim.model.agents import ATTACKER_INT as _ATT, CONTESTED_INT as _CON, DEFENDER_INT as _DEF


class PokrovskModel(mesa.Model):
    """The fight for the Pokrovsk-Myrnohrad agglomeration, one replication.

    Args:
        scenario: a validated :class:`~sim.scenario.Scenario`; uncertain inputs
            (distributions) are drawn from ``seed``. ``None`` runs
            ``scenarios/base.yaml``.
        seed: the replication's ``numpy.random.SeedSequence`` (or an int root
            seed, taken as replication 0 of that root). Every random draw of the
            replication comes from named streams of this seed: ``input:<path>``
            for each uncertain input, ``weather`` for the weather sequence and
            ``model`` for everything else (``self.rng``).
        theater: the scenario's theater, already loaded (the runner passes it so
            it is read once); ``None`` loads it by the scenario's ``theater`` name.
    """

    def __init__(self, scenario: Scenario | None = None, seed: np.random.SeedSequence | int | None = None,
                 theater: Theater | None = None) -> None:
        if scenario is None:
            scenario = load_default().scenario
        if seed is None or isinstance(seed, (int, np.integer)):
            seed = replication_seed(int(seed or 0), 0)
        self.seed_sequence = seed
        concrete, self.sampled = sample(scenario, seed)
        super().__init__(rng=substream(seed, "model"))
        self.spec: Scenario = concrete
        sc = concrete
        if theater is None:
            from sim.scenario import BASE_SCENARIO

            theater = load_theater(sc.theater, BASE_SCENARIO.parent)
        self.theater = theater
        self.world = build_world(sc, theater, build_grid(theater, sc.grid.cell_km), seed)  # read as model.<field>
        self.control = self.world.initial_control.copy()
        self._start_state()
        self.option = build_option(self, sc.option)              # sim/model/options/
        self.counterattack_objective = self.option.counterattack_objective(self)
        self.replacement_factor = np.array([self.option.replacement_factor(s) for s in (DEFENDER_SIDE, ATTACKER_SIDE)])
        self._start_forces()
        self.update_front()
        self.recorder = Recorder(self)
        self.running = True

    def _start_state(self) -> None:
        """What changes day by day, as it stands on day 0 (every part set here; nothing appears later)."""
        sc = self.spec
        # the sky: the day's weather and what flies in it (steps 1, 2, 4)
        self.weather_state = int(self.weather_seq[0])
        self.effect = sc.weather.effects[Weather(self.weather_state).label]
        self.sorties_today = np.zeros(2)
        self.drone_share = np.zeros(2)        # share of each side's nominal sorties flying today
        self.assault_kill_zone = 1.0          # share of the attacker's assault hazard the defender's drones leave
        self.infiltration_foliage = 1.0       # factor on the attacker's infiltration from the leaves (mechanism 6)
        self.counter_kill_zone = 1.0          # share of the defender's counter-attack hazard the attacker's drones leave
        self.fire_intensity = np.ones(2)
        self.fire_power_per_km = np.zeros(2)
        self.grounded_today = False
        # supply (step 3b)
        self.supply_state: logistics.SupplyState | None = None
        self.dist_to_enemy_km = logistics.distance_to_enemy_km(self.control == DEFENDER, self.grid.cell_km)
        # the ledger
        self.losses_today = np.zeros(2)
        self.arrived_total = np.zeros(2)
        self.captured_total = np.zeros(2)
        self.drone_casualties = np.zeros(2)   # casualties each side suffered from enemy drones
        self.surrendered_units = 0
        self.initial_personnel = np.zeros(2)
        # the commanders' state (step 8)
        self.defender_boost = self.no_boost    # the defender's power factor by cell (the option may raise it)
        self.arm_stage = {NE: 0, SW: 0, CENTRE: 0}
        self._front_of: np.ndarray | None = None  # the control grid the contact cells were found on

    def _start_forces(self) -> None:
        """Every unit of the run as a row of ``forces``; the units present on day 0 deployed as Mesa agents."""
        self.forces = Forces.from_records(self._unit_records())
        self.def_sigma = np.array([self.spec.combat.frontage_km[Echelon(e).label] / 2 for e in self.forces.echelon])
        self.agent_of: dict[int, Unit] = {}
        for i in np.flatnonzero(self.forces.arrival_day == 0):
            self.deploy(int(i), initial=True)

    # ================================================================= schedule
    def step(self) -> None:
        """One day, in the order of docs/ODD.md section 3: one line per row of its table."""
        today = self.steps - 1                               # Mesa counts the step before it runs it
        self.losses_today[:] = 0.0
        weather.set_today(self, today)                       # 1  weather
        fires.availability(self, today)                      # 2  observation and drone availability
        self.update_front()                                  # 3a front
        logistics.update(self)                               # 3b logistics: supply, fire control, pockets
        fires.fire(self)                                     # 4a fires: drones and artillery
        self.option.under_fire(self)                         # 4b the option's columns under fire
        contact = combat.fight(self, today)                  # 5a ground combat at every contact cell
        counter = combat.counter_offensive(self)             # 5b defender counter-attacks
        movement.change_control(self, contact, counter)      # 6a control changes
        movement.clear_empty_pockets(self)                   # 6b empty pockets
        movement.displace_defenders(self)                    # 6c displaced defenders fall back or break out
        movement.move_toward_targets(self)                   # 6d movement toward targets
        self.option.march(self)                              # 6e the option's own movements
        doctrine.cohesion_and_surrender(self)                # 7  cohesion, surrender of cut-off units
        doctrine.arrivals(self)                              # 8a arrivals and replacements (for day + 1)
        self.update_front()                                  # 8b front again
        commanders.defender_orders(self, contact)            # 8c defender commander
        self.option.decide(self)                             # 8d the option's orders (may overrule 8c)
        commanders.counterattack_orders(self)                # 8e counter-attackers head for the objective
        commanders.attacker_orders(self, contact)            # 8f attacker commander
        self.update_unit_agents()                            # 9a the Mesa agents follow the units
        self.recorder.record(self)                           # 9b daily metrics
        self.running = self.steps < self.spec.days

    def run(self) -> PokrovskModel:
        """Step to the scenario's last day."""
        while self.running:
            self.step()
        return self

    @property
    def day(self) -> int:
        """Days fought so far: Mesa's step counter (the one clock)."""
        return self.steps

    # ================================================================= front
    def update_front(self) -> None:
        """Contact cells in the active sector: defender-held cells touching ground the defender
        does not hold, and every contested cell (both sides are in it)."""
        control = self.control
        if self._front_of is not None and same_cells(self._front_of, control):
            return  # nothing changed hands since the last call (the evening's front is the morning's)
        self._front_of = control.copy()
        # a contested cell is always a contact: both sides are in it
        self.contact_cells = border_cells(control, self.active, _DEF, _DEF, False, _CON)
        self.front_km = len(self.contact_cells) * self.grid.cell_km
        self.contact_xy = self.cell_xy(self.contact_cells)

    def defender_front_cells(self) -> np.ndarray:
        """Attacker-held cells in the active sector that touch defender-held ground (targets of counter-attacks)."""
        return border_cells(self.control, self.active, _ATT, _DEF, True, -1)

    def agglomeration_distance(self, x, y) -> np.ndarray:
        """Distance (km) from points to the nearest pocket town's centre."""
        x, y = np.asarray(x, float), np.asarray(y, float)
        d = np.hypot(x[..., None] - self.pocket_town_xy[:, 0], y[..., None] - self.pocket_town_xy[:, 1])
        return d.min(axis=-1)

    def attacker_front_cells(self) -> np.ndarray:
        """Attacker-held cells in the active sector that touch ground the attacker does not hold."""
        return border_cells(self.control, self.active, _ATT, _ATT, False, -1)

    def deep_candidates(self) -> np.ndarray:
        """Defender-held town cells behind the contact line within infiltration depth."""
        d = self.dist_to_enemy_km
        depth = self.spec.combat.infiltration_depth_km
        return cells_between(self.deep_mask, self.control, _DEF, d, self.grid.cell_km, depth)

    def unit_front_distance(self, idx: np.ndarray) -> np.ndarray:
        """Distance (km) from each unit to the nearest contact cell (50 km when there is no contact)."""
        if len(self.contact_cells) == 0:
            return np.full(len(idx), 50.0)
        return front_distance(self.forces.x[idx], self.forces.y[idx], self.contact_xy)

    def route_width_km(self, r: np.ndarray, c: np.ndarray) -> np.ndarray:
        """Width (km) of the defenders' widest route out of each cell's neighbourhood: twice the largest
        bottleneck half-width (docs/ODD.md 7.5) within ``logistics.route_window_km`` of the cell, the
        window by which a unit's route is judged (mechanisms 4 and 9 of 7.19)."""
        return 2.0 * window_max_at(self.supply_state.bottleneck_km, r, c, self.bottleneck_window // 2)

    def city_route_km(self) -> float:
        """Width (km) of the defenders' widest route out of the city (:meth:`route_width_km` at its centre)."""
        r, c = self.cell_of_xy(*self.city_xy)
        return float(self.route_width_km(np.array([r]), np.array([c]))[0])

    def arm_objective(self, arm: int) -> tuple[float, float]:
        return self.arm_waypoints[arm][self.arm_stage[arm]]

    # ================================================================= bookkeeping
    def record_losses(self, idx: np.ndarray, losses: np.ndarray, cap_share: float = 0.0) -> None:
        """Killed and wounded: off the units' strength (at most ``cap_share`` of it when that is above 0,
        and never more than all of it), onto their casualty count (:func:`sim.model.glue.book_losses`)."""
        f = self.forces
        book_losses(np.asarray(idx, np.int64), np.asarray(losses, float), cap_share, f.personnel, f.casualties, f.side,
                    self.losses_today)

    def deploy(self, i: int, initial: bool = False) -> None:
        """A unit enters: placed at its side's nearest cell to its place, registered as a Mesa agent."""
        f = self.forces
        own = self.control == (DEFENDER if f.side[i] == DEFENDER_SIDE else ATTACKER)
        placed = [j for j in np.flatnonzero(f.present) if f.side[j] == f.side[i]]
        sep = 0.5 * self.spec.combat.frontage_km[Echelon(f.echelon[i]).label] if f.side[i] == DEFENDER_SIDE else 1.0
        x, y = self.nearest_cell_xy(f.x[i], f.y[i], own, avoid=[(f.x[j], f.y[j]) for j in placed], min_sep=sep)
        if x is None:
            f.posture[i] = GONE
            return
        f.x[i], f.y[i] = x, y
        f.present[i] = True
        f.personnel[i] = f.start_personnel[i]
        if initial:
            self.initial_personnel[f.side[i]] += f.personnel[i]
        else:
            self.arrived_total[f.side[i]] += f.personnel[i]
        self.agent_of[i] = Unit(self, i)

    def _unit_records(self) -> list[UnitRecord]:
        sc = self.spec
        records: list[UnitRecord] = []
        for side, spec in ((DEFENDER_SIDE, sc.forces.defender), (ATTACKER_SIDE, sc.forces.attacker)):
            weights = np.array([u.weight for u in spec.units for _ in range(u.count)])
            shares = weights / weights.sum()
            k = 0
            for u in spec.units:
                for n in range(u.count):
                    records.append(self._record(side, u, spec.personnel * shares[k], 0, u.count, n))
                    k += 1
            for a in spec.arrivals:
                for n in range(a.count):
                    records.append(self._record(side, a, a.personnel, a.day, a.count, n, source="arrival"))
        return self.option.enter(self, records)

    def _record(self, side, spec, personnel, day, count, n, source="start") -> UnitRecord:
        sector = spec.sector
        arm = NO_ARM
        posture = DEFEND if side == DEFENDER_SIDE else ATTACK
        if sector == "reserve":
            posture = RESERVE
        elif side == ATTACKER_SIDE:
            arm = {Arm.NE.label: NE, Arm.SW.label: SW, Arm.FRONT.label: FRONT}.get(sector, CENTRE)
            arms = self.spec.attacker.pincer_arms
            if (arm == SW and arms < 2) or (arm == NE and arms < 1):
                arm = FRONT  # an arm not used presses frontally in its own sector
        name = spec.name if count == 1 else f"{spec.name} {n + 1}"
        return UnitRecord(name=name, side=side, kind=UnitKind.of(spec.kind), echelon=Echelon.of(spec.echelon),
                          sector=sector, personnel=personnel, arrival_day=day, at=self.xy_of_place(spec.at),
                          arm=arm, posture=posture, source=source)

    # ================================================================= geometry
    def xy_of_place(self, place) -> tuple[float, float]:
        return place_xy(self.theater, self.grid, place)

    def cell_of_xy(self, x: float, y: float) -> tuple[int, int]:
        k = self.grid.cell_km
        return (min(max(int(y // k), 0), self.grid.rows - 1), min(max(int(x // k), 0), self.grid.cols - 1))

    def cells_of(self, idx: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Grid cells (rows, columns) of units."""
        return self.cells_at(self.forces.x[idx], self.forces.y[idx])

    def cells_at(self, x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Grid cells (rows, columns) of points in km, clamped to the grid (``cell_of_xy`` for arrays)."""
        return cells_at_xy(np.asarray(x, float), np.asarray(y, float), self.grid.cell_km, self.grid.rows, self.grid.cols)

    def cell_xy(self, cells: np.ndarray) -> np.ndarray:
        return cell_centres(np.asarray(cells).reshape(-1, 2), self.grid.cell_km)

    def nearest_cell_xy(self, x: float, y: float, mask: np.ndarray, avoid=(), min_sep: float = 0.0):
        """Centre of the nearest cell in ``mask`` (optionally ``min_sep`` km from the ``avoid`` points);
        ``(None, None)`` when there is none (:func:`sim.model.kernels.nearest_cell`)."""
        points = np.array(avoid, dtype=float).reshape(-1, 2)
        found, cx, cy = nearest_cell(float(x), float(y), mask, self.grid.cell_km, points, float(min_sep))
        return (cx, cy) if found else (None, None)

    # ================================================================= views
    def units(self, side: str | None = None) -> mesa.agent.AgentSet:
        """Present units as Mesa agents (optionally of one side), queried through Mesa's AgentSet."""
        units = self.agents_by_type.get(Unit, mesa.agent.AgentSet([], random=self.random))
        return units if side is None else units.select(lambda a: a.side == side)

    def update_unit_agents(self) -> None:
        """Remove the agent of every unit that has left (surrendered); arrivals got theirs at deployment."""
        for i in np.flatnonzero(~self.forces.present):
            if int(i) in self.agent_of:
                self.agent_of.pop(int(i)).remove()

    @property
    def weather_name(self) -> str:
        return Weather(self.weather_state).label

    def city_held_share(self) -> float:
        """Share of the city's urban cells held by the defender."""
        return float((self.control[self.city_mask] == DEFENDER).mean())


# The World's constants read as the model's own, read-only: ``model.defence_cell`` is
# ``model.world.defence_cell`` (a C-level attribute getter; assigning one raises).
for _name in sorted(WORLD_FIELDS):
    setattr(PokrovskModel, _name, property(attrgetter(f"world.{_name}"), doc=f"``world.{_name}`` (constant)"))
