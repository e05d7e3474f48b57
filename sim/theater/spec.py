"""The theater data file: its schema and its loader.

A theater file (YAML) describes one direction of the front: settlements with
real coordinates, roads and railways as ordered lists of places, rivers as
polylines, reservoirs, woods, fortification belts and rings, sectors where
the front may move, and where the front at a start date comes from (a
GeoJSON occupied area: DeepState's daily record or the user's own map) with
the rule for its contested band. ``sim/theater/data/pokrovsk.yaml``
is the packaged one; a user's file of the same form loads with no code change.
"""

from __future__ import annotations

import datetime as dt
import difflib
import math
from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field, ValidationError, field_validator, model_validator

from sim.core.errors import InputError
from sim.scenario import validation_error_line
from sim.theater import record
from sim.schema import Place, Strict
from sim.yamlio import load_yaml_file, path_exists

DATA_DIR = Path(__file__).resolve().parent / "data"
DEEPSTATE = "deepstate"  # the front source name of the packaged record (sim/theater/data/deepstate)
EARTH_RADIUS_KM = 6371.0088  # mean Earth radius (IUGG), used for the projection and great-circle checks


class BBox(Strict):
    south: float = Field(ge=-90, le=90)
    north: float = Field(ge=-90, le=90)
    west: float = Field(ge=-180, le=180)
    east: float = Field(ge=-180, le=180)

    @model_validator(mode="after")
    def _ordered(self) -> BBox:
        if not (self.south < self.north and self.west < self.east):
            raise ValueError("expected south < north and west < east")
        return self


class Settlement(Strict):
    name: str = Field(min_length=1)
    lat: float = Field(ge=-90, le=90)
    lon: float = Field(ge=-180, le=180)
    population: int = Field(ge=0)
    geonameid: int | None = None
    note: str = ""


class Route(Strict):
    name: str
    via: list[Place] = Field(min_length=2)
    road_class: Literal["primary", "secondary"] = Field(default="secondary", alias="class")


class Railway(Strict):
    name: str
    via: list[Place] = Field(min_length=2)


class River(Strict):
    name: str
    line: list[Place] = Field(min_length=2)


class Disc(Strict):
    name: str = ""
    at: Place
    radius_km: float = Field(gt=0, le=200)
    note: str = ""


class Area(Strict):
    name: str
    area: list[Place] = Field(min_length=3)


class Belt(Strict):
    name: str
    level: float = Field(ge=0, le=3)
    width_km: float = Field(gt=0, le=50)
    line: list[Place] = Field(min_length=2)


class Ring(Strict):
    name: str
    at: Place
    radius_km: float = Field(gt=0, le=50)
    level: float = Field(ge=0, le=3)


class Fortifications(Strict):
    belts: list[Belt] = Field(default_factory=list)
    rings: list[Ring] = Field(default_factory=list)


class FrontSource(Strict):
    """Where the front at a start date comes from, and the rule for its contested band (docs/ODD.md 6.2)."""

    geojson: str = Field(min_length=1, description=(
        "'deepstate' (the packaged daily record, sim/theater/data/deepstate), a GeoJSON file of the occupied "
        "area, or a folder of occupied_YYYY-MM-DD.geojson files; a path is relative to the file that names it"))
    date: dt.date | None = Field(default=None, description="the date of a single file's map (default: its 'date' property)")
    contested_band_km: float = Field(default=0.0, ge=0, le=20, description=(
        "defender-held cells whose centre lies within this distance of an occupied cell's centre are contested "
        "(at least the cells beside the occupied area when above 0); 0: no band"))
    contested_sector: str | None = Field(default=None, description="the theater sector the band is drawn in (default: all)")


class Theater(Strict):
    name: str
    description: str = ""
    credit: str = ""
    bbox: BBox
    urban_density_per_km2: float = Field(gt=0)
    min_urban_radius_km: float = Field(gt=0, le=20)
    settlements: list[Settlement] = Field(min_length=1)
    roads: list[Route] = Field(default_factory=list)
    railways: list[Railway] = Field(default_factory=list)
    rivers: list[River] = Field(default_factory=list)
    water: list[Disc] = Field(default_factory=list)
    forests: list[Area] = Field(default_factory=list)
    fortifications: Fortifications = Field(default_factory=Fortifications)
    sectors: dict[str, list[Place]] = Field(default_factory=dict)
    front: FrontSource

    @field_validator("settlements")
    @classmethod
    def _unique_names(cls, items: list[Settlement]) -> list[Settlement]:
        seen = set()
        for s in items:
            if s.name in seen:
                raise ValueError(f"settlement {s.name!r} appears twice")
            seen.add(s.name)
        return items

    # ------------------------------------------------------------------ places
    @property
    def settlement_names(self) -> list[str]:
        return [s.name for s in self.settlements]

    def settlement(self, name: str) -> Settlement:
        for s in self.settlements:
            if s.name == name:
                return s
        raise KeyError(name)

    def place_latlon(self, place) -> tuple[float, float]:
        """A place (settlement name or (lat, lon)) as (lat, lon); KeyError for an unknown name."""
        if isinstance(place, str):
            s = self.settlement(place)
            return (s.lat, s.lon)
        return (float(place[0]), float(place[1]))

    def place_problem(self, place) -> str | None:
        """Why a place cannot be used here, or None."""
        if isinstance(place, str):
            if place in self.settlement_names:
                return None
            close = difflib.get_close_matches(place, self.settlement_names, n=1, cutoff=0.6)
            hint = f"; did you mean {close[0]!r}?" if close else ""
            return f"unknown settlement {place!r} in theater {self.name!r}{hint}"
        lat, lon = place
        b = self.bbox
        if not (b.south <= lat <= b.north and b.west <= lon <= b.east):
            return f"[{lat}, {lon}] lies outside the theater ({b.south}-{b.north} N, {b.west}-{b.east} E)"
        return None

    def sector_problem(self, name: str | None) -> str | None:
        """Why ``name`` is not one of the theater's sectors (None is fine), or None."""
        if name is None or name in self.sectors:
            return None
        return f"expected one of the theater's sectors ({', '.join(self.sectors) or 'none'}), found {name!r}"

    def with_front(self, front, relative_to: Path | None = None) -> Theater:
        """This theater with a scenario's ``front:`` (a model of FrontSource's fields, None where unset)
        laid over its front source; a map's path is made absolute, relative to ``relative_to``."""
        if front is None or front.geojson is None:
            return self.with_band(front)
        over = {"geojson": resolve_front_path(front.geojson, relative_to), "date": front.date}
        return self.model_copy(update={"front": self.front.model_copy(update=over)}).with_band(front)

    def with_band(self, front) -> Theater:
        """This theater with the contested band a scenario's ``front:`` sets (the map stays)."""
        over = {k: getattr(front, k) for k in ("contested_band_km", "contested_sector")
                if front is not None and getattr(front, k) is not None}
        if not over:
            return self
        return self.model_copy(update={"front": self.front.model_copy(update=over)})


