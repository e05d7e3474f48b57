"""Units: Mesa agents backed by one struct of arrays per model.

The processes work on whole arrays (``model.forces.personnel`` and friends)
so that a day costs a few vectorised operations, not a Python loop per unit.
Each :class:`Unit` agent is a thin view on its row: the app, the tests and
anyone reading the model see ordinary Mesa agents with named attributes.
"""

from __future__ import annotations

from dataclasses import dataclass

import mesa
import numpy as np

from sim.vocab import Arm, Control, Echelon, Posture, Side, UnitKind, UnitSource

# The codes are the members of sim/vocab.py's enums, bound to short names for the array code.
DEFENDER_SIDE, ATTACKER_SIDE = Side
DEFENDER, ATTACKER, CONTESTED = Control      # who holds a cell of the control grid
# the same as plain ints, for the compiled kernels (Numba types an enum member slowly, on every call)
DEFENDER_INT, ATTACKER_INT, CONTESTED_INT = (int(c) for c in Control)
ATTACK, DEFEND, DELAY, WITHDRAW, RESERVE, GONE = Posture
SOURCE_START, SOURCE_ARRIVAL, SOURCE_REINFORCE, SOURCE_RESPONSE = UnitSource
NE, SW, CENTRE, FRONT, NO_ARM = Arm
ARMS = (NE, SW, CENTRE)     # the arms that manoeuvre (FRONT units press where they stand)


@dataclass
class UnitRecord:
    """How a unit enters the model (from the scenario's units, arrivals and option)."""

    name: str
    side: int
    kind: int
    echelon: int
    sector: str
    personnel: float
    arrival_day: int
    at: tuple[float, float]        # x, y km
    arm: int = NO_ARM
    posture: int = DEFEND
    source: str = "start"          # a UnitSource label


@dataclass
class Forces:
    """Every unit of both sides as parallel arrays (index = unit id within the model)."""

    name: list[str]
    sector: list[str]
    source: list[str]
    side: np.ndarray
    kind: np.ndarray
    echelon: np.ndarray
    arm: np.ndarray
    posture: np.ndarray
    personnel: np.ndarray
    start_personnel: np.ndarray
    arrival_day: np.ndarray
    present: np.ndarray        # arrived and not yet gone
    x: np.ndarray              # km from the theater's west edge
    y: np.ndarray              # km from the south edge
    supply: np.ndarray         # 0..1
    cohesion: np.ndarray       # 0..1
    in_pocket: np.ndarray
    casualties: np.ndarray     # killed and wounded, cumulative
    captured: np.ndarray       # personnel taken prisoner
    exfiltrated: np.ndarray    # personnel that slipped out of a pocket to friendly lines
    target_x: np.ndarray       # where a moving unit is heading (nan if none)
    target_y: np.ndarray
    source_code: np.ndarray    # UnitSource codes

    @classmethod
    def from_records(cls, records: list[UnitRecord]) -> Forces:
        n = len(records)

        def arr(values, dtype):
            return np.array(values, dtype=dtype).reshape(n)

        return cls(
            name=[r.name for r in records],
            sector=[r.sector for r in records],
            source=[r.source for r in records],
            side=arr([r.side for r in records], np.int8),
            kind=arr([r.kind for r in records], np.int8),
            echelon=arr([r.echelon for r in records], np.int8),
            arm=arr([r.arm for r in records], np.int8),
            posture=arr([r.posture for r in records], np.int8),
            personnel=np.zeros(n),
            start_personnel=arr([r.personnel for r in records], float),
            arrival_day=arr([r.arrival_day for r in records], np.int32),
            present=np.zeros(n, bool),
            x=arr([r.at[0] for r in records], float),
            y=arr([r.at[1] for r in records], float),
            supply=np.ones(n),
            cohesion=np.ones(n),
            in_pocket=np.zeros(n, bool),
            casualties=np.zeros(n),
            captured=np.zeros(n),
            exfiltrated=np.zeros(n),
            target_x=np.full(n, np.nan),
            target_y=np.full(n, np.nan),
            source_code=arr([UnitSource.of(r.source) for r in records], np.int8),
        )

    def __len__(self) -> int:
        return len(self.side)

    def side_mask(self, side: int) -> np.ndarray:
        return self.present & (self.side == side)

    def in_line(self, side: int) -> np.ndarray:
        """Present units of a side that fight at the front (not in reserve)."""
        return self.side_mask(side) & (self.posture != RESERVE)


def _column(column: str, convert):
    """A unit's value in one column of :class:`Forces`, read live (a read-only property)."""
    return property(lambda unit: convert(getattr(unit.model.forces, column)[unit.index]),
                    doc=f"the unit's ``{column}`` (a view on ``model.forces.{column}``)")


class Unit(mesa.Agent):
    """A unit (battalion or brigade) of one side: a view on its row of :class:`Forces`."""

    def __init__(self, model, index: int) -> None:
        super().__init__(model)
        self.index = index

    name = _column("name", str)
    side = _column("side", lambda code: Side(code).label)
    kind = _column("kind", lambda code: UnitKind(code).label)
    echelon = _column("echelon", lambda code: Echelon(code).label)
    posture = _column("posture", lambda code: Posture(code).label)
    personnel = _column("personnel", float)
    supply = _column("supply", float)
    cohesion = _column("cohesion", float)
    in_pocket = _column("in_pocket", bool)

    @property
    def position_km(self) -> tuple[float, float]:
        f = self.model.forces
        return float(f.x[self.index]), float(f.y[self.index])

    @property
    def cell(self) -> tuple[int, int]:
        return self.model.cell_of_xy(self.model.forces.x[self.index], self.model.forces.y[self.index])

    def __repr__(self) -> str:
        return f"<Unit {self.name!r} {self.side} {self.kind} {self.personnel:.0f} {self.posture}>"
