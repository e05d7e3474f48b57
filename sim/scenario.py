"""Scenario files: YAML -> validated, resolved :class:`Scenario`.

The one loader used by the command line, the tests and the app.

* ``extends: other.yaml`` (relative to the file) merges this file over its
  parent: mappings merge key by key, everything else is replaced.
* ``--set a.b.c=value`` overrides any value after the files are merged; the
  value is read as YAML (``0.3``, ``hold``, ``{uniform: [0.1, 0.3]}``) and
  validated exactly like the file.
* Uncertain inputs are written as distributions (:mod:`sim.distributions`)
  and drawn once per replication by :func:`sample`, each from its own named
  stream so that options share their draws (common random numbers).
* Any problem raises :class:`sim.core.errors.InputError` with file, line, dotted
  path, what was expected and what was found.
"""

from __future__ import annotations

import copy
import datetime as dt
import difflib
import hashlib
import json
from pathlib import Path
from typing import Any, Literal, get_args, get_origin

import numpy as np
from pydantic import BaseModel, Field, ValidationError, field_validator, model_validator

from sim.distributions import FORMS, Distribution
from sim.core.errors import InputError, found
from sim.schema import Day, Factor, Fraction, NonNegative, Place, Positive, Probability, Strict, num
from sim.core.seeding import substream
from sim.posterior import ROW_COLUMN, draw_from
from sim import vocab
from sim.vocab import literal
from sim.yamlio import Locations, dotted, load_yaml_file, parse_scalar, path_exists, printable

REPO_ROOT = Path(__file__).resolve().parents[1]
BASE_SCENARIO = REPO_ROOT / "scenarios" / "base.yaml"

WeatherState = literal(vocab.Weather)
Kind = literal(vocab.UnitKind)
Echelon = literal(vocab.Echelon)
TerrainName = literal(vocab.Terrain)
OptionKindName = literal(vocab.OptionKind)
ArmName = Literal[tuple(a.label for a in (vocab.Arm.NE, vocab.Arm.SW, vocab.Arm.CENTRE))]
# the defender's postures as the combat table names them (hasty defence, prepared, ...)
DefencePosture = Literal["hasty", "prepared", "fortified", "delay", "withdrawal"]


# --------------------------------------------------------------------------- weather
class WeatherEffect(Strict):
    """What one weather state does (SOURCES.md section 6; Dupuy weather table, section 7)."""

    drone_availability: Fraction = Field(description="share of common-drone sorties that can fly")
    observation: Fraction = Field(description="multiplier on the effect of observed fires")
    mobility: Factor = Field(description="multiplier on the rate of advance (mud, snow)")
    attack: Factor = Field(description="multiplier on the attacker's combat power")
    infiltration_cover: Factor = Field(description="multiplier on the infiltration hazard")
    casualties: Factor = Field(description="multiplier on ground-combat casualty rates")


class Weather(Strict):
    """A Markov chain of daily weather with per-month transition tables."""

    fog_frequency: Probability
    precipitation_frequency: Probability
    initial: WeatherState
    transitions: dict[int, list[list[float]]] = Field(
        description="month (1-12) -> 4x4 table, rows and columns in the order clear, overcast, precip, fog"
    )
    effects: dict[WeatherState, WeatherEffect]

    @field_validator("transitions")
    @classmethod
    def _tables(cls, tables: dict[int, list[list[float]]]) -> dict[int, list[list[float]]]:
        if not tables:
            raise ValueError("expected at least one month's transition table")
        for month, rows in tables.items():
            if not 1 <= month <= 12:
                raise ValueError(f"expected months 1 to 12 as keys, found {month}")
            if len(rows) != 4 or any(len(r) != 4 for r in rows):
                raise ValueError(f"month {month}: expected a 4x4 table (clear, overcast, precip, fog)")
            for i, r in enumerate(rows):
                if any(p < 0 or p > 1 for p in r):
                    raise ValueError(f"month {month}, row {vocab.Weather(i).label}: probabilities must lie in [0, 1], found {r}")
                if abs(sum(r) - 1.0) > 1e-6:
                    raise ValueError(f"month {month}, row {vocab.Weather(i).label}: probabilities must add up to 1, found {sum(r):g}")
        return tables

    @field_validator("effects")
    @classmethod
    def _all_states(cls, effects: dict) -> dict:
        missing = [s for s in vocab.Weather.labels() if s not in effects]
        if missing:
            raise ValueError(f"expected effects for every state; missing {', '.join(missing)}")
        return effects


# --------------------------------------------------------------------------- forces
class UnitSpec(Strict):
    """One unit (or ``count`` identical units) at the start."""

    name: str
    kind: Kind
    echelon: Echelon
    sector: str = Field(description="attacker: ne, sw, centre, front (presses where it stands) or reserve; defender: a free label or reserve")
    at: Place = Field(description="settlement name or [lat, lon]; the unit starts at its own side's cell nearest to it")
    weight: Positive = Field(default=1.0, description="share of the side's personnel, relative to the other units")
    count: int = Field(default=1, ge=1, le=200)


