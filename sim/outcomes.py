"""Daily metrics and the per-replication outcome row (SOURCES.md s.11 "Outcomes").

The :class:`Recorder` keeps one row per day in preallocated numpy arrays (no
per-day DataFrame work) and turns them, at the end, into the timeseries and
the outcome row with exactly the brief's column names (SOURCES.md s.11 "Outcomes").

Definitions (also in docs/ODD.md):

* day numbers count from the start date: the state after ``k`` steps is "day k"
  (the morning of ``start_date + k``);
* ``pokrovsk_held``: the defender holds at least half of the city's urban cells on
  the last day (contested cells are not held); ``pokrovsk_fall_day``: the first day
  it held less than half;
* ``encircled``: pockets (ground the defender can move through, defender-held or
  contested, with no friendly path to any supply source) holding at least ``outcomes.pocket_min_town_km2`` of the pocket
  towns' urban area and defender units have formed; ``encirclement_day`` the first such day; ``defenders_trapped`` the
  personnel of defender units inside those pockets on that day;
* ``defender_casualties``/``attacker_casualties``: killed and wounded;
  ``defenders_captured`` separately; ``exchange_ratio`` = attacker / defender
  casualties;
* ``territory_lost_km2``: net growth of the attacker-held ground since the start (DeepState's
  measure, the one the record bench scores: ground both sides are in, contested, is not lost; the
  start's contested band mostly returns to the defender in its first weeks, docs/CALIBRATION.md 15.7);
* ``attacker_max_advance_km``: the greatest distance from the starting
  attacker-held area of any cell the attacker held on any day;
* ``min_corridor_km``: the narrowest width of the city's supply corridor on any
  day (0 once cut);
* ``drone_grounded_days``: days the defender's common drones could fly less than
  half their sorties (precipitation or fog);
* ``next_line_reached_day``: first day the attacker holds a cell of the next
  fortification belt (in the active sector) it did not hold at the start;
* ``defender_personnel_preserved``: present defender personnel at the end over
  start personnel plus every arrival;
* ``defenders_withdrawn``: personnel of the units that reached the belt (withdraw option);
* ``fall_day.<Settlement>`` (one column per named settlement of the theater): the
  first day the cell holding the settlement's centre is attacker-held (contested is
  not held); 0 when it is attacker-held at the start, empty if never. The
  centre-cell rule is the record's own (a town is taken in DeepState's record on
  the first day its centre lies in the occupied polygon), so model and record are
  compared on one rule; ``pokrovsk_fall_day`` keeps the brief's (SOURCES.md s.11) half-the-urban-cells
  rule.

* ``breakthroughs``: events in which the attacker holds ground at least ``BREAKTHROUGH_KM``
  beyond the ground it held ``BREAKTHROUGH_DAYS`` days before (the Dobropillia wedge of Aug 2025:
  at least 10 km in 2-3 days, SOURCES.md s.9); days of one event closer than twice that window
  are one event. ``breakthrough_day``, ``breakthrough_depth_km``: the first event's first day
  and deepest reach; ``breakthrough_retaken_share``: the share of the first event's wedge (the
  cells taken in its window at least ``WEDGE_BEYOND_KM`` beyond the older front) the attacker no longer holds ``RETAKEN_AFTER_DAYS`` days after
  its first day, or on the last day if the run ends sooner (Dobropillia: mostly retaken in 2.5
  months). :class:`BreakthroughProbe` measures the record's fronts with the same rule.

Control snapshots: :meth:`Recorder.request_snapshots` asks for the attacker-held
cells (a bool grid) on chosen days; only those days are kept (the hindcasts of
``sim/hindcast.py`` use them to score the model against the record).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from sim.model.agents import ATTACKER_INT as _ATT, ATTACKER_SIDE, DEFENDER_INT as _DEF, DEFENDER_SIDE
from sim.model.glue import side_tallies
from sim.model.kernels import control_tally, distance_to_nearest, new_ground
from sim.vocab import Weather
from sim.theater.grid import ATTACKER, CONTESTED, DEFENDER

TIMESERIES_FLOAT = (
    "defender_personnel", "attacker_personnel", "defender_casualties", "attacker_casualties",
    "defender_casualties_day", "attacker_casualties_day", "defenders_captured",
    "defender_area_km2", "attacker_area_km2", "contested_area_km2", "corridor_km",
    "defender_sorties", "attacker_sorties", "supply_index", "city_held_share", "pocket_personnel",
)
_DEF_SIDE, _ATT_SIDE = int(DEFENDER_SIDE), int(ATTACKER_SIDE)
FALL_DAY_PREFIX = "fall_day."   # runs.parquet: one column per settlement, ``fall_day.<Settlement>``


def fall_day_column(settlement: str) -> str:
    """The runs.parquet column of a settlement's fall day."""
    return FALL_DAY_PREFIX + settlement




