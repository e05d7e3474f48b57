"""The theater: data files and the grid layers built from them."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel

from sim.core.errors import InputError
from sim.theater.grid import (
    ATTACKER, CONTESTED, DEFENDER, FOREST, OPEN, PRIMARY, SECONDARY, URBAN, WATER,
    Grid, build_grid,
)
from sim.theater.spec import Theater, great_circle_km, load_theater

if TYPE_CHECKING:
    from sim.scenario import ScenarioDoc

__all__ = [
    "ATTACKER", "CONTESTED", "DEFENDER", "FOREST", "OPEN", "PRIMARY", "SECONDARY",
    "URBAN", "WATER", "Grid", "Theater", "build_grid", "check_places", "great_circle_km",
    "load_theater", "theater_of",
]

PLACE_FIELDS = {"at", "sources", "waypoints", "destination", "railheads", "counterattack_toward", "attacker_response_at"}


def theater_of(doc: ScenarioDoc) -> Theater:
    """The theater a scenario names, resolved relative to the scenario file that set it."""
    src = doc.locations.get(("theater",), (doc.files[-1], None))[0]
    base = Path(src).parent if not src.startswith("--set") else Path(doc.files[-1]).parent
    try:
        return load_theater(doc.scenario.theater, base)
    except InputError as exc:
        if exc.source:
            raise
        src, line = doc.locations.get(("theater",), (doc.files[-1], None))
        raise InputError(exc.message, source=src, line=line, path="theater") from None


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
                walk(getattr(value, name), path + (name,), name in PLACE_FIELDS)
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
    if sc.active_sector is not None and sc.active_sector not in theater.sectors:
        fail(("active_sector",), f"expected one of the theater's sectors ({', '.join(theater.sectors) or 'none'}), found {sc.active_sector!r}")
    try:
        theater.front_for(sc.start_date)
    except KeyError as exc:
        fail(("start_date",), str(exc.args[0]))


def _locate(locations, path: tuple, default: str):
    for n in range(len(path), -1, -1):
        if path[:n] in locations:
            return locations[path[:n]]
    return default, None