class Arrival(Strict):
    """Units that enter the theater on a day (reinforcement of the sector)."""

    name: str
    day: Day
    personnel: Positive = Field(description="personnel of each arriving unit")
    kind: Kind
    echelon: Echelon
    sector: str
    at: Place
    count: int = Field(default=1, ge=1, le=200)


class SideForces(Strict):
    personnel: Positive = Field(description="personnel at the start, spread over the units by weight")
    units: list[UnitSpec] = Field(min_length=1)
    arrivals: list[Arrival] = Field(default_factory=list)
    replacements_per_day: NonNegative = Field(description="personnel per day sent to fill the units' losses")


class Forces(Strict):
    attacker: SideForces
    defender: SideForces


class KindFactors(Strict):
    """Combat-power factors of a kind of unit (per person, relative to mechanised infantry = 1)."""

    attack: Factor
    defence: Factor
    infiltration: Factor


# --------------------------------------------------------------------------- fires
class DroneSide(Strict):
    sorties_per_day: NonNegative = Field(description="sorties per day when the weather allows")
    weather_resistant_share: Fraction = Field(description="share of sorties by weather-resistant drones (fly in precipitation)")
    casualties_per_sortie: NonNegative = Field(description="enemy casualties per sortie that flies and sees")
    power_per_sortie: NonNegative = Field(description="combat power (personnel-equivalents) one sortie adds at the front")
    range_km: Positive = Field(description="depth behind the enemy's front that the drones hold under fire control")
    interdiction: Fraction = Field(description="share of road throughput removed at full sorties over a route wholly in range")


class ArtillerySide(Strict):
    shells_per_day: NonNegative
    casualties_per_1000_shells: NonNegative
    power_per_1000_shells: NonNegative = Field(description="combat power (personnel-equivalents) 1,000 shells add at the front")


class Drones(Strict):
    attacker: DroneSide
    defender: DroneSide


class Artillery(Strict):
    attacker: ArtillerySide
    defender: ArtillerySide


# --------------------------------------------------------------------------- combat
class Combat(Strict):
    """The ground-combat kernel (SOURCES.md section 7, calibrated in docs/CALIBRATION.md)."""

    attacker_casualty_rate: Fraction = Field(description="Dupuy standard daily casualty rate of an attacker (0.028)")
    defender_casualty_rate: Fraction = Field(description="Dupuy standard daily casualty rate of a defender (0.015)")
    modern_casualty_factor: Factor = Field(description="scales Dupuy's rates to this war's observed losses")
    advance_max_per_day: Factor = Field(description="ceiling of the daily hazard that a contact cell changes hands (probability 1 - exp(-hazard))")
    advance_half_ratio: Positive = Field(description="local force ratio at which the hazard is half its ceiling")
    advance_steepness: Positive = Field(description="Hill exponent of the hazard in the force ratio")
    counterattack_max_per_day: Factor = Field(description="ceiling of the daily hazard that the defender retakes a contested cell")
    infiltration_per_day: Factor = Field(description="daily hazard that infiltration groups slip through a fully open gap")
    infiltration_depth_km: NonNegative = Field(description="how far behind the contact line infiltrators can appear")
    infiltration_gap_floor: Fraction = Field(description="share of the infiltration hazard that remains where the line is fully manned")
    min_attack_party: Positive = Field(description="attacker personnel engaged at a cell for a full-strength assault")
    fortification_step: Factor = Field(description="defence multiplier added per fortification level")
    supply_floor: Fraction = Field(description="share of combat power left at zero supply")
    posture_defence: dict[DefencePosture, Factor]
    terrain_defence: dict[TerrainName, Factor]
    terrain_mobility: dict[TerrainName, Factor]
    terrain_casualties: dict[TerrainName, Factor]
    river_mobility: Factor = Field(description="multiplier on the advance hazard into a cell with a river")
    frontage_km: dict[Echelon, Positive] = Field(description="front a unit of each echelon can hold")
    min_density_per_km: Positive = Field(description="defender personnel per km of front below which gaps open")


class KillZone(Strict):
    """Drones over the contact line (SOURCES.md s.9: the FPV kill zone about 15 km deep, Jul 2025)."""

    assault_suppression: Fraction = Field(description="share of the attacker's massed assaults the defender's drones stop at full availability (infiltration is not stopped)")
    counter_suppression: Fraction = Field(description="share of the defender's counter-attacks the attacker's drones stop at full availability")
    massing_penalty: Factor = Field(description="under the defender's drones, the assault's force ratio is divided by 1 + this x the attackers massed at a cell beyond one assault party (in parties)")


