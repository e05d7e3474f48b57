"""The model's invariants and the mechanisms a modeller would check first."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from scipy import ndimage

from sim.model import logistics
from sim.model.agents import ATTACKER_SIDE, DEFENDER_SIDE
from sim.model.model import PokrovskModel
from sim.theater import load_scenario
from tests.conftest import build_model
from sim.theater.grid import ATTACKER, CONTESTED, DEFENDER

ROOT = Path(__file__).resolve().parents[1]
MINI = ROOT / "tests" / "data" / "mini_scenario.yaml"


@pytest.fixture(scope="module")
def hold_doc():
    return load_scenario(ROOT / "scenarios" / "hold_pokrovsk.yaml")


@pytest.fixture(scope="module")
def mini_doc():
    return load_scenario(MINI)


def make(doc, index=0, root=11, **over):
    return build_model(doc, index, root, **over)


# ------------------------------------------------------------------ Mesa conventions
def test_model_builds_with_no_arguments_and_steps():
    m = PokrovskModel()
    m.step()
    assert m.day == 1
    assert m.spec.name == "base"
    units = m.units()
    assert units and {u.side for u in units} == {"attacker", "defender"}
    assert all(u.personnel > 0 for u in units)


# ------------------------------------------------------------------ invariants
@pytest.fixture(scope="module")
def trajectory(hold_doc):
    """One 60-day replication, with the state kept every day."""
    m = make(hold_doc, index=3, days=60)
    days = []
    while m.running:
        before = m.control.copy()
        dist_before = ndimage.distance_transform_edt(before == DEFENDER) * m.grid.cell_km
        m.step()
        f = m.forces
        days.append({
            "before": before, "after": m.control.copy(), "dist_before": dist_before,
            "pocket": m.supply_state.pocket.copy(),
            "personnel": f.personnel.copy(), "casualties": f.casualties.copy(), "captured": f.captured.copy(),
            "present": f.present.copy(), "side": f.side.copy(), "supply": f.supply.copy(),
            "cohesion": f.cohesion.copy(), "arrived": m.arrived_total.copy(), "initial": m.initial_personnel.copy(),
        })
    return m, days


def test_personnel_is_conserved_every_day(trajectory):
    """start + arrivals = present + casualties + captured, for each side, every day."""
    _, days = trajectory
    for d in days:
        for side in (DEFENDER_SIDE, ATTACKER_SIDE):
            s = d["side"] == side
            present = d["personnel"][s & d["present"]].sum()
            lost = d["casualties"][s].sum() + d["captured"][s].sum()
            assert present + lost == pytest.approx(d["initial"][side] + d["arrived"][side], rel=1e-9, abs=1e-6)


def test_no_negative_strength_and_bounded_states(trajectory):
    _, days = trajectory
    for d in days:
        assert (d["personnel"] >= 0).all()
        assert ((d["supply"] >= 0) & (d["supply"] <= 1)).all()
        assert ((d["cohesion"] >= 0) & (d["cohesion"] <= 1)).all()


def test_control_changes_only_where_the_sides_meet(trajectory):
    """A cell changes hands only near the other side (contact or infiltration depth) or when cut off."""
    m, days = trajectory
    reach = float(m.spec.combat.infiltration_depth_km) + m.grid.cell_km
    for d in days:
        changed = d["before"] != d["after"]
        near = (d["dist_before"] <= reach) | (d["before"] != DEFENDER)
        assert not (changed & ~near & ~d["pocket"]).any()
        # attacker-held ground is only ever retaken through the contested state
        assert not ((d["before"] == ATTACKER) & (d["after"] == DEFENDER)).any()


def test_the_attacker_advances_at_this_wars_pace(trajectory):
    """Days and weeks, not hours: 60 days move the front kilometres, not tens of kilometres."""
    m, _ = trajectory
    row = m.recorder.outcome_row(m)
    assert 2.0 < row["attacker_max_advance_km"] < 25.0
    assert 0 < row["territory_lost_km2"] < 1000


# ------------------------------------------------------------------ reproducibility
def test_same_seed_same_trajectory(hold_doc):
    a = make(hold_doc, index=1, days=25).run()
    b = make(hold_doc, index=1, days=25).run()
    assert np.array_equal(a.control, b.control)
    assert np.array_equal(a.forces.personnel, b.forces.personnel)
    c = make(hold_doc, index=2, days=25).run()
    assert not np.array_equal(a.forces.personnel, c.forces.personnel)


# ------------------------------------------------------------------ supply and pockets
def test_pocket_forms_exactly_when_the_corridor_closes(mini_doc):
    """On the hand-built theater: close a ring around the town one cell at a time."""
    m = make(mini_doc)
    g = m.grid
    tr, tc = g.settlement_cell["Town"]
    control = np.full(g.shape, DEFENDER, np.int8)
    # a square ring of attacker cells one cell thick around the town, open to the west by a 5-cell gap
    rr, cc = np.mgrid[0:g.rows, 0:g.cols]
    ring = np.maximum(np.abs(rr - tr), np.abs(cc - tc)) == 5
    gap = ring & (cc == tc - 5) & (np.abs(rr - tr) <= 2)
    control[ring & ~gap] = ATTACKER
    m.control[:] = control
    # put the town's brigade in the town
    town_unit = [i for i, n in enumerate(m.forces.name) if n == "town bde"][0]
    m.forces.x[town_unit], m.forces.y[town_unit] = (tc + 0.5) * g.cell_km, (tr + 0.5) * g.cell_km
    widths = []
    gap_cells = sorted(zip(*np.nonzero(gap)), key=lambda rc: abs(rc[0] - tr))[::-1]
    for k, (r, c) in enumerate(gap_cells):
        state = logistics.update(m)
        widths.append(state.corridor_km)
        assert not state.pocket[tr, tc], f"pocket before the corridor closed ({k} of {len(gap_cells)} cells shut)"
        assert not m.forces.in_pocket[town_unit]
        m.control[r, c] = ATTACKER
    state = logistics.update(m)
    assert state.pocket[tr, tc] and state.city_in_pocket
    assert m.forces.in_pocket[town_unit]
    assert state.corridor_km == 0.0
    assert all(a >= b for a, b in zip(widths, widths[1:])), widths
    assert widths[0] > widths[-1] > 0


def test_contested_ground_does_not_close_a_ring(mini_doc):
    m = make(mini_doc)
    g = m.grid
    tr, tc = g.settlement_cell["Town"]
    rr, cc = np.mgrid[0:g.rows, 0:g.cols]
    ring = np.maximum(np.abs(rr - tr), np.abs(cc - tc)) == 5
    m.control[:] = DEFENDER
    m.control[ring] = ATTACKER
    m.control[ring & (cc == tc - 5) & (np.abs(rr - tr) <= 1)] = CONTESTED
    state = logistics.update(m)
    assert not state.pocket[tr, tc]
    m.control[ring] = ATTACKER
    assert logistics.update(m).pocket[tr, tc]


def test_units_in_a_pocket_lose_supply_then_cohesion_then_surrender(mini_doc):
    m = make(mini_doc, days=60)
    g = m.grid
    tr, tc = g.settlement_cell["Town"]
    rr, cc = np.mgrid[0:g.rows, 0:g.cols]
    town_unit = [i for i, n in enumerate(m.forces.name) if n == "town bde"][0]
    m.forces.x[town_unit], m.forces.y[town_unit] = (tc + 0.5) * g.cell_km, (tr + 0.5) * g.cell_km
    supply, cohesion = [], []
    for _ in range(60):
        ring = np.maximum(np.abs(rr - tr), np.abs(cc - tc)) == 4
        m.control[ring] = ATTACKER  # keep the ring shut whatever happens at the contact
        m.step()
        if not m.forces.present[town_unit]:
            break
        supply.append(m.forces.supply[town_unit])
        cohesion.append(m.forces.cohesion[town_unit])
    assert not m.forces.present[town_unit], "the cut-off brigade never surrendered"
    assert m.forces.captured[town_unit] > 0
    assert m.forces.exfiltrated[town_unit] > 0
    assert supply[0] > supply[-1] and min(supply) < 0.2
    assert cohesion[-1] < float(m.spec.logistics.surrender_cohesion) + float(m.spec.logistics.cohesion_loss_per_day) + 1e-9
    # cohesion only starts falling once supply is below half
    first_fall = next(i for i in range(1, len(cohesion)) if cohesion[i] < cohesion[i - 1])
    assert supply[first_fall] < 0.5


def test_reinforcements_arrive_on_their_day(mini_doc):
    m = make(mini_doc)
    late = [i for i, n in enumerate(m.forces.name) if n == "late bde"][0]
    for day in range(1, 8):
        m.step()
        assert m.forces.present[late] == (day >= 5), day
    assert m.arrived_total[ATTACKER_SIDE] >= 2000


def test_units_are_mesa_agents_that_leave_with_the_unit(mini_doc):
    """The app and the tests see units through Mesa's AgentSet; a unit that surrenders leaves it."""
    from sim.model import doctrine
    from sim.model.agents import Unit

    m = make(mini_doc)
    m.step()
    f = m.forces
    assert len(m.agents_by_type[Unit]) == int(f.present.sum())
    i = int(np.flatnonzero(f.side_mask(DEFENDER_SIDE))[0])
    name = f.name[i]
    f.in_pocket[i], f.cohesion[i], f.supply[i] = True, 0.0, 0.0  # cut off and broken: it surrenders
    doctrine.cohesion_and_surrender(m)
    m.update_unit_agents()
    assert not f.present[i]
    assert name not in {u.name for u in m.units()}
    assert len(m.agents_by_type[Unit]) == int(f.present.sum())


def test_the_day_is_mesas_step_counter(mini_doc):
    m = make(mini_doc, days=3)
    m.run()
    assert m.day == m.steps == 3 and not m.running