BREAKTHROUGH_KM = 8.0        # a breakthrough: this deep beyond the front of ...
BREAKTHROUGH_DAYS = 7         # ... this many days before (Dobropillia: at least 10 km in 2-3 days, SOURCES.md s.9)
RETAKEN_AFTER_DAYS = 75       # the share retaken is read this many days after (mostly retaken by 26 Oct 2025)
WEDGE_BEYOND_KM = 2.0         # a breakthrough's wedge: its new ground this far beyond the older front


class BreakthroughProbe:
    """Finds breakthroughs in a sequence of daily attacker-held grids (the model's or the record's).

    Feed it every day in order (:meth:`feed`); it keeps the last ``BREAKTHROUGH_DAYS`` grids. Cheap: the
    distance to the older front is computed only around the ground taken since, when there is any.
    """

    def __init__(self, cell_km: float, active: np.ndarray | None = None) -> None:
        from collections import deque

        self.cell_km = float(cell_km)
        self.active = active
        self.history: deque = deque(maxlen=BREAKTHROUGH_DAYS + 1)
        self.events = 0
        self.first_day: int | None = None
        self.depth_km = 0.0
        self.wedge: np.ndarray | None = None
        self.retaken_share: float | None = None
        self._last_event_day: int | None = None

    def feed(self, day: int, held: np.ndarray) -> None:
        self.history.append(held)
        if len(self.history) > 1:
            self._check(day, self.history[0], held)
        if self.first_day is not None and self.retaken_share is None and day >= self.first_day + RETAKEN_AFTER_DAYS:
            self.retaken_share = self.retaken(held)

    def retaken(self, held: np.ndarray) -> float:
        """The share of the first event's new ground not attacker-held in ``held``."""
        if self.wedge is None or not self.wedge.any():
            return float("nan")
        return float(1.0 - held[self.wedge].mean())

    def _check(self, day: int, past: np.ndarray, held: np.ndarray) -> None:
        new, r0, r1, c0, c1 = new_ground(held, past, self.active if self.active is not None else np.ones_like(held))
        if r0 < 0:
            return
        m = int(np.ceil(BREAKTHROUGH_KM / self.cell_km)) + 2
        rows, cols = held.shape
        r_lo, r_hi, c_lo, c_hi = max(r0 - m, 0), min(r1 + m + 1, rows), max(c0 - m, 0), min(c1 + m + 1, cols)
        if not past[r_lo:r_hi, c_lo:c_hi].any():
            return
        # the new cells' distance to the older front inside the box (edt_km(~past[box]) read at them)
        cells = np.argwhere(new)
        dist = distance_to_nearest(cells, past, r_lo, r_hi, c_lo, c_hi, self.cell_km)
        depth = float(dist.max())
        if depth < BREAKTHROUGH_KM:
            return
        beyond = np.zeros_like(new)
        wedge = cells[dist >= WEDGE_BEYOND_KM]   # the wedge, not the creeping edge of the front
        beyond[wedge[:, 0], wedge[:, 1]] = True
        ongoing = self._last_event_day is not None and day - self._last_event_day <= 2 * BREAKTHROUGH_DAYS
        if not ongoing:
            self.events += 1
        if self.events == 1:   # the first event, on its first day or while it goes on
            if self.first_day is None:
                self.first_day, self.wedge = day, np.zeros_like(held)
            self.depth_km = max(self.depth_km, depth)
            self.wedge |= beyond
        self._last_event_day = day

    def row(self, held_last: np.ndarray) -> dict:
        """The run's breakthrough columns (the share retaken read on the last day if not yet read)."""
        share = self.retaken_share if self.retaken_share is not None else self.retaken(held_last)
        return {"breakthroughs": self.events, "breakthrough_day": self.first_day,
                "breakthrough_depth_km": self.depth_km if self.first_day is not None else np.nan,
                "breakthrough_retaken_share": share if self.first_day is not None else np.nan}