class Tempo(Strict):
    """The attacker's operational tempo: pulses of assault and pauses, the arms out of step (SOURCES.md s.9)."""

    cycle_days: NonNegative = Field(description="length of an arm's cycle of assault and pause (0: no pauses)")
    assault_share: Fraction = Field(description="share of the cycle an arm assaults at full intensity")
    pause_intensity: Fraction = Field(description="intensity of an arm's assaults while it pauses to rotate and regroup")


class Sealing(Strict):
    """Defender reserves cut off and retake thin wedges (SOURCES.md s.9: Dobropillia, Aug-Oct 2025)."""

    radius_km: NonNegative = Field(description="half-width of the square over which a wedge's support (share of attacker-held ground) is judged")
    min_support: Fraction = Field(description="attacker ground with less support than this is a thin wedge the defender can seal (0: off)")
    retake_per_day: Factor = Field(description="daily hazard that the defender retakes a cell of a wedge standing alone")


class Strangulation(Strict):
    """Towns fall once their defenders' supply is strangled (SOURCES.md s.9, ISW late Oct 2025)."""

    corridor_km: NonNegative = Field(description="width of the defenders' widest route out below which urban ground starts to give way (0: off)")
    gain: Factor = Field(description="the attacker's hazards into urban ground are multiplied (and the defender's counter hazard there divided) by up to 1 + gain when the route is closed")


class Foliage(Strict):
    """Leaves hide small groups from the drones (SOURCES.md s.6: summer vegetation helps infiltration)."""

    months: list[int] = Field(description="the leafy months (1-12)")
    kill_zone_factor: Fraction = Field(description="share of the kill zone's suppression left in the leafy months")
    infiltration_factor: Factor = Field(description="multiplier on the attacker's infiltration in the leafy months")

    @field_validator("months")
    @classmethod
    def _months(cls, months: list[int]) -> list[int]:
        bad = [m for m in months if not 1 <= m <= 12]
        if bad:
            raise ValueError(f"expected months 1-12, found {bad}")
        return months


class SmallGroups(Strict):
    """Small groups work the whole line, not only the arms (SOURCES.md s.9: months of small-group infiltration; about 50 clashes a day, Jun 2025)."""

    spread: Fraction = Field(description="share of the attacker's infiltrators at each contact cell spread evenly along the whole contact line (0: where the units stand)")


class Runs(Strict):
    """Small groups run through an all but unmanned stretch of the line (SOURCES.md s.9: Dobropillia, at least 10 km in 2-3 days, Aug 2025)."""

    per_day: NonNegative = Field(description="daily hazard of a run at a contact cell with no defenders and full infiltrator presence (0: off)")
    min_gap: Fraction = Field(description="runs start only where the line's gap (share of the minimum density missing) exceeds this")
    depth_km: NonNegative = Field(description="how far a run goes into the rear at most")
    blocked_km: NonNegative = Field(description="a run stops short of the first cell this close to a defender unit")


class Mechanisms(Strict):
    """The mechanisms of the 2025 record (docs/ODD.md section 7.19; ranges in docs/CALIBRATION.md)."""

    kill_zone: KillZone
    tempo: Tempo
    sealing: Sealing
    strangulation: Strangulation
    foliage: Foliage
    rotation_per_day: Fraction = Field(description="share of the gap to full cohesion a unit not cut off regains per day by rotating worn sub-units out")
    small_groups: SmallGroups
    runs: Runs


class Logistics(Strict):
    sources: list[Place] = Field(min_length=1, description="rear supply sources (settlements or [lat, lon])")
    resupply_per_day: Fraction = Field(description="share of the gap to the supply target closed per day")
    pocket_supply_loss_per_day: Fraction = Field(description="daily fall of supply inside a pocket (stocks run down)")
    offroad_supply: Fraction = Field(description="supply target of a unit reached only off-road (tracks, fields)")
    new_route_days: NonNegative = Field(description="days the defender needs to open a new route once roads are cut or under fire")
    new_route_relief: Fraction = Field(description="share of interdiction removed once new routes are open")
    cohesion_loss_per_day: Fraction = Field(description="cohesion lost per day at zero supply")
    cohesion_recovery_per_day: Fraction = Field(description="cohesion regained per day when supplied")
    surrender_cohesion: Fraction = Field(description="cohesion below which a cut-off unit surrenders")
    exfiltration_share: Fraction = Field(description="share of a surrendering unit that slips out to friendly lines")
    fire_control_drone_share: Fraction = Field(description="weight of drones (against observed artillery) in the fire control over roads")
    attacker_route_exposure: Fraction = Field(description="share of the attacker's supply routes under the defender's drones (not routed on the grid)")
    route_window_km: Positive = Field(description="a unit's supply route is judged by the widest path within this distance of it")
    road_reach_km: Positive = Field(description="a unit this close to a road still linked to a source is road-supplied")


class Arm(Strict):
    waypoints: list[Place] = Field(min_length=1, description="objectives in order; the last is where the arms meet")


