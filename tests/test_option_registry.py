"""Options are modules: a new option is one module, one settings class and one registry line.

The dummy option below is all a fifth option needs: its settings class (a pydantic model, as
the shipped ones in sim/scenario.py), its module (the subclass of ``Option`` with the hooks it
uses) and its line in the registry. A scenario naming it runs, and what it does shows in the
run: the unit it brings enters on its day, its daily decision holds the city's garrison in
place, and its report reaches the outcome row.
"""

from __future__ import annotations

import ast
from pathlib import Path

import numpy as np
import pytest
from pydantic import BaseModel

from sim.model import options
from sim.model.agents import DEFEND, DEFENDER_SIDE, UnitRecord
from sim.model.options import OPTIONS, Option
from sim.vocab import Echelon, OptionKind, UnitKind
from tests.conftest import MINI
from sim.theater import load_scenario, theater_of

MODEL = Path(__file__).resolve().parents[1] / "sim" / "model"


class DummySettings(BaseModel):          # one settings class
    brigade_personnel: float
    arrival_day: int


class Dummy(Option):                     # one module (here, in the test)
    kind = "dummy"

    def __init__(self, model, settings: DummySettings) -> None:
        super().__init__(model, settings)
        self.days_decided = 0

    def enter(self, model, records: list[UnitRecord]) -> list[UnitRecord]:
        s = self.settings
        return records + [UnitRecord(name="dummy bde", side=DEFENDER_SIDE, kind=UnitKind.INFANTRY,
                                     echelon=Echelon.BRIGADE, sector="dummy", personnel=s.brigade_personnel,
                                     arrival_day=s.arrival_day, at=model.city_xy, source="reinforce")]

    def decide(self, model) -> None:
        f = model.forces
        line = np.flatnonzero(f.side_mask(DEFENDER_SIDE))
        f.posture[line] = DEFEND
        f.target_x[line] = f.target_y[line] = np.nan
        self.days_decided += 1

    def report(self) -> dict[str, float]:
        return {"defenders_withdrawn": float(self.days_decided)}


@pytest.fixture
def dummy_registered():
    options.register(Dummy)              # one registry line
    yield
    del OPTIONS[Dummy.kind]


def _dummy_model():
    """The mini scenario with its option block naming the dummy and carrying the dummy's settings."""
    from sim.model.model import PokrovskModel

    doc = load_scenario(MINI)
    sc = doc.scenario
    option = sc.option.model_copy(update={"kind": "dummy",
                                          "dummy": DummySettings(brigade_personnel=2500.0, arrival_day=2)})
    return PokrovskModel(sc.model_copy(update={"option": option, "days": 5}), 3, theater_of(doc))


def test_a_fifth_option_is_one_module_one_settings_class_and_one_registry_line(dummy_registered):
    m = _dummy_model()
    assert isinstance(m.option, Dummy)
    names = lambda: {u.name for u in m.units()}  # noqa: E731
    m.step()
    assert "dummy bde" not in names()
    m.run()
    assert "dummy bde" in names(), "the option's unit did not enter on its day"
    f = m.forces
    held = f.present & (f.side == DEFENDER_SIDE)
    assert (f.posture[held] == DEFEND).all() and np.isnan(f.target_x[held]).all()
    assert m.recorder.outcome_row(m)["defenders_withdrawn"] == 5.0


def test_an_option_missing_from_the_registry_does_not_run():
    with pytest.raises(KeyError):
        _dummy_model()


def test_the_registry_holds_every_option_kind_and_nothing_else_compares_kinds():
    assert set(OPTIONS) == set(OptionKind)
    assert all(OPTIONS[k].kind is k for k in OptionKind)
    comparisons = []
    for path in MODEL.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Compare) and "OptionKind" in ast.unparse(node) or (
                    isinstance(node, ast.Compare) and "option.kind" in ast.unparse(node)):
                comparisons.append(f"{path.name}:{node.lineno}")
    assert not comparisons, f"option kinds compared outside the registry: {comparisons}"