# ----------------------------------------------------------------- declarations
PROBABILITY, EVENT_DAY, AMOUNT, RATIO, LABEL = "probability", "event day", "amount", "ratio", "label"
HIGHER, LOWER = "higher", "lower"   # which direction is better for the defender


@dataclass(frozen=True)
class Outcome:
    """One outcome, declared once: the Parquet schema, the console summary, compare's tables and bottom
    line, the report's glossary and the plots' axis labels read it.

    ``name`` is the runs.parquet column (or, for a derived outcome, the name of the value computed from
    ``source``: ``held_until`` asks whether ``source``'s event had not happened by that day, ``occurs``
    whether it happened at all). ``better`` is the direction that is better for the defender (None: neither).
    ``definition`` is the glossary's text: how the value is reduced from the run's daily probes.
    """

    name: str
    kind: str
    unit: str
    label: str
    better: str | None
    definition: str
    headline: bool = False
    source: str | None = None
    held_until: int | None = None
    occurs: bool = False
    in_tables: bool = True
    can_be_negative: bool = False   # an amount or day is otherwise never below 0 (its intervals are clipped)

    @property
    def column(self) -> str:
        """The runs.parquet column the value is read from."""
        return self.source or self.name

    @property
    def derived(self) -> bool:
        return self.source is not None

    def axis_label(self) -> str:
        """The label of a plot's axis: what, in which unit, and which way is better for the defender."""
        unit = f", {self.unit}" if self.unit and self.kind != PROBABILITY else ""
        arrow = {HIGHER: " (higher is better for the defender)", LOWER: " (lower is better for the defender)"}
        return f"{self.label}{unit}{arrow.get(self.better, '')}"


def axis_unit(o: Outcome) -> str:
    """A short axis label: the unit (a share for probabilities) and which way is better for the defender."""
    unit = "share of runs" if o.kind == PROBABILITY else o.unit
    return f"{unit}; {o.better} is better" if o.better else unit


def _held(day: int) -> Outcome:
    return Outcome(f"pokrovsk_held_day{day}", PROBABILITY, "", f"P(Pokrovsk still held on day {day})", HIGHER,
                   f"share of replications in which Pokrovsk has not fallen (see pokrovsk_fall_day) by day {day}",
                   headline=day == 60, source="pokrovsk_fall_day", held_until=day)