class AttackerDoctrine(Strict):
    pincer_arms: int = Field(ge=0, le=2, description="2 both arms, 1 north-east only, 0 frontal only")
    arms: dict[ArmName, Arm]
    concentration_km: Positive = Field(description="how tightly a unit focuses its power on its objective along the front")
    objective_weight: Fraction = Field(description="weight of the arm's objective against the nearest front in a line unit's choice of front cell (1: the arm makes for its objective; 0: it presses the front nearest it)")
    storm_corridor_km: NonNegative = Field(description="the centre group storms the pocket towns only once the defenders' route out of the city is narrower than this; until then it presses the front outside their approaches (0: it always storms)")
    flank_arms_bypass: bool = Field(description="while the centre group keeps out of the pocket towns' approaches (storm_corridor_km), the flank arms keep out of them too")
    move_km_per_day: Positive = Field(description="how far a unit can shift along its own side's ground per day")
    reserve_commit_every_days: int = Field(ge=1, description="days between commitments of a reserve unit")
    reserve_ratio_radius_km: Positive = Field(description="the local force ratio of an arm is judged over contacts this close to its objective")
    infiltration_city_bonus: Factor = Field(description="multiplier on infiltration into urban cells (cover of buildings)")


class DefenderDoctrine(Strict):
    reserve_commit_every_days: int = Field(ge=1, description="days between commitments of a defender reserve unit")
    shift_every_days: int = Field(ge=1, description="days between shifts of a line unit from a quiet sector to the most threatened one")
    shift_quiet_ratio: Factor = Field(description="a line unit whose local force ratio is below this counts as quiet and may be shifted")
    shift_radius_km: Positive = Field(description="how far from the city the threatened contact may lie")
    fallback_km: Positive = Field(description="a unit driven off its ground falls back to friendly lines if they are this close")


class HoldOption(Strict):
    counterattack_corridor_km: NonNegative = Field(description="counter-attack the flanks when the city's corridor is narrower than this")
    counterattack_power_factor: Factor = Field(description="defender power multiplier near the city while counter-attacking")
    counterattack_radius_km: Positive = Field(description="how far from the city the flank counter-attacks reach")


class WithdrawOption(Strict):
    trigger_day: num(ge=0, integer=True) = Field(description="day the withdrawal starts at the latest")
    trigger_corridor_km: NonNegative = Field(description="start earlier if the city's corridor is narrower than this")
    trigger_supply: Fraction = Field(description="start earlier if the garrison's supply falls below this")
    garrison_km: Positive = Field(description="defender units within this distance of the pocket towns withdraw")
    rearguard_share: Fraction = Field(description="share of the garrison's personnel left behind to delay")
    rearguard_days: num(ge=0, integer=True) = Field(description="days the rearguard delays before it follows")
    column_drone_loss_per_day: Fraction = Field(description="share of a moving column lost per day to drones at full availability")
    destination: list[Place] = Field(min_length=1, description="the belt's towns the garrison falls back to, by road")


class ReinforceOption(Strict):
    brigades: num(ge=0, le=20, integer=True) = Field(description="brigades that leave the Kursk front")
    depart_day: num(ge=0, integer=True) = Field(description="day they leave")
    transit_days: num(ge=0, integer=True) = Field(description="days by rail and road to the railheads")
    personnel_per_brigade: Positive
    kind: Kind
    railheads: list[Place] = Field(min_length=1, description="where they arrive, in turn")
    counterattack_toward: Place = Field(description="the flank they counter-attack")
    attacker_response_delay_days: num(ge=0, integer=True) = Field(description="days after the departure before the attacker's answer from Kursk arrives")
    attacker_response_share: Fraction = Field(description="the attacker's answer as a share of the personnel sent")
    attacker_response_at: Place = Field(description="where the attacker's answer enters the sector")


class KurskPressureOption(Strict):
    attacker_arrival_delay_days: num(ge=0, integer=True)
    attacker_arrival_factor: Fraction


class Option(Strict):
    kind: OptionKindName
    hold: HoldOption
    withdraw: WithdrawOption
    reinforce: ReinforceOption
    kursk_pressure: KurskPressureOption


class OutcomeSettings(Strict):
    city: str = Field(description="the settlement whose fall is tracked (pokrovsk_held, pokrovsk_fall_day)")
    pocket_towns: list[str] = Field(min_length=1, description="towns whose encirclement counts as 'encircled'")
    next_line: str = Field(description="fortification belt whose reaching ends the next line's hold")
    pocket_min_town_km2: Positive = Field(description="a pocket counts as the encirclement of a town when it holds at least this much of the town")


class Grid(Strict):
    cell_km: float = Field(ge=0.25, le=10.0, description="cell size in km")


