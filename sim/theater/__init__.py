"""The theater: data files and the grid layers built from them."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pydantic import BaseModel

from sim.core.errors import InputError
from sim.theater.grid import (
    ATTACKER, CONTESTED, DEFENDER, FOREST, OPEN, PRIMARY, SECONDARY, URBAN, WATER,
    Grid, build_grid,
)
from sim.theater.front import front_problem
from sim.theater.spec import Theater, great_circle_km, load_theater

from sim.scenario import BASE_SCENARIO, ScenarioDoc, read_scenario
from sim.schema import names_a_place

__all__ = [
    "ATTACKER", "CONTESTED", "DEFENDER", "FOREST", "OPEN", "PRIMARY", "SECONDARY",
    "URBAN", "WATER", "Grid", "Theater", "build_grid", "check_places", "great_circle_km",
    "load_default", "load_scenario", "load_theater", "theater_of",
]



def load_scenario(path: str | Path, sets: list[str] | None = None) -> ScenarioDoc:
    """Read, merge, override and validate a scenario file, and check every place it names (the one loader)."""
    doc = read_scenario(path, sets)
    check_places(doc)
    return doc


def load_default() -> ScenarioDoc:
    """The base scenario shipped with the project (what the model runs with no arguments)."""
    return load_scenario(BASE_SCENARIO)


def theater_of(doc: ScenarioDoc) -> Theater:
    """The theater a scenario names, resolved relative to the scenario file that set it, with the
    scenario's ``front:`` (a newer map, relative to the file that names it) over its front source."""
    try:
        theater = load_theater(doc.scenario.theater, _folder_of(doc, ("theater",)))
    except InputError as exc:
        if exc.source:
            raise
        src, line = doc.locations.get(("theater",), (doc.files[-1], None))
        raise InputError(exc.message, source=src, line=line, path="theater") from None
    return theater.with_front(doc.scenario.front, _folder_of(doc, ("front", "geojson")))


def _folder_of(doc: ScenarioDoc, path: tuple) -> Path:
    """The folder of the file that set ``path`` (the last scenario file for a ``--set``)."""
    src = doc.locations.get(path, (doc.files[-1], None))[0]
    return Path(src).parent if not src.startswith("--set") else Path(doc.files[-1]).parent


def check_places(doc: ScenarioDoc) -> None:
    """Check every place, town, belt and sector a scenario names against its theater."""
    theater = theater_of(doc)
    sc = doc.scenario

    def fail(path: tuple, message: str) -> None:
        src, line = _locate(doc.locations, path, doc.files[-1])
        raise InputError(message, source=src, line=line, path=".".join(path))

    def walk(value: Any, path: tuple, is_place: bool) -> None:
        if isinstance(value, BaseModel):
            for name in type(value).model_fields:
                walk(getattr(value, name), path + (name,), names_a_place(type(value).model_fields[name]))
        elif isinstance(value, dict):
            for k, v in value.items():
                walk(v, path + (str(k),), False)
        elif isinstance(value, list):
            for i, v in enumerate(value):
                walk(v, path + (str(i),), is_place)
        elif is_place and value is not None:
            problem = theater.place_problem(value)
            if problem:
                fail(path, problem)

    walk(sc, (), False)
    for i, town in enumerate([sc.outcomes.city, *sc.outcomes.pocket_towns]):
        path = ("outcomes", "city") if i == 0 else ("outcomes", "pocket_towns", str(i - 1))
        if town not in theater.settlement_names:
            fail(path, theater.place_problem(town) or f"unknown settlement {town!r}")
    belts = [b.name for b in theater.fortifications.belts]
    if sc.outcomes.next_line not in belts:
        fail(("outcomes", "next_line"), f"expected one of the theater's fortification belts ({', '.join(belts) or 'none'}), found {sc.outcomes.next_line!r}")
    for path, sector in ((("active_sector",), sc.active_sector), (("front", "contested_sector"), theater.front.contested_sector)):
        if theater.sector_problem(sector):
            fail(path, theater.sector_problem(sector))
    problem = front_problem(theater.front, sc.start_date)
    if problem:
        fail(("front", "geojson") if sc.front.geojson else ("start_date",), problem)


def _locate(locations, path: tuple, default: str):
    for n in range(len(path), -1, -1):
        if path[:n] in locations:
            return locations[path[:n]]
    return default, None