OUTCOMES: tuple[Outcome, ...] = (
    Outcome("pokrovsk_held", PROBABILITY, "", "P(Pokrovsk held on the last day)", HIGHER,
            "the defender holds at least half of the city's urban cells on the last day (contested cells are "
            "not held); for long horizons nearly always 0, hence the day-30/60/90 rows", in_tables=False),
    _held(30), _held(60), _held(90),
    Outcome("encircled", PROBABILITY, "", "P(encirclement)", LOWER,
            "a pocket (ground the defender can move through with no friendly path to a supply source) holds "
            "at least outcomes.pocket_min_town_km2 of a pocket town's urban area and defender units: a town is "
            "encircled. Distinct from the fall: a city can fall to assault before (or without) being encircled",
            headline=True),
    Outcome("next_line_reached", PROBABILITY, "", "P(attacker reaches the next line)", LOWER,
            "the attacker holds a cell of the next fortification belt (in the active sector) within the horizon",
            source="next_line_reached_day", occurs=True),
    Outcome("pokrovsk_fall_day", EVENT_DAY, "days", "days until Pokrovsk falls", HIGHER,
            "the first day the defender holds less than half of the city's urban cells. Tables give the "
            "restricted mean (mean of min(day, horizon), a run without the fall counting as the horizon: the "
            "expected days held within the horizon) and the median", headline=True),
    Outcome("encirclement_day", EVENT_DAY, "days", "days until encirclement", HIGHER,
            "the first day a town is encircled (see encircled); restricted mean and median as for the fall day"),
    Outcome("next_line_reached_day", EVENT_DAY, "days", "days until the attacker reaches the next line", HIGHER,
            "the first day the attacker holds a cell of the next belt it did not hold at the start"),
    Outcome("corridor_cut_day", EVENT_DAY, "days", "days until the city's supply corridor is cut", HIGHER,
            "the first day the city has no friendly path to a supply source (corridor width 0); often before "
            "the fall, and often without an encirclement (the pocket must also hold enough of a town)"),
    Outcome("corridor_before_fall_km", AMOUNT, "km", "narrowest corridor before the fall", HIGHER,
            "the narrowest width of the city's supply corridor on any day before Pokrovsk falls (the whole run "
            "if it does not); the corridor is 0 once cut, and it is always cut once the city falls, hence not "
            "the narrowest over the whole run"),
    Outcome("min_corridor_km", AMOUNT, "km", "narrowest corridor over the whole run", HIGHER,
            "the narrowest width of the city's supply corridor on any day (0 once cut)", in_tables=False),
    Outcome("defender_casualties", AMOUNT, "personnel", "defender casualties (killed, wounded)", LOWER,
            "defender personnel killed or wounded over the run (captured not included)", headline=True),
    Outcome("defenders_captured", AMOUNT, "personnel", "defenders captured", LOWER,
            "personnel of defender units that surrendered when cut off (their cohesion fell below "
            "logistics.surrender_cohesion), minus those who slipped out, over the whole run, in any pocket: "
            "the town pockets of an encirclement or any smaller cut-off or overrun position. Hence a run "
            "can have captured defenders and no encirclement. Never more than defenders cut off"),
    Outcome("defenders_cut_off", AMOUNT, "personnel", "defenders cut off (ever)", LOWER,
            "personnel of every defender unit that was cut off (in a pocket or on attacker-held ground) on "
            "any day, each unit counted once at its strongest while cut off: what could be captured"),
    Outcome("defenders_trapped", AMOUNT, "personnel", "defenders trapped when a town is encircled", LOWER,
            "personnel of defender units inside the encircling pockets on the day the encirclement forms "
            "(0 without one); a snapshot, so less than defenders cut off, and it can be less than captured "
            "(units cut off later or elsewhere)"),
    Outcome("defenders_withdrawn", AMOUNT, "personnel", "defenders withdrawn to the next line", HIGHER,
            "personnel of the units that reached the rear belt (the withdraw option; 0 otherwise)"),
    Outcome("attacker_casualties", AMOUNT, "personnel", "attacker casualties (killed, wounded)", HIGHER,
            "attacker personnel killed or wounded over the run"),
    Outcome("exchange_ratio", RATIO, "attacker per defender", "exchange ratio (attacker / defender casualties)",
            HIGHER, "attacker casualties over defender casualties"),
    Outcome("territory_lost_km2", AMOUNT, "km²", "ground lost", LOWER,
            "net growth since the start of the attacker-held ground (DeepState's measure; contested ground is not lost)",
            headline=True, can_be_negative=True),
    Outcome("attacker_max_advance_km", AMOUNT, "km", "attacker's deepest advance", LOWER,
            "the greatest distance from the starting attacker-held area of any cell the attacker held on any day"),
    Outcome("drone_grounded_days", AMOUNT, "days", "days defender drones grounded", LOWER,
            "days the defender's common drones could fly less than half their sorties (rain, snow or fog)"),
    Outcome("defender_personnel_end", AMOUNT, "personnel", "defender personnel at the end", HIGHER,
            "present defender personnel on the last day"),
    Outcome("attacker_personnel_end", AMOUNT, "personnel", "attacker personnel at the end", LOWER,
            "present attacker personnel on the last day"),
    Outcome("defender_personnel_preserved", RATIO, "share", "share of defender personnel preserved", HIGHER,
            "present defender personnel at the end over start personnel plus every arrival"),
    Outcome("defender_arrivals", AMOUNT, "personnel", "defender arrivals", None,
            "personnel of defender units that arrived during the run", in_tables=False),
    Outcome("attacker_arrivals", AMOUNT, "personnel", "attacker arrivals", None,
            "personnel of attacker units that arrived during the run", in_tables=False),
    Outcome("surrendered_units", AMOUNT, "units", "defender units surrendered", LOWER,
            "defender units that surrendered (see defenders captured)", in_tables=False),
    Outcome("attacker_drone_casualties", AMOUNT, "personnel", "attacker casualties to drones", HIGHER,
            "attacker casualties caused by the defender's drones", in_tables=False),
    Outcome("defender_drone_casualties", AMOUNT, "personnel", "defender casualties to drones", LOWER,
            "defender casualties caused by the attacker's drones", in_tables=False),
    Outcome("breakthroughs", AMOUNT, "events", "breakthroughs", LOWER,
            f"events in which the attacker holds ground at least {BREAKTHROUGH_KM:g} km beyond its front of "
            f"{BREAKTHROUGH_DAYS} days before (a Dobropillia-like wedge; the record of 2025 has one, Aug 2025)",
            in_tables=False),
    Outcome("breakthrough_day", EVENT_DAY, "days", "days until the first breakthrough", HIGHER,
            "the first day of the first breakthrough (see breakthroughs)", in_tables=False),
    Outcome("breakthrough_depth_km", AMOUNT, "km", "depth of the first breakthrough", LOWER,
            "the deepest reach of the first breakthrough beyond the front of a week before", in_tables=False),
    Outcome("breakthrough_retaken_share", RATIO, "share", "share of the first breakthrough retaken", HIGHER,
            f"the share of the first breakthrough's new ground the attacker no longer holds {RETAKEN_AFTER_DAYS} "
            "days after it began (or on the last day if sooner)", in_tables=False),
    Outcome("encircled_towns", LABEL, "", "encircled towns", None,
            "the pocket towns encircled on any day, joined with '+'", in_tables=False),
)
BY_NAME = {o.name: o for o in OUTCOMES}
FALL_DAY_DEFINITION = ("the first day the cell holding the settlement's centre is attacker-held (the record's rule; "
                       "0 if held at the start, empty if never); tables give the restricted mean to the horizon")