class ScenarioFront(Strict):
    """``front:``: start from another occupied-area map (and/or band) than the theater's (docs/ODD.md 6.2)."""

    geojson: str | None = Field(default=None, min_length=1, description=(
        "a GeoJSON file of the occupied area (as DeepState's, or `sim front`'s output), or a folder of "
        "occupied_YYYY-MM-DD.geojson files, relative to the scenario file; 'deepstate' is the packaged record"))
    date: dt.date | None = Field(default=None, description="the map's date, when its file carries none")
    contested_band_km: float | None = Field(default=None, ge=0, le=20, description="the contested band's depth")
    contested_sector: str | None = Field(default=None, description="the theater sector the band is drawn in")


class Scenario(Strict):
    """A whole, validated scenario (possibly still holding distributions)."""

    name: str
    description: str = ""
    theater: str = Field(description="a packaged theater name (pokrovsk) or a path to a theater YAML file")
    start_date: dt.date
    days: int = Field(ge=1, le=3650)
    grid: Grid
    active_sector: str | None = Field(default=None, description="theater sector where the front can move; elsewhere it is static")
    front: ScenarioFront = Field(default_factory=ScenarioFront, description="start from another map or band than the theater's")
    weather: Weather
    forces: Forces
    kinds: dict[Kind, KindFactors]
    drones: Drones
    artillery: Artillery
    combat: Combat
    logistics: Logistics
    attacker: AttackerDoctrine
    defender: DefenderDoctrine
    option: Option
    outcomes: OutcomeSettings
    mechanisms: Mechanisms
    posterior: str | None = Field(default=None, description="a posterior file (sim calibrate): each replication "
                                  "draws one kept parameter set from it (sim/posterior.py)")

    @field_validator("kinds")
    @classmethod
    def _every_kind(cls, kinds: dict) -> dict:
        missing = [k for k in vocab.UnitKind.labels() if k not in kinds]
        if missing:
            raise ValueError(f"expected factors for every kind; missing {', '.join(missing)}")
        return kinds

    @model_validator(mode="after")
    def _dicts_complete(self) -> Scenario:
        c = self.combat
        for name, table, keys in (
            ("combat.posture_defence", c.posture_defence, ("hasty", "prepared", "fortified", "delay", "withdrawal")),
            ("combat.terrain_defence", c.terrain_defence, vocab.Terrain.labels()),
            ("combat.terrain_mobility", c.terrain_mobility, vocab.Terrain.labels()),
            ("combat.terrain_casualties", c.terrain_casualties, vocab.Terrain.labels()),
            ("combat.frontage_km", c.frontage_km, vocab.Echelon.labels()),
        ):
            missing = [k for k in keys if k not in table]
            if missing:
                raise ValueError(f"{name}: missing {', '.join(missing)}")
        return self


# =========================================================================== loading
class ScenarioDoc:
    """A scenario as read: raw data, where each value came from, and the validated model."""

    def __init__(self, raw: dict, locations: Locations, files: list[str], scenario: Scenario) -> None:
        self.raw = raw
        self.locations = locations
        self.files = files
        self.scenario = scenario

    @property
    def resolved_yaml(self) -> str:
        """The scenario as resolved (extends and overrides applied), for the manifest."""
        import yaml

        return yaml.safe_dump(_plain(self.raw), sort_keys=False, allow_unicode=True)

    @property
    def digest(self) -> str:
        return hashlib.sha256(json.dumps(_plain(self.raw), sort_keys=True, default=str).encode()).hexdigest()


