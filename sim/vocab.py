"""The one vocabulary of the model (floor 0): every side, control state, terrain,
road class, weather state, posture, unit kind, echelon, attacker arm, unit origin
and option, each said once, as an enum.

The integer enums are the codes the array code stores (``forces.side``,
``grid.terrain``, the daily weather sequence ...). Their order is defined here
and nowhere else; a table read from a scenario (``terrain_defence: {open: ..,
urban: ..}``) becomes an array by *name* with :func:`by_code`, never by
position. ``label`` is the name a scenario file, a result column or a report
uses (``"mechanised"``, ``"fog"``).
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import IntEnum, StrEnum
from typing import Any, Literal, TypeVar

import numpy as np


class Coded(IntEnum):
    """An integer code with the label files and reports use."""

    @property
    def label(self) -> str:
        return self.name.lower()

    @classmethod
    def labels(cls) -> tuple[str, ...]:
        return tuple(m.label for m in cls if m >= 0)

    @classmethod
    def of(cls, label: str):
        """The member whose label is ``label`` (``UnitKind.of("assault")``)."""
        try:
            return cls[label.upper()]
        except KeyError:
            raise ValueError(f"unknown {cls.__name__} {label!r}; expected one of {', '.join(cls.labels())}") from None


class Side(Coded):
    DEFENDER = 0
    ATTACKER = 1


class Control(Coded):
    """Who holds a cell (the ``control`` grid)."""

    DEFENDER = 0
    ATTACKER = 1
    CONTESTED = 2


class Terrain(Coded):
    OPEN = 0
    URBAN = 1
    FOREST = 2
    WATER = 3


class RoadClass(Coded):
    NO_ROAD = 0
    SECONDARY = 1
    PRIMARY = 2


class Weather(Coded):
    """The daily weather states of the Markov chain (SOURCES.md s.11 "Entities")."""

    CLEAR = 0
    OVERCAST = 1
    PRECIP = 2
    FOG = 3


class Posture(Coded):
    """A unit's posture; a unit on its way is simply not present until it arrives."""

    ATTACK = 0
    DEFEND = 1
    DELAY = 2
    WITHDRAW = 3
    RESERVE = 4
    GONE = 5


class UnitKind(Coded):
    MECHANISED = 0
    INFANTRY = 1
    ASSAULT = 2
    MARINES = 3
    TERRITORIAL = 4
    ARTILLERY = 5
    DRONE = 6


class Echelon(Coded):
    BATTALION = 0
    BRIGADE = 1


class Arm(Coded):
    """The attacker's arms; FRONT units press where they stand; defenders have NO_ARM."""

    NE = 0
    SW = 1
    CENTRE = 2
    FRONT = 3
    NO_ARM = -1


class UnitSource(Coded):
    """Where a unit comes from: the start, a scheduled arrival, the option's reinforcement, the attacker's answer."""

    START = 0
    ARRIVAL = 1
    REINFORCE = 2
    RESPONSE = 3


class OptionKind(StrEnum):
    """The defender's operational options (scenario ``option.kind``)."""

    HOLD = "hold"
    WITHDRAW = "withdraw"
    REINFORCE = "reinforce"
    KURSK_PRESSURE = "kursk_pressure"


E = TypeVar("E", bound=Coded)


def by_code(table: Mapping[str, Any], enum: type[Coded], dtype=float) -> np.ndarray:
    """A scenario table keyed by label as an array indexed by the enum's code.

    ``by_code({"open": 1.0, "urban": 3.0, "forest": 1.5, "water": 0.0}, Terrain)``
    gives ``array([1.0, 3.0, 1.5, 0.0])`` whatever order the file wrote the keys in.
    """
    members = [m for m in enum if m >= 0]
    return np.array([table[m.label] for m in members], dtype=dtype)


def literal(enum: type[Coded] | type[StrEnum]) -> Any:
    """The ``typing.Literal`` of an enum's labels, for the scenario schema."""
    labels = enum.labels() if issubclass(enum, Coded) else tuple(m.value for m in enum)
    return Literal[labels]