# runs.parquet's outcome columns, in the brief's order (SOURCES.md s.11 "Outcomes") and then the later ones
RECORDED = ("pokrovsk_held", "pokrovsk_fall_day", "encircled", "encirclement_day", "encircled_towns",
            "defenders_trapped", "defender_casualties", "attacker_casualties", "exchange_ratio", "territory_lost_km2",
            "attacker_max_advance_km", "min_corridor_km", "drone_grounded_days", "defender_personnel_end",
            "attacker_personnel_end", "next_line_reached_day", "defender_personnel_preserved", "defenders_captured",
            "defender_arrivals", "attacker_arrivals", "surrendered_units", "attacker_drone_casualties",
            "defender_drone_casualties", "defenders_withdrawn", "defenders_cut_off", "corridor_before_fall_km", "corridor_cut_day",
            "breakthroughs", "breakthrough_day", "breakthrough_depth_km", "breakthrough_retaken_share")
EVENT_DAY_COLUMNS = tuple(o.name for o in OUTCOMES if o.kind == EVENT_DAY)


def outcome(name: str) -> Outcome:
    """The declaration of ``name``; a settlement's ``fall_day.<Town>`` is declared on demand."""
    if name in BY_NAME:
        return BY_NAME[name]
    if name.startswith(FALL_DAY_PREFIX):
        town = name[len(FALL_DAY_PREFIX):]
        return Outcome(name, EVENT_DAY, "days", f"days until {town} falls", HIGHER, FALL_DAY_DEFINITION)
    raise KeyError(name)


def headline() -> list[Outcome]:
    """The outcomes of the bottom line."""
    return [o for o in OUTCOMES if o.headline]


def tabled() -> list[Outcome]:
    """The outcomes of compare's tables and the console summary, in order."""
    return [o for o in OUTCOMES if o.in_tables]


def day_columns(columns) -> list[str]:
    """The outcome columns that hold the day of an event (empty if it never happened): written as Int64."""
    return [c for c in columns if c in EVENT_DAY_COLUMNS or c.startswith(FALL_DAY_PREFIX)]