def _plain(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if isinstance(value, (dt.date,)):
        return value.isoformat()
    return value


def _merge(base: Any, over: Any, base_locs: Locations, over_locs: Locations, path: tuple = ()) -> Any:
    """Deep-merge ``over`` onto ``base``; mappings merge, anything else replaces."""
    if isinstance(base, dict) and isinstance(over, dict) and not (_is_distribution(base) or _is_distribution(over)):
        out = dict(base)
        for k, v in over.items():
            if k in out:
                out[k] = _merge(out[k], v, base_locs, over_locs, path + (str(k),))
            else:
                out[k] = v
                _copy_locs(over_locs, base_locs, path + (str(k),))
        base_locs[path] = over_locs.get(path, base_locs.get(path))
        return out
    # replaced wholesale: drop the base's locations under this path, take over's
    for key in [p for p in base_locs if p[: len(path)] == path]:
        del base_locs[key]
    _copy_locs(over_locs, base_locs, path)
    return over


def _is_distribution(value: dict) -> bool:
    """``{triangular: [...]}`` is one value: a child's distribution replaces the parent's, never merges with it."""
    return len(value) == 1 and next(iter(value)) in FORMS


def _copy_locs(src: Locations, dst: Locations, prefix: tuple) -> None:
    for p, loc in src.items():
        if p[: len(prefix)] == prefix:
            dst[p] = loc


def read_scenario_tree(path: str | Path, _chain: tuple[str, ...] = ()) -> tuple[dict, Locations, list[str]]:
    """Read a scenario file and everything it ``extends``, merged, with locations."""
    p = Path(path)
    key = str(p.resolve()) if path_exists(p) else str(p)
    data, locs = load_yaml_file(p)
    if data is None:
        raise InputError("empty file, expected a scenario (a mapping of keys such as name, days, forces)", source=str(path))
    if not isinstance(data, dict):
        raise InputError(f"expected a mapping of scenario keys at the top level, found {type(data).__name__}",
                         source=str(path), line=1)
    files = [str(path)]
    parent = data.pop("extends", None)
    if parent is None:
        return data, locs, files
    if not isinstance(parent, str) or not parent.strip():
        src, line = locs.get(("extends",), (str(path), None))
        raise InputError(f"expected the path of a scenario file, found {found(parent)}", source=src, line=line, path="extends")
    parent_path = (p.parent / parent)
    if not path_exists(parent_path):
        src, line = locs.get(("extends",), (str(path), None))
        raise InputError(f"extended file {parent!r} not found (looked in {p.parent}/)", source=src, line=line, path="extends")
    if str(parent_path.resolve()) in _chain + (key,):  # name the `extends:` line that closes the cycle
        cycle = " -> ".join([Path(c).name for c in _chain + (key,)] + [parent_path.name])
        src, line = locs.get(("extends",), (str(path), None))
        raise InputError(f"extends forms a cycle: {cycle}", source=src, line=line, path="extends")
    base, base_locs, base_files = read_scenario_tree(parent_path, _chain + (key,))
    merged = _merge(base, data, base_locs, locs)
    return merged, base_locs, base_files + files


def parse_set(item: str) -> tuple[list[str], Any]:
    """``'a.b.c=value'`` -> (['a', 'b', 'c'], parsed value); errors name the ``--set``."""
    source = f"--set {printable(item)}"
    if "=" not in item:
        raise InputError("expected KEY=VALUE, for example weather.fog_frequency=0.3", source=source)
    key, text = item.split("=", 1)
    key = key.strip()
    parts = key.split(".")
    if not key or any(not part.strip() for part in parts):
        raise InputError(f"expected a dotted path such as option.kind before '=', found {key!r}", source=source)
    if text.strip() == "":
        raise InputError("expected a value after '='", source=source, path=dotted(parts))
    try:
        value = parse_scalar(text, source)
    except InputError as exc:
        raise InputError(f"value is not valid YAML ({exc.message})", source=source, path=dotted(parts)) from None
    return parts, value


def apply_sets(raw: dict, locations: Locations, sets: list[str]) -> dict:
    """Apply ``--set`` overrides to merged raw data (a new dict is returned)."""
    raw = copy.deepcopy(raw)
    for item in sets or []:
        parts, value = parse_set(item)
        source = f"--set {printable(item)}"
        node: Any = raw
        for i, part in enumerate(parts[:-1]):
            here = dotted(parts[: i + 1])
            if isinstance(node, dict):
                key = _key_in(node, part)
                if key not in node:
                    node[key] = {}
                    locations[tuple(parts[: i + 1])] = (source, None)  # a key the --set made up is the --set's
                node = node[key]
            elif isinstance(node, list):
                node = node[_index(node, part, source, here)]
            else:
                raise InputError(f"cannot go inside {found(node)}: it is a single value", source=source, path=here)
        last = parts[-1]
        if isinstance(node, dict):
            node[_key_in(node, last)] = value
        elif isinstance(node, list):
            node[_index(node, last, source, dotted(parts))] = value
        else:
            raise InputError(f"cannot set inside {found(node)}: it is a single value", source=source, path=dotted(parts[:-1]))
        # this value and everything under it now comes from the --set
        prefix = tuple(parts)
        for p in [p for p in locations if p[: len(prefix)] == prefix]:
            del locations[p]
        locations[prefix] = (source, None)
    return raw


def _key_in(node: dict, part: str) -> Any:
    """Month tables are keyed by integers: ``weather.transitions.11`` addresses key 11."""
    if part not in node and part.isdecimal() and int(part) in node:
        return int(part)
    return part


def _index(node: list, part: str, source: str, here: str) -> int:
    if not part.isdecimal() or int(part) >= len(node):
        raise InputError(f"expected a list index from 0 to {len(node) - 1}, found {part!r}", source=source, path=here)
    return int(part)


def _annotation_at(model: type[BaseModel], loc) -> Any:
    """The schema's type at ``loc`` (keys or indices) inside ``model``, a union with a model taken as
    that model; None where ``loc`` leaves the schema."""
    current: Any = model
    for part in loc:
        if isinstance(current, type) and issubclass(current, BaseModel):
            field = current.model_fields.get(str(part))
            if field is None:
                return None
            current = field.annotation
        else:
            origin = get_origin(current)
            args = get_args(current)
            if origin in (list, dict) and args:
                current = args[-1]
            else:
                return None
        while get_origin(current) is not None and get_origin(current) not in (list, dict, Literal):
            inner = [a for a in get_args(current) if isinstance(a, type) and issubclass(a, BaseModel)]
            if not inner:
                break
            current = inner[0]
    return current


def _field_names(model: type[BaseModel], loc: tuple) -> list[str]:
    """The keys allowed at ``loc`` inside ``model`` (for 'did you mean')."""
    current = _annotation_at(model, loc)
    if isinstance(current, type) and issubclass(current, BaseModel):
        return list(current.model_fields)
    if get_origin(current) is dict:
        key_type = get_args(current)[0]
        if get_origin(key_type) is Literal:
            return [str(a) for a in get_args(key_type)]
    return []


def validation_error_line(exc: ValidationError, model: type[BaseModel], locations: Locations,
                          default_source: str) -> InputError:
    """Turn the first pydantic error into one InputError line with file and line."""
    errors = exc.errors(include_url=False)
    # a misspelt key also makes the right one "missing": report the unknown key, with its "did you mean"
    err = next((e for e in errors if e["type"] == "extra_forbidden"), errors[0])
    loc = tuple(str(p) for p in err["loc"])
    etype = err["type"]
    given = err.get("input")
    if etype == "extra_forbidden":
        key = loc[-1]
        parent = loc[:-1]
        allowed = _field_names(model, parent)
        close = difflib.get_close_matches(key, allowed, n=1, cutoff=0.6)
        hint = f"; did you mean {close[0]!r}?" if close else (f"; expected one of {', '.join(allowed)}" if allowed else "")
        message = f"unknown key {key!r}{hint}"
        path = dotted(parent) if parent else "(top level)"
    elif etype == "missing":
        message = "missing required key"
        path = dotted(loc)
        if len(loc) > 1:
            allowed_here = _field_names(model, loc[:-1])
            if allowed_here:
                message = f"missing required key {loc[-1]!r}"
                path = dotted(loc[:-1])
    elif etype in ("literal_error", "enum"):
        expected = err.get("ctx", {}).get("expected", "")
        message = f"expected one of {expected}, found {found(given)}"
        # a bad key of a dict keyed by a Literal carries '[key]' in the loc
        path = dotted(loc)
        if loc and loc[-1] == "[key]":
            path = dotted(loc[:-1])
            message = f"unknown key {found(given)}; expected one of {expected}"
    elif etype == "value_error":
        message = str(err.get("ctx", {}).get("error", err["msg"]))
        path = dotted(loc)
    else:
        msg = err["msg"]
        message = f"{msg[0].lower() + msg[1:]}, found {found(given)}" if msg else f"invalid value {found(given)}"
        path = dotted(loc)
    source, line = _locate(locations, loc, default_source)
    return InputError(message, source=source, line=line, path=path)


def _locate(locations: Locations, loc: tuple, default_source: str) -> tuple[str, int | None]:
    loc = tuple(p for p in loc if p != "[key]")
    for n in range(len(loc), -1, -1):
        if loc[:n] in locations:
            return locations[loc[:n]]
    return default_source, None


def read_scenario(path: str | Path, sets: list[str] | None = None) -> ScenarioDoc:
    """Read, merge, override and validate a scenario file against the schema.

    The places it names are checked against its theater one floor up, by
    :func:`sim.theater.load_scenario` (the loader every command uses).
    """
    raw, locations, files = read_scenario_tree(path)
    raw = apply_sets(raw, locations, sets or [])
    try:
        scenario = Scenario.model_validate(raw)
    except ValidationError as exc:
        raise validation_error_line(exc, Scenario, locations, str(path)) from None
    except RecursionError:
        raise InputError("nested too deeply", source=str(path)) from None
    doc = ScenarioDoc(raw, locations, files, scenario)
    from sim.posterior import resolve_in

    resolve_in(doc)
    return doc


# =========================================================================== sampling
def uncertain_inputs(scenario: Scenario) -> dict[str, Distribution]:
    """Every input written as a distribution, by dotted path, in a stable order."""
    out: dict[str, Distribution] = {}

    def walk(value: Any, path: tuple) -> None:
        if isinstance(value, Distribution):
            out[dotted(path)] = value
        elif isinstance(value, BaseModel):
            for name in type(value).model_fields:
                walk(getattr(value, name), path + (name,))
        elif isinstance(value, dict):
            for k, v in value.items():
                walk(v, path + (str(k),))
        elif isinstance(value, list):
            for i, v in enumerate(value):
                walk(v, path + (str(i),))

    walk(scenario, ())
    return out


def sample(scenario: Scenario, seq: np.random.SeedSequence) -> tuple[Scenario, dict[str, float | int]]:
    """Draw every uncertain input for one replication.

    Each input is drawn from the stream named by its dotted path, so the same
    replication of two option files gets the same value of every input they
    share. A scenario with a ``posterior`` first takes one kept parameter set
    from the stream ``posterior`` (sim/posterior.py). Returns the concrete
    scenario and the drawn values by path.
    """
    chosen = draw_from(scenario.posterior, seq) if scenario.posterior else {}
    if chosen:  # a posterior set replaces those parameters (checked against the scenario when it was loaded)
        scenario = _rebuild(scenario, {k: _typed(scenario, k, v) for k, v in chosen.items() if k != ROW_COLUMN})
    draws = {path: dist.sample(substream(seq, "input:" + path)) for path, dist in uncertain_inputs(scenario).items()}
    if not draws:
        return scenario, chosen
    return _rebuild(scenario, draws), {**chosen, **draws}  # draws lie inside validated supports: no second validation


def replace_values(scenario: Scenario, values: dict[str, Any], source: str = "override") -> Scenario:
    """A validated copy of ``scenario`` with the values at the given dotted paths replaced.

    Values go through the same validation as a file (a dict may be a distribution);
    a bad value raises InputError naming ``source`` and the path.
    """
    unknown = [p for p in values if not _path_exists(scenario, p)]
    if unknown:
        raise InputError("no such parameter", source=source, path=unknown[0])
    rebuilt = _rebuild(scenario, values)
    try:
        return Scenario.model_validate(_as_data(rebuilt))
    except ValidationError as exc:
        raise validation_error_line(exc, Scenario, {}, source) from None


def _as_data(value: Any) -> Any:
    """A model as plain data for re-validation, keeping Distribution objects as they are."""
    if isinstance(value, BaseModel):
        return {name: _as_data(getattr(value, name)) for name in type(value).model_fields}
    if isinstance(value, dict):
        return {k: _as_data(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)) and not isinstance(value, Distribution):
        return [_as_data(v) for v in value]
    return value


def _path_exists(scenario: Scenario, path: str) -> bool:
    try:
        get_value(scenario, path)
        return True
    except (AttributeError, KeyError, IndexError, ValueError, TypeError):
        return False


def _typed(scenario: Scenario, path: str, value: float | int) -> float | int:
    """A posterior value as its field reads (``float``, or ``int`` for an integer field), as validation
    would leave it: a kept set written by hand may say 200 where the field is a float."""
    number = _number_type(type(scenario), path)
    return number(value) if number is not None else value


def _number_type(model: type[BaseModel], path: str) -> type | None:
    """``float`` or ``int``: the number type of the schema field at a dotted path (None if not a number field)."""
    annotation = _annotation_at(model, path.split("."))
    if get_origin(annotation) is not None and get_args(annotation):
        annotation = get_args(annotation)[0]   # Annotated[float, ...] (num)
    return annotation if annotation in (int, float) else None


def _rebuild(scenario: Scenario, values: dict[str, Any]) -> Scenario:

    def rebuild(value: Any, path: str) -> Any:
        if path in values:
            return values[path]
        prefix = path + "." if path else ""
        if not any(k.startswith(prefix) for k in values):
            return value
        if isinstance(value, BaseModel):
            update = {n: rebuild(getattr(value, n), prefix + n) for n in type(value).model_fields}
            return value.model_copy(update=update)
        if isinstance(value, dict):
            return {k: rebuild(v, prefix + str(k)) for k, v in value.items()}
        if isinstance(value, list):
            return [rebuild(v, prefix + str(i)) for i, v in enumerate(value)]
        return value

    return rebuild(scenario, "")


def get_value(scenario: Scenario, path: str) -> Any:
    """The value at a dotted path (``weather.fog_frequency``)."""
    value: Any = scenario
    for part in path.split("."):
        if isinstance(value, BaseModel):
            value = getattr(value, part)
        elif isinstance(value, dict):
            value = value[int(part) if part.isdecimal() and int(part) in value else part]
        else:
            value = value[int(part)]
    return value


def expected_value(value: Any) -> Any:
    """A number for display: a distribution's mean, or the value itself."""
    return value.mean if isinstance(value, Distribution) else value


def flatten(value: Any, prefix: str = "") -> dict[str, Any]:
    """A scenario's values by dotted path (list items by index; a distribution is one value)."""
    if isinstance(value, dict) and not _is_distribution(value):
        out: dict[str, Any] = {}
        for k, v in value.items():
            out.update(flatten(v, f"{prefix}.{k}" if prefix else str(k)))
        return out
    if isinstance(value, list) and any(isinstance(v, dict | list) for v in value):
        out = {}
        for i, v in enumerate(value):
            out.update(flatten(v, f"{prefix}.{i}"))
        return out
    return {prefix: _plain(value)}


def changes(base: dict, over: dict) -> list[str]:
    """What ``over`` changes against ``base``, one line per dotted path: ``~ path: old -> new``,
    ``+ path: new`` (a value ``base`` has not) and ``- path: old`` (one ``over`` drops)."""
    a, b = flatten(base), flatten(over)
    lines = [f"~ {p}: {a[p]!r} -> {b[p]!r}" for p in b if p in a and a[p] != b[p]]
    lines += [f"+ {p}: {b[p]!r}" for p in b if p not in a]
    lines += [f"- {p}: {a[p]!r}" for p in a if p not in b]
    return lines