def _check_theater_places(theater: Theater, locations, source: str) -> None:
    """Every named place in the theater file must be one of its settlements."""

    def check(path: tuple, place) -> None:
        problem = theater.place_problem(place)
        if problem and isinstance(place, str):
            src, line = locations.get(path, (source, None))
            raise InputError(problem, source=src, line=line, path=".".join(map(str, path)))

    for kind in ("roads", "railways"):
        for i, r in enumerate(getattr(theater, kind)):
            for j, p in enumerate(r.via):
                check((kind, str(i), "via", str(j)), p)
    for i, r in enumerate(theater.rivers):
        for j, p in enumerate(r.line):
            check(("rivers", str(i), "line", str(j)), p)
    for i, b in enumerate(theater.fortifications.belts):
        for j, p in enumerate(b.line):
            check(("fortifications", "belts", str(i), "line", str(j)), p)
    for i, r in enumerate(theater.fortifications.rings):
        check(("fortifications", "rings", str(i), "at"), r.at)
    for i, w in enumerate(theater.water):
        check(("water", str(i), "at"), w.at)
    problem = theater.sector_problem(theater.front.contested_sector)
    if problem:
        src, line = locations.get(("front", "contested_sector"), (source, None))
        raise InputError(problem, source=src, line=line, path="front.contested_sector")


def resolve_front_path(name: str, relative_to: Path | None = None) -> str:
    """'deepstate' stays a name (the packaged record); a path becomes absolute, relative to its file."""
    if name == DEEPSTATE:
        return name
    p = Path(name).expanduser()
    if not p.is_absolute() and relative_to is not None:
        p = relative_to / p
    return str(p.resolve())


def resolve_theater_path(name: str, relative_to: Path | None = None) -> Path:
    """A packaged theater name (``pokrovsk``) or a path, absolute or relative to the scenario."""
    packaged = DATA_DIR / f"{name}.yaml"
    if "/" not in name and not name.endswith((".yaml", ".yml")) and path_exists(packaged):
        return packaged
    p = Path(name)
    if not p.is_absolute() and relative_to is not None:
        p = relative_to / p
    return p


@lru_cache(maxsize=16)
def _load_cached(path: str, mtime: float) -> Theater:
    data, locations = load_yaml_file(path)
    if data is None:
        raise InputError("empty file, expected a theater (name, bbox, settlements, front)", source=path)
    if not isinstance(data, dict):
        raise InputError(f"expected a mapping at the top level, found {type(data).__name__}", source=path, line=1)
    try:
        theater = Theater.model_validate(data)
    except ValidationError as exc:
        raise validation_error_line(exc, Theater, locations, path) from None
    _check_theater_places(theater, locations, path)
    front = theater.front.model_copy(update={"geojson": resolve_front_path(theater.front.geojson, Path(path).parent)})
    problem = front_source_problem(front.geojson)
    if problem:
        src, line = locations.get(("front", "geojson"), (path, None))
        raise InputError(problem, source=src, line=line, path="front.geojson")
    return theater.model_copy(update={"front": front})


def front_source_problem(geojson: str) -> str | None:
    """Why a front source cannot be read (a missing or bad file, a folder with no dated maps), or None."""
    if geojson == DEEPSTATE:
        return None
    path = Path(geojson)
    if path.is_dir():
        return None if record.occupied_dates(path) else f"no occupied_YYYY-MM-DD.geojson maps in {path}"
    try:
        record.load_geojson_geometry(path)
    except InputError as exc:
        return str(exc)
    return None


def load_theater(name_or_path: str, relative_to: Path | None = None) -> Theater:
    """Load (and cache) a theater by packaged name or path."""
    path = resolve_theater_path(name_or_path, relative_to)
    if not path_exists(path):
        packaged = ", ".join(sorted(p.stem for p in DATA_DIR.glob("*.yaml")))
        raise InputError(f"theater {name_or_path!r} not found (packaged theaters: {packaged}; or give a file path)")
    return _load_cached(str(path), path.stat().st_mtime)


def great_circle_km(a: tuple[float, float], b: tuple[float, float]) -> float:
    """Haversine distance between two (lat, lon) points in km."""
    lat1, lon1, lat2, lon2 = map(math.radians, (a[0], a[1], b[0], b[1]))
    h = math.sin((lat2 - lat1) / 2) ** 2 + math.cos(lat1) * math.cos(lat2) * math.sin((lon2 - lon1) / 2) ** 2
    return 2 * EARTH_RADIUS_KM * math.asin(math.sqrt(h))