class Recorder:
    """Collects the daily metrics of one replication."""

    def __init__(self, model) -> None:
        n = model.spec.days + 1
        self.n = n
        self.weather = np.zeros(n, np.int8)
        self.grounded = np.zeros(n, bool)
        self.data = {name: np.full(n, np.nan) for name in TIMESERIES_FLOAT}
        self.encirclement_day: int | None = None
        self.town_pocket_day: dict[str, int] = {}
        self.defenders_trapped = 0.0
        self.fall_day: int | None = None
        self.next_line_day: int | None = None
        self.max_advance_km = 0.0
        cell_area = model.grid.cell_area_km2
        self.cell_area = cell_area
        self.active = model.active
        self.start_attacker_held = float((model.initial_control == ATTACKER).sum()) * cell_area
        cells = model.grid.settlement_cell
        self.settlements = list(cells)
        self.settlement_rows = np.array([cells[n][0] for n in self.settlements], dtype=np.intp)
        self.settlement_cols = np.array([cells[n][1] for n in self.settlements], dtype=np.intp)
        self.settlement_fall = np.full(len(self.settlements), -1, dtype=np.int32)
        self.cut_off_peak = np.zeros(len(model.forces.personnel))  # per unit: its strength at its strongest while cut off
        self.snapshot_days: frozenset[int] = frozenset()
        self.snapshots: dict[int, np.ndarray] = {}
        self.breakthrough = BreakthroughProbe(model.grid.cell_km, model.active)
        self.record(model)

    def request_snapshots(self, days, model) -> None:
        """Keep the attacker-held cells (a bool grid) on each of ``days`` (today's at once if asked)."""
        self.snapshot_days = frozenset(int(d) for d in days)
        self._snapshot(model)

    def _snapshot(self, model) -> None:
        if model.day in self.snapshot_days:
            self.snapshots[model.day] = model.control == ATTACKER

    def _settlements_fall(self, control: np.ndarray, day: int) -> None:
        """The first day each settlement's centre cell is attacker-held."""
        held = control[self.settlement_rows, self.settlement_cols] == ATTACKER
        self.settlement_fall[held & (self.settlement_fall < 0)] = day

    def record(self, model) -> None:
        d = model.day
        f = model.forces
        control = model.control
        data = self.data
        (data["defender_personnel"][d], data["attacker_personnel"][d], data["defender_casualties"][d],
         data["attacker_casualties"][d], supplied, trapped) = side_tallies(
            f.side, f.present, f.in_pocket, f.personnel, f.casualties, f.supply, _DEF_SIDE, _ATT_SIDE, self.cut_off_peak)
        data["defender_casualties_day"][d] = model.losses_today[DEFENDER_SIDE]
        data["attacker_casualties_day"][d] = model.losses_today[ATTACKER_SIDE]
        data["defenders_captured"][d] = model.captured_total[DEFENDER_SIDE]
        held, cells, share, advance_km, next_line = control_tally(control, _ATT, _DEF, model.city_mask,
                                                                  model.advance_from, model.next_line_mask)
        data["defender_area_km2"][d] = cells[DEFENDER] * self.cell_area
        data["attacker_area_km2"][d] = cells[ATTACKER] * self.cell_area
        data["contested_area_km2"][d] = cells[CONTESTED] * self.cell_area
        state = model.supply_state
        data["corridor_km"][d] = state.corridor_km if state is not None else np.nan
        data["defender_sorties"][d] = model.sorties_today[DEFENDER_SIDE]
        data["attacker_sorties"][d] = model.sorties_today[ATTACKER_SIDE]
        men = data["defender_personnel"][d]
        data["supply_index"][d] = supplied / men if men > 0 else 0.0
        data["city_held_share"][d] = share
        data["pocket_personnel"][d] = trapped
        self.weather[d] = model.weather_state
        self.grounded[d] = model.grounded_today if d > 0 else False
        self._settlements_fall(control, d)
        self._snapshot(model)
        self.breakthrough.feed(d, held)
        if d > 0:
            self._events(model, state, d, share, trapped, advance_km, next_line)

    def _events(self, model, state, d: int, share: float, trapped: float, advance_km: float, next_line: bool) -> None:
        """The day's first-time events: the city's fall, encirclement, the deepest advance, the next line."""
        if self.fall_day is None and share < 0.5:
            self.fall_day = d
        if state is not None and trapped > 0 and state.pocket.any():
            self._check_encirclement(model, state, d)
        if advance_km > -np.inf:  # the attacker holds a cell
            self.max_advance_km = max(self.max_advance_km, advance_km)
        if self.next_line_day is None and next_line:
            self.next_line_day = d

    def _check_encirclement(self, model, state, d: int) -> None:
        """A town is encircled when one pocket holds enough of it and defender units."""
        from scipy import ndimage

        f = model.forces
        labels, n = ndimage.label(state.pocket, structure=ndimage.generate_binary_structure(2, 1))
        idx = np.flatnonzero(f.present & (f.side == DEFENDER_SIDE) & f.in_pocket)
        r, c = model.cells_of(idx)
        unit_label = labels[r, c]
        need = model.spec.outcomes.pocket_min_town_km2
        trapping: set[int] = set()
        for town, mask in model.pocket_town_masks.items():
            counts = np.bincount(labels[mask & state.pocket], minlength=n + 1)
            counts[0] = 0
            for lab in np.flatnonzero(counts * self.cell_area >= need):
                if (unit_label == lab).any():
                    trapping.add(int(lab))
                    self.town_pocket_day.setdefault(town, d)
        if trapping and self.encirclement_day is None:
            self.encirclement_day = d
            self.defenders_trapped = float(f.personnel[idx[np.isin(unit_label, list(trapping))]].sum())

    # ----------------------------------------------------------------- results
    def timeseries(self, model) -> dict[str, np.ndarray]:
        last = model.day + 1
        out = {"day": np.arange(last, dtype=np.int32),
               "weather": np.array([Weather(w).label for w in self.weather[:last]], dtype=object)}
        for name, values in self.data.items():
            out[name] = values[:last]
        return out

    def outcome_row(self, model) -> dict:
        f = model.forces
        d = model.day
        data = self.data
        def_cas = float(f.casualties[f.side == DEFENDER_SIDE].sum())
        att_cas = float(f.casualties[f.side == ATTACKER_SIDE].sum())
        attacker_held = float((model.control == ATTACKER).sum()) * self.cell_area
        corridor = data["corridor_km"][1:d + 1]
        def_end = float(data["defender_personnel"][d])
        def_total = float(model.initial_personnel[DEFENDER_SIDE] + model.arrived_total[DEFENDER_SIDE])
        row = {
            "pokrovsk_held": bool(model.city_held_share() >= 0.5),
            "pokrovsk_fall_day": self.fall_day,
            "encircled": self.encirclement_day is not None,
            "encirclement_day": self.encirclement_day,
            "encircled_towns": "+".join(t for t in model.pocket_town_masks if t in self.town_pocket_day),
            "defenders_trapped": self.defenders_trapped,
            "defender_casualties": def_cas,
            "attacker_casualties": att_cas,
            "exchange_ratio": att_cas / def_cas if def_cas > 0 else np.nan,
            "defenders_captured": float(model.captured_total[DEFENDER_SIDE]),
            "territory_lost_km2": attacker_held - self.start_attacker_held,
            "attacker_max_advance_km": self.max_advance_km,
            "min_corridor_km": float(np.nanmin(corridor)) if corridor.size and np.isfinite(corridor).any() else np.nan,
            "drone_grounded_days": int(self.grounded[1:d + 1].sum()),
            "defender_personnel_end": def_end,
            "attacker_personnel_end": float(data["attacker_personnel"][d]),
            "next_line_reached_day": self.next_line_day,
            "defender_personnel_preserved": def_end / def_total if def_total > 0 else np.nan,
            "defender_arrivals": float(model.arrived_total[DEFENDER_SIDE]),
            "attacker_arrivals": float(model.arrived_total[ATTACKER_SIDE]),
            "surrendered_units": int(model.surrendered_units),
            "defenders_withdrawn": model.option.report()["defenders_withdrawn"],
            "defenders_cut_off": self.defenders_cut_off(model),
            "corridor_before_fall_km": self.corridor_before_fall(d),
            "corridor_cut_day": self.corridor_cut_day(d),
            "attacker_drone_casualties": float(model.drone_casualties[ATTACKER_SIDE]),
            "defender_drone_casualties": float(model.drone_casualties[DEFENDER_SIDE]),
        }
        row.update(self.breakthrough.row(model.control == ATTACKER))
        row.update(self.fall_days())
        return row

    def defenders_cut_off(self, model) -> float:
        """Every defender unit ever cut off, at its strongest while cut off; a unit that surrendered counts
        at least what it lost to capture and exfiltration (it surrendered on a day between two probes)."""
        f = model.forces
        gone = f.captured + f.exfiltrated
        return float(np.maximum(self.cut_off_peak, gone)[f.side == DEFENDER_SIDE].sum())

    def corridor_before_fall(self, d: int) -> float:
        """The narrowest corridor on the days before Pokrovsk fell (every day if it held)."""
        last = (self.fall_day - 1) if self.fall_day is not None else d
        corridor = self.data["corridor_km"][1:last + 1]
        return float(np.nanmin(corridor)) if corridor.size and np.isfinite(corridor).any() else np.nan

    def corridor_cut_day(self, d: int) -> int | None:
        """The first day the city's corridor was cut (width 0), None if never."""
        cut = np.flatnonzero(self.data["corridor_km"][1:d + 1] <= 0)
        return int(cut[0]) + 1 if cut.size else None

    def fall_days(self) -> dict[str, int | None]:
        """``fall_day.<Settlement>`` for every settlement: its fall day, None if it never fell."""
        return {fall_day_column(n): int(day) if day >= 0 else None for n, day in zip(self.settlements, self.settlement_fall)}
